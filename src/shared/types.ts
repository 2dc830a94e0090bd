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
