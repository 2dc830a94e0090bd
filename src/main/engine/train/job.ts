/**
 * Fine-tuning on a project's corrections, as one background job: reads the corrections, scores
 * the active model on the held-out ones, trains the chosen scope with AdamW (cosine learning rate)
 * on augmented crops, saves a checkpoint every few steps, scores the result, and records it as a
 * new model version (parent: the model it started from) that becomes active. Until that last
 * step nothing changes which model is active, so a cancelled or failed run leaves it as it was
 * (and removes its partial files); the run itself is recorded with its loss curve and state.
 */
import { readdirSync, rmSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { CancelledError, StudioError } from '../../../shared/errors'
import type { TrainingRun, Vec3 } from '../../../shared/types'
import type { Provider } from '../graph/lower'
import { openVolume } from '../io/open'
import type { VolumeSource } from '../io/volume'
import type { JobContext } from '../jobs/runner'
import { loadCheckpoint } from '../model/checkpoint'
import { modelThreshold } from '../model/runnable'
import { writeTransaction } from '../store/database'
import { EditLog } from '../store/log'
import { MODELS_DIR, type Project } from '../store/project'
import { getSegmentationRun } from '../store/runs'
import { seededRandom } from '../random'
import { CorrectionData } from './corrections'
import { calibrateThreshold, correctionsRegion, scoreModel, THRESHOLD_CANDIDATES, withinVoxels, type HeldOutMetrics } from './evaluate'
import type { Scope } from './graphs'
import { ThreadTrainer, type SampleHandle } from './offthread'
import { activeVersion, saveWeights, versionFile } from './versions'

export interface TrainSettings {
  scope: Scope
  steps: number
  /** Peak learning rate; a half cosine takes it to minLr over the steps (the official schedule). */
  lr: number
  minLr: number
  /** Crop (z, y, x): the network's patch during training. */
  patch: Vec3
  /** Share of the reviewed segments held out for validation. */
  heldOutShare: number
  /** Save the weights every this many steps. */
  checkpointEvery: number
  /** Distinct augmented crops whose frozen features are computed once and reused (scopes head, decoder). */
  pool: number
  seed: number
  provider?: Provider
  threads?: number
}

/** At most this many voxels are segmented to calibrate a fine-tuned model's threshold. */
const CALIBRATION_VOXELS = 2_000_000

export const DEFAULT_SETTINGS: TrainSettings = {
  scope: 'decoder',
  steps: 200,
  lr: 3e-4,
  minLr: 1e-6,
  patch: [16, 80, 80],
  heldOutShare: 0.2,
  checkpointEvery: 50,
  pool: 24,
  seed: 0,
}

/** A step's loss, as the UI draws it ('train.progress'). */
export interface StepReport {
  runId: number
  step: number
  steps: number
  loss: number
  lr: number
  etaSeconds: number | null
}

export interface TrainResult {
  runId: number
  versionId: number
  /** Held-out scores of the starting model and the new one; null without held-out corrections. */
  before: HeldOutMetrics | null
  after: HeldOutMetrics | null
  finalLoss: number
}

/** A run's periodic checkpoint, in the project's models/ folder. */
const partialFile = (runId: number) => `run-${runId}.partial.safetensors`

/** This process, as a training run's owner (host:pid). */
const OWNER = `${hostname()}:${process.pid}`

/** Whether the process that owns a run may still be running it (on another host: cannot tell, so yes). */
function ownerAlive(owner: string | null): boolean {
  if (owner === null) return false
  const at = owner.lastIndexOf(':')
  const pid = Number(owner.slice(at + 1))
  if (owner.slice(0, at) !== hostname()) return true
  if (pid === process.pid) return true
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Runs left 'running' by a process that died (killed, crashed, power cut) are marked failed and
 * their weight files removed. Their model was never recorded, so the previous version stays active.
 */
export function recoverInterruptedRuns(project: Project): TrainingRun[] {
  const runs = project.training.failInterrupted(ownerAlive)
  const recorded = new Set(project.models.list().map((v) => v.file))
  const dir = join(project.dir, MODELS_DIR)
  for (const run of runs) {
    for (const file of readdirSync(dir)) {
      if ((file === partialFile(run.id) || file.startsWith(`run-${run.id}-`)) && !recorded.has(file)) rmSync(join(dir, file), { force: true })
    }
  }
  return runs
}

/** The files a run needs: the image and the fragments of the project's automatic segmentation. */
export async function projectVolumes(project: Project): Promise<{ image: VolumeSource; fragments: VolumeSource }> {
  const raw = project.sources.list().find((s) => s.role === 'raw')
  if (!raw) throw new StudioError('conflict', "this project has no 'raw' image source to train on")
  const baseRunId = new EditLog(project.db).counters().baseRunId
  if (baseRunId === null) throw new StudioError('conflict', 'this project has no segmentation yet; segment it and review some segments first')
  const file = getSegmentationRun(project.db, baseRunId).params.fragments
  if (typeof file !== 'string') throw new StudioError('conflict', `segmentation run ${baseRunId} does not say where its fragments are`)
  const image = await openVolume(raw.path, { ...(raw.dataset === undefined ? {} : { dataset: raw.dataset }), ...(raw.channel === undefined ? {} : { channel: raw.channel }) })
  try {
    return { image, fragments: await openVolume(file) }
  } catch (err) {
    await image.close()
    throw err
  }
}

/** What a run reports as it goes: its id once recorded, then every step. */
export interface TrainListener {
  run?(runId: number): void
  step?(report: StepReport): void
}

export async function trainOnCorrections(project: Project, settings: TrainSettings, ctx: JobContext, listener: TrainListener = {}): Promise<TrainResult> {
  recoverInterruptedRuns(project)
  const base = activeVersion(project)
  const { image, fragments } = await projectVolumes(project)
  let trainer: ThreadTrainer | null = null
  let data: CorrectionData
  try {
    ctx.progress(0, 'reading corrections')
    data = await CorrectionData.open(project, image, fragments, { heldOutShare: settings.heldOutShare, seed: settings.seed })
    if (data.train.length === 0) throw new StudioError('conflict', 'no corrections to train on: review some segments (or merge/split) first')
  } catch (err) {
    await Promise.all([image.close(), fragments.close()])
    throw err
  }
  // The run records what it learns from: the corrections as of the newest edit.
  const corrections = {
    lastEdit: project.history({ limit: 1 })[0]?.id ?? 0,
    reviewed: data.train.filter((c) => c.kind === 'reviewed').map((c) => c.segment),
    heldOut: data.heldOut.map((c) => c.segment),
    merges: data.train.filter((c) => c.kind === 'merge').length,
    splits: data.train.filter((c) => c.kind === 'split').length,
  }
  const run = project.training.start({ ...settings, corrections }, base.id, OWNER)
  listener.run?.(run.id)
  const partial = join(project.dir, MODELS_DIR, partialFile(run.id))
  const final = `run-${run.id}-${settings.scope}.safetensors`
  try {
    const region = await correctionsRegion(project, image, fragments, data.heldOut)
    const score = (file: string) => (region ? scoreModel(region, file, { provider: settings.provider, threads: settings.threads }) : Promise.resolve(null))
    ctx.progress(0.01, 'scoring the current model on the held-out corrections')
    const before = await score(versionFile(project, base))
    ctx.throwIfCancelled()

    const start = await loadCheckpoint(versionFile(project, base))
    // A fine-tuned version segments at its parent's calibrated threshold.
    const threshold = modelThreshold(start.meta.metadata)
    trainer = await ThreadTrainer.create({ config: start.config, weights: start.weights, scope: settings.scope, patch: settings.patch, provider: settings.provider, threads: settings.threads })
    const random = seededRandom(settings.seed + 1)
    // Scopes with a frozen part reuse a pool of prepared crops; training everything draws fresh ones.
    const pool: SampleHandle[] = []
    const poolSize = settings.scope === 'all' ? 0 : Math.min(settings.pool, settings.steps)
    const next = async (step: number): Promise<SampleHandle> => {
      if (poolSize === 0) return trainer!.prepare(await data.sample(settings.patch, random))
      if (pool.length < poolSize) {
        ctx.progress(0.02 + (0.08 * pool.length) / poolSize, `preparing crop ${pool.length + 1} of ${poolSize}`)
        pool.push(await trainer!.prepare(await data.sample(settings.patch, random)))
        return pool[pool.length - 1]
      }
      return pool[(step * 7919) % poolSize]
    }
    if (poolSize > 0) for (let i = 0; i < poolSize; i++) await next(i)

    const began = performance.now()
    const losses: { step: number; loss: number; time: number }[] = []
    let loss = NaN
    for (let step = 1; step <= settings.steps; step++) {
      ctx.throwIfCancelled()
      const lr = settings.minLr + 0.5 * (settings.lr - settings.minLr) * (1 + Math.cos((Math.PI * (step - 1)) / settings.steps))
      const sample = await next(step)
      loss = await trainer.train([sample], lr)
      if (poolSize === 0) await trainer.release([sample])
      losses.push({ step, loss, time: Date.now() })
      const elapsed = (performance.now() - began) / 1000
      const etaSeconds = (elapsed / step) * (settings.steps - step)
      listener.step?.({ runId: run.id, step, steps: settings.steps, loss, lr, etaSeconds })
      ctx.progress(0.1 + (0.8 * step) / settings.steps, `step ${step}/${settings.steps}, loss ${loss.toFixed(4)}`)
      if (losses.length >= 10 || step === settings.steps) project.training.appendLoss(run.id, losses.splice(0))
      if (step % settings.checkpointEvery === 0 && step < settings.steps) {
        await saveWeights(partial, start.config, await trainer.weights(), { description: `checkpoint of training run ${run.id} at step ${step}`, threshold })
      }
    }

    const file = join(project.dir, MODELS_DIR, final)
    const trained = await trainer.weights()
    const description = `fine-tuned on the corrections of ${project.dir}: run ${run.id}, ${settings.scope} scope, ${settings.steps} steps`
    await saveWeights(file, start.config, trained, { description, threshold })
    await trainer.dispose()
    trainer = null
    rmSync(partial, { force: true })
    // Training moves the affinities' calibration: the new threshold is the best one on (some of) the
    // reviewed segments it trained on; the held-out ones stay out of every choice.
    ctx.progress(0.88, 'calibrating the threshold on the training corrections')
    const reviewed = withinVoxels(data.train.filter((c) => c.kind === 'reviewed'), CALIBRATION_VOXELS)
    const calibration = reviewed.length > 0 ? await correctionsRegion(project, image, fragments, reviewed) : null
    const tuned = calibration ? (await calibrateThreshold(calibration, file, THRESHOLD_CANDIDATES, { provider: settings.provider, threads: settings.threads })).threshold : threshold
    if (tuned !== threshold) await saveWeights(file, start.config, trained, { description, threshold: tuned })
    ctx.throwIfCancelled()
    ctx.progress(0.94, 'scoring the fine-tuned model on the held-out corrections')
    const after = await score(file)
    ctx.throwIfCancelled()
    const metrics: Record<string, number> = { finalLoss: loss, heldOutSegments: data.heldOut.length, trainCorrections: data.train.length }
    if (tuned !== undefined) metrics.threshold = tuned
    if (before && after) {
      for (const [k, v] of Object.entries(before)) metrics[`before.${k}`] = v
      for (const [k, v] of Object.entries(after)) metrics[`after.${k}`] = v
    }
    // The commit point: the version and the run's end are recorded in one transaction.
    const version = writeTransaction(project.db, () => {
      const v = project.models.record({
        name: `fine-tuned (${settings.scope}, ${settings.steps} steps, run ${run.id})`,
        file: final,
        parentId: base.id,
        trainingRunId: run.id,
        metrics,
        activate: true,
      })
      project.training.finish(run.id, 'done', metrics)
      return v
    })
    return { runId: run.id, versionId: version.id, before, after, finalLoss: loss }
  } catch (err) {
    const cancelled = err instanceof CancelledError || ctx.signal.aborted
    if (project.training.get(run.id).state === 'running') project.training.finish(run.id, cancelled ? 'cancelled' : 'failed')
    rmSync(partial, { force: true })
    rmSync(join(project.dir, MODELS_DIR, final), { force: true })
    throw err
  } finally {
    await trainer?.dispose()
    await Promise.all([image.close(), fragments.close()])
  }
}
