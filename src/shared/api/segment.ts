import type { EditRecord, Vec3, VolumeInfo } from '../types'
import type { ProviderChoice } from './model'

/** The project's automatic segmentation as the UI shows it ('segment.state'). */
export interface SegmentationSummary {
  /** The segmentation run the current fragments and scores come from. */
  runId: number
  /** The agglomeration threshold in effect (1 - median boundary affinity below it merges). */
  threshold: number
  fragmentMode: '2d' | '3d'
  /** The fragment label volume in the project cache, opened: draw it coloured by project.assignment. */
  fragments: VolumeInfo
  fragmentCount: number
  segmentCount: number
  /** The affinity file the scores were read from. */
  affinities: string
  /** The model that predicted the affinities, when this run inferred them; untrained: say the result is poor. */
  model?: { path: string; untrained: boolean }
}

/** A split proposed by seeds, not yet committed. */
export interface SplitPreview {
  segment: number
  /** The segment's fragments partitioned by seed colour (fragments cut voxel by voxel are not listed). */
  red: number[]
  blue: number[]
  /**
   * Fragments holding seeds of both colours, cut voxel by voxel: the linear (z, y, x) voxel indices
   * of each side. Commit these with project.paint first (blue voxels into a new fragment of the
   * segment), then project.split with `blue` plus that new fragment.
   */
  cuts: Array<{ fragment: number; red: Float64Array; blue: Float64Array }>
}

/** One entry of the review queue: a segment and why it may be wrong. */
export interface ReviewItem {
  segment: number
  /** In [0, 1]; higher = more likely wrong (engine/pipeline/review.ts defines it). */
  score: number
  reason: 'merge near threshold' | 'split near threshold' | 'uncertain boundary'
  /** The other segment of the doubtful decision, when there is one. */
  partner?: number
  /** Agglomeration score (1 - median affinity) of the doubtful decision, or the boundary's mean affinity. */
  value: number
  /** A voxel (z, y, x) of the fragment where the doubt lies, to jump to. */
  at: Vec3
}

export interface SegmentCalls {
  /**
   * Surface mesh of the voxels of a label volume whose label is one of `labels` (a segment's
   * fragments), for the 3D view: (x, y, z) positions in nm at voxel centres (voxel i at
   * i x voxel size), unit normals, and three vertex indices per triangle.
   */
  'segment.mesh': {
    args: { volumeId: string; labels: number[] }
    result: { positions: Float32Array; normals: Float32Array; indices: Uint32Array }
  }
  /**
   * Segments the open project as a job (follow job.update, stop with jobs.cancel; then read
   * 'segment.state'). From `affinities` (a file of shape (3, z, y, x)) on the CPU, or from the
   * image volume `volumeId`, whose affinities the active model infers first (a 'gpu' lane job).
   * The first run makes the fragments and the base assignment; later runs keep the project's
   * fragments and re-agglomerate them as one automatic edit that leaves reviewed and locked
   * segments as they are. A cancelled run changes nothing. Without `threshold`, a run from the
   * image agglomerates at the model's calibrated threshold (ModelSummary.threshold) if it has one.
   */
  'segment.run': {
    args: {
      volumeId?: string
      affinities?: string
      dataset?: string
      threshold?: number
      fragments?: '2d' | '3d'
      checkpoint?: string
      provider?: ProviderChoice
      patch?: Vec3
    }
    result: { jobId: string }
  }
  /** The current automatic segmentation (null before the first run). */
  'segment.state': { args: Record<string, never>; result: SegmentationSummary | null }
  /**
   * Re-agglomerates at `threshold` from the kept merge history (no voxel work) and applies the
   * change as one undoable automatic edit; reviewed and locked segments keep their fragments.
   */
  'segment.threshold': {
    args: { threshold: number }
    result: { threshold: number; edit: EditRecord | null; changedFragments: number; segments: number; ms: number }
  }
  /** The split that seeds would make of `segment`, without committing it (commit: project.split). */
  'segment.splitPreview': { args: { segment: number; seeds: { red: Vec3[]; blue: Vec3[] } }; result: SplitPreview }
  /** Unreviewed segments ranked by how likely they are wrong, most doubtful first. */
  'segment.reviewQueue': { args: { limit?: number }; result: ReviewItem[] }
}
