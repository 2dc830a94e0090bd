/** Domain types shared by the engine and the renderer. Axis order is always (z, y, x). */

export type Vec3 = [number, number, number]

/** Half-open voxel box: start inclusive, stop exclusive, each (z, y, x). */
export interface Box3 {
  start: Vec3
  stop: Vec3
}

export type ImageDType = 'uint8' | 'uint16' | 'float32'
export type LabelDType = 'uint32' | 'uint64'
export type DType = ImageDType | LabelDType

export interface VolumeInfo {
  id: string
  name: string
  /** Where the data lives on disk; absent for generated volumes. */
  path?: string
  shape: Vec3
  dtype: DType
  /** Voxel size in nm (z, y, x), when the file states it. */
  voxelSize?: Vec3
  chunkShape: Vec3
  /** The format module that reads it; absent for generated volumes. */
  format?: VolumeFormat
  /** The dataset inside a container file (HDF5 path, Zarr/N5 path, OME-Zarr level). */
  dataset?: string
}

export type VolumeFormat = 'tiff' | 'slices' | 'hdf5' | 'zarr' | 'n5' | 'npy'

/** One array found inside a file or store, as the dataset picker lists it. */
export interface DatasetEntry {
  /** What to pass as `dataset` to open it. */
  path: string
  /** Shape as stored (any rank); `openable` says whether it reads as a 3D volume. */
  shape: number[]
  /** Data type as stored (numpy-style name, e.g. 'uint8', 'int64', 'complex64'). */
  dtype: string
  chunkShape?: number[]
  voxelSize?: Vec3
  openable: boolean
  /** Why it is not openable, or what it is (e.g. 'OME-Zarr level 1'). */
  note?: string
}

/** What a file or folder holds: the format and every dataset in it. */
export interface VolumeProbe {
  path: string
  format: VolumeFormat
  datasets: DatasetEntry[]
  /** The dataset opened when none is named; absent when the choice is ambiguous. */
  defaultDataset?: string
}

/**
 * Intensity window: `low` maps to 0 and `high` to 255 before the network divides by 255
 * (the network's input convention is raw uint8 / 255).
 */
export interface IntensityWindow {
  low: number
  high: number
}

export interface Histogram {
  /** Lower edge of the first bin and upper edge of the last. */
  min: number
  max: number
  counts: number[]
}

export type JobState = 'queued' | 'running' | 'done' | 'failed' | 'cancelled'

export interface JobInfo {
  id: string
  kind: string
  title: string
  state: JobState
  /** 0..1 */
  progress: number
  message: string
  /** Seconds to completion, estimated from the progress rate; null until known. */
  etaSeconds: number | null
  startedAt: number
  error?: { code: string; message: string; file?: string }
}

export type AppMode = 'desktop' | 'browser' | 'cli'

export interface AppInfo {
  name: string
  version: string
  mode: AppMode
  /** Execution providers ONNX Runtime offers on this machine. */
  providers: string[]
  nativeAddon: boolean
}
