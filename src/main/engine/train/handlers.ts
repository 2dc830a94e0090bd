/** The engine API's training calls (src/shared/api/train.ts) on top of job.ts and versions.ts. */
import type { ApiEvents } from '../../../shared/api'
import type { HeldOutScores, TrainCalls, TrainComparison, TrainEvents } from '../../../shared/api/train'
import { StudioError, serializeError } from '../../../shared/errors'
import type { ModelVersion } from '../../../shared/types'
import { openVolume } from '../io/open'
import type { VolumeSource } from '../io/volume'
import type { JobRunner } from '../jobs/runner'
import type { Project } from '../store/project'
import { DEFAULT_SETTINGS, trainOnCorrections, type TrainSettings } from './job'
import { exportVersion, importVersion, versionFile } from './versions'

type Handlers = { [M in keyof TrainCalls]: (args: TrainCalls[M]['args']) => Promise<TrainCalls[M]['result']> }

export interface TrainEngine {
  jobs: JobRunner
  /** The open project, or a clear error. */
  project(): Project
  emit<E extends keyof TrainEvents>(event: E, payload: ApiEvents[E]): void
  /** Registers an opened volume with the engine; returns its id. */
  addVolume(source: VolumeSource): { id: string }
  /** Starts 'segment.run' (the segmentation pipeline's re-agglomeration keeps reviewed segments). */
  segment(args: { volumeId: string; checkpoint: string }): Promise<{ jobId: string }>
}

export function trainHandlers(engine: TrainEngine): Handlers {
  let running: string | null = null
  return {
    'train.start': async ({ resegment, ...args }) => {
      const project = engine.project()
      if (running && ['queued', 'running'].includes(engine.jobs.get(running)?.state ?? '')) throw new StudioError('conflict', 'a fine-tuning is already running; cancel it first')
      const settings: TrainSettings = { ...DEFAULT_SETTINGS, ...definedOnly(args) }
      let runId: number | null = null
      const job = engine.jobs.start({
        kind: 'train',
        title: `Fine-tune (${settings.scope}, ${settings.steps} steps)`,
        lane: 'gpu',
        run: (ctx) =>
          trainOnCorrections(project, settings, ctx, {
            run: (id) => (runId = id),
            step: (report) => engine.emit('train.progress', report),
          }),
      })
      running = job.id
      job.result.then(
        async (r) => {
          const done = { runId: r.runId, state: 'done' as const, versionId: r.versionId, before: r.before, after: r.after }
          if (resegment === false) return engine.emit('train.finished', done)
          try {
            const raw = project.sources.list().find((s) => s.role === 'raw')!
            const image = await openVolume(raw.path, { ...(raw.dataset === undefined ? {} : { dataset: raw.dataset }), ...(raw.channel === undefined ? {} : { channel: raw.channel }) })
            const checkpoint = versionFile(project, project.models.get(r.versionId))
            const { jobId } = await engine.segment({ volumeId: engine.addVolume(image).id, checkpoint })
            engine.emit('train.finished', { ...done, resegmentJobId: jobId })
          } catch (err) {
            engine.emit('train.finished', { ...done, error: `the new version is active, but re-segmentation did not start: ${serializeError(err).message}` })
          }
        },
        (err: unknown) => {
          const state = engine.jobs.get(job.id)?.state === 'cancelled' ? 'cancelled' : 'failed'
          engine.emit('train.finished', { runId, state, ...(state === 'failed' ? { error: serializeError(err).message } : {}) })
        },
      )
      return { jobId: job.id }
    },
    'train.cancel': async () => ({ cancelled: running !== null && engine.jobs.cancel(running) }),
    'train.runs': async () => engine.project().training.list(),
    'train.lossCurve': async ({ runId }) => engine.project().training.lossCurve(runId),
    'train.versions': async () => engine.project().models.list(),
    'train.comparison': async ({ versionId }) => {
      const models = engine.project().models
      const v = versionId === undefined ? models.active() : models.get(versionId)
      return v ? comparison(v) : null
    },
    'train.activate': async ({ versionId }) => engine.project().models.activate(versionId),
    'train.import': async ({ path, name, activate }) => importVersion(engine.project(), path, { name, activate }),
    'train.rollback': async () => engine.project().models.rollback(),
    'train.export': async ({ versionId, out, format, patch }) => ({ files: await exportVersion(engine.project(), versionId, out, format, patch) }),
  }
}

/** The before/after scores job.ts stored in a version's metrics ('before.voi', 'after.voi', ...). */
function comparison(v: ModelVersion): TrainComparison | null {
  const scores = (prefix: string): HeldOutScores | null => {
    const get = (k: string) => v.metrics[`${prefix}.${k}`]
    const s = { voi: get('voi'), voiSplit: get('voiSplit'), voiMerge: get('voiMerge'), arand: get('arand'), voxels: get('voxels') }
    return Object.values(s).every((x) => typeof x === 'number') ? s : null
  }
  const [before, after] = [scores('before'), scores('after')]
  if (!before || !after || v.trainingRunId === null) return null
  return { versionId: v.id, runId: v.trainingRunId, before, after, heldOutSegments: v.metrics.heldOutSegments, trainCorrections: v.metrics.trainCorrections }
}

/** The arguments that were given (undefined ones would override the defaults). */
function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>
}
