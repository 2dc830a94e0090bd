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

/* Project store: proofreading edits, review, bookmarks, model versions. */

export type EditKind = 'merge' | 'split' | 'paint' | 'erase' | 'review' | 'lock' | 'note' | 'reassign'
/** Who made an edit: the user, an automatic step (a segmentation run), or an imported corrections file. */
export type EditOrigin = 'user' | 'auto' | 'import'
/** `undone` edits can be redone until a new edit is made, which turns them `discarded` (kept in the log). */
export type EditState = 'applied' | 'undone' | 'discarded'

export interface EditRecord {
  id: number
  kind: EditKind
  origin: EditOrigin
  state: EditState
  /** ms since the epoch */
  time: number
  author: string
  /** The segments the edit is about: merge [kept, absorbed], split [old, new], paint: segments touched. */
  segments: number[]
  /** How many fragments changed segment, and how many voxels changed label. */
  fragments: number
  voxels: number
  note?: string
  /** The segmentation run an automatic edit came from. */
  runId?: number
}

export interface SegmentState {
  segment: number
  /** Fragments in the segment; 0 when it does not exist (any more). */
  fragments: number
  reviewed: boolean
  locked: boolean
}

/** Edited voxels: linear (z, y, x) C-order indices into the label volume and their fragment labels. */
export interface SparseVoxels {
  indices: Float64Array
  labels: Float64Array
}

export interface Bookmark {
  id: number
  position: Vec3
  segment: number | null
  title: string
  author: string
  time: number
}

/** Result of checking a referenced volume on open: `modified` means its content hash changed. */
export type SourceStatus = 'ok' | 'missing' | 'modified'

export interface SourceRecord {
  id: number
  role: string
  name: string
  path: string
  /** Dataset inside a container file, and channel of a multi-channel array, as opened. */
  dataset?: string
  channel?: number
  shape: Vec3
  dtype: DType
  status: SourceStatus
  /** Why the status is not ok, for the UI. */
  detail?: string
}

export interface ProjectInfo {
  dir: string
  schemaVersion: number
  /** Shape of the fragment label volume; null until a segmentation is loaded. */
  labelShape: Vec3 | null
  fragments: number
  segments: number
  reviewed: number
  locked: number
  editedVoxels: number
  appliedEdits: number
  canUndo: boolean
  canRedo: boolean
  sources: SourceRecord[]
}

export interface ModelVersion {
  id: number
  name: string
  /** Path of the model file relative to the project's models/ folder. */
  file: string
  parentId: number | null
  trainingRunId: number | null
  metrics: Record<string, number>
  active: boolean
  createdAt: number
}

export type TrainingRunState = 'running' | 'done' | 'failed' | 'cancelled'

export interface TrainingRun {
  id: number
  baseModelId: number | null
  settings: Record<string, unknown>
  state: TrainingRunState
  metrics: Record<string, number>
  startedAt: number
  finishedAt: number | null
}

export interface LossPoint {
  step: number
  loss: number
  time: number
}
