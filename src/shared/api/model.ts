import type { Vec3 } from '../types'

/** A TokenUnify checkpoint as the UI shows it. */
export interface ModelSummary {
  path: string
  format: 'pth' | 'safetensors'
  /** base | small | mid | large | huge, or 'custom'. */
  size: string
  parameters: number
  /** True for random, never-trained weights (the bundled default model): say so plainly. */
  untrained: boolean
  description?: string
  /** The agglomeration threshold calibrated for this model (segmentations start there). */
  threshold?: number
}

export type ProviderChoice = 'auto' | 'cpu' | 'webgpu' | 'cuda'

export interface ModelCalls {
  /** What a checkpoint holds (default: the active model, i.e. the bundled one until trained). */
  'model.info': { args: { path?: string }; result: ModelSummary }
  /**
   * Starts affinity inference of an open volume into `out` (.zarr uint8 or .npy float32) with
   * `checkpoint` or the active model, as a job in the 'gpu' lane; follow it with job.update events, stop it with jobs.cancel.
   */
  'model.infer': {
    args: { volumeId: string; out: string; checkpoint?: string; provider?: ProviderChoice; patch?: Vec3; overlap?: number; batch?: number }
    result: { jobId: string }
  }
}
