import type { LossPoint, ModelVersion, TrainingRun, Vec3 } from '../types'

/** What a fine-tuning run trains: the output head; the decoder and head; everything. */
export type TrainScope = 'head' | 'decoder' | 'all'

/**
 * How well a model segments the held-out reviewed segments of the project: variation of
 * information (bits; split + merge) and adapted Rand error, lower is better.
 */
export interface HeldOutScores {
  voi: number
  voiSplit: number
  voiMerge: number
  arand: number
  /** Voxels of the held-out segments that were scored. */
  voxels: number
}

/** A version's before/after chart: the model it started from and itself, on the same held-out segments. */
export interface TrainComparison {
  versionId: number
  runId: number
  before: HeldOutScores
  after: HeldOutScores
  heldOutSegments: number
  trainCorrections: number
}

export interface TrainCalls {
  /**
   * Fine-tunes the active model on the open project's corrections as a job in the 'gpu' lane
   * (follow 'train.progress' for the loss curve and job.update for the job; stop it with
   * 'train.cancel' or jobs.cancel). Reviewed segments are the ground truth (a share held out for
   * the before/after scores), merges and splits add the edges they fixed. When it ends, the new
   * version becomes active and, unless resegment is false, the unreviewed part of the project is
   * re-segmented with it as a 'segment.run' job (reviewed and locked segments stay exactly as
   * they are); 'train.finished' says how it ended. A cancelled or failed run changes no version.
   * Defaults: scope decoder, 200 steps, lr 3e-4 (half cosine to 1e-6), held-out share 0.2, patch 16x80x80.
   */
  'train.start': {
    args: { scope?: TrainScope; steps?: number; lr?: number; heldOutShare?: number; patch?: Vec3; resegment?: boolean }
    result: { jobId: string }
  }
  /** Cancels the running fine-tuning, if any. */
  'train.cancel': { args: Record<string, never>; result: { cancelled: boolean } }
  /** Every training run of the project (settings, state, metrics), oldest first. */
  'train.runs': { args: Record<string, never>; result: TrainingRun[] }
  /** The loss of every step of a run, for the loss curve of a finished (or running) run. */
  'train.lossCurve': { args: { runId: number }; result: LossPoint[] }
  /** Model versions of the project, oldest first; `active` marks the one inference uses. */
  'train.versions': { args: Record<string, never>; result: ModelVersion[] }
  /** Before/after held-out scores of a fine-tuned version (default: the active one); null when it has none. */
  'train.comparison': { args: { versionId?: number }; result: TrainComparison | null }
  'train.activate': { args: { versionId: number }; result: ModelVersion }
  /**
   * Adds a model file (.pth or safetensors with the official key names, any size) as a version of
   * the project, validated and copied into its models/ folder; active unless activate is false.
   */
  'train.import': { args: { path: string; name?: string; activate?: boolean }; result: ModelVersion }
  /** Activates the parent of the active version (undoes a fine-tuning that made things worse). */
  'train.rollback': { args: Record<string, never>; result: ModelVersion }
  /**
   * Writes a version as safetensors (the official key names) or as a self-contained ONNX graph of
   * standard ops (input 'input' (1, 1, z, y, x), output 'affinities'; patch default 16x160x160).
   */
  'train.export': { args: { versionId: number; out: string; format: 'safetensors' | 'onnx'; patch?: Vec3 }; result: { files: string[] } }
}

export interface TrainEvents {
  /** After every training step: one point of the live loss curve, with the time left. */
  'train.progress': { runId: number; step: number; steps: number; loss: number; lr: number; etaSeconds: number | null }
  /**
   * When a run ends. done: `versionId` is the new active version, `before`/`after` its held-out
   * scores (null without held-out segments), `resegmentJobId` the re-segmentation job when one was
   * started (else `error` says why not); cancelled/failed: the previous version stays active,
   * `error` says why it failed.
   */
  'train.finished': {
    runId: number | null
    state: 'done' | 'cancelled' | 'failed'
    versionId?: number
    before?: HeldOutScores | null
    after?: HeldOutScores | null
    resegmentJobId?: string
    error?: string
  }
}
