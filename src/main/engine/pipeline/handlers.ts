/** The engine API's segmentation calls (src/shared/api/segment.ts, all but 'segment.mesh') on top of session.ts. */
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import type { SegmentCalls } from '../../../shared/api/segment'
import { StudioError } from '../../../shared/errors'
import type { VolumeInfo } from '../../../shared/types'
import { inferToFile } from '../infer/run'
import type { VolumeSource } from '../io/volume'
import type { JobContext, JobRunner } from '../jobs/runner'
import { CACHE_DIR, type Project } from '../store/project'
import { activeModelFile } from '../train/versions'
import { SegmentationSession } from './session'

type Calls = Omit<SegmentCalls, 'segment.mesh'>
type Handlers = { [M in keyof Calls]: (args: Calls[M]['args']) => Promise<Calls[M]['result']> }

export interface SegmentEngine {
  jobs: JobRunner
  volume(id: string): VolumeSource
  addVolume(source: VolumeSource): VolumeInfo
  /** The open project, or a clear error. */
  project(): Project
}

/** Share of a job's progress that inference takes when a run starts from the image. */
const INFER_SHARE = 0.8

export function segmentHandlers(engine: SegmentEngine): Handlers {
  const sessions = new WeakMap<Project, SegmentationSession>()
  const session = () => {
    const project = engine.project()
    let s = sessions.get(project)
    if (!s) sessions.set(project, (s = new SegmentationSession(project, (source) => engine.addVolume(source))))
    return s
  }
  return {
    'segment.run': async ({ volumeId, affinities, dataset, threshold, fragments, checkpoint, provider, patch }) => {
      if ((volumeId === undefined) === (affinities === undefined)) {
        throw new StudioError('bad_input', 'segment.run: give either volumeId (an image to infer affinities from) or affinities (a file), not both or neither')
      }
      const s = session()
      const image = volumeId === undefined ? null : engine.volume(volumeId)
      const job = engine.jobs.start({
        kind: 'segment',
        title: `Segmentation of ${image ? image.name : affinities}`,
        ...(image ? { lane: 'gpu' } : {}),
        run: async (ctx) => {
          const spec = { ...(dataset === undefined ? {} : { dataset }), ...(threshold === undefined ? {} : { threshold }), ...(fragments === undefined ? {} : { fragments }) }
          if (!image) return s.segment({ affinities: affinities as string, ...spec }, ctx)
          const out = join(s.project.dir, CACHE_DIR, `affinities-${Date.now()}.zarr`)
          const model = checkpoint ?? activeModelFile(s.project)
          const inferred = await inferToFile(image, out, { checkpoint: model, ...(provider ? { provider } : {}), ...(patch ? { patch } : {}) }, part(ctx, 0, INFER_SHARE, 'affinities: '))
          const calibrated = threshold === undefined && inferred.model.threshold !== undefined ? { threshold: inferred.model.threshold } : {}
          try {
            return await s.segment({ affinities: out, ...spec, ...calibrated, model: { path: inferred.model.path, untrained: inferred.model.untrained } }, part(ctx, INFER_SHARE, 1))
          } catch (err) {
            rmSync(out, { recursive: true, force: true })
            throw err
          }
        },
      })
      return { jobId: job.id }
    },
    'segment.state': async () => session().summary(),
    'segment.threshold': async ({ threshold }) => session().setThreshold(threshold),
    'segment.splitPreview': async ({ segment, seeds }) => session().splitPreview(segment, seeds),
    'segment.reviewQueue': async ({ limit }) => session().reviewQueue(limit),
  }
}

/** A job context whose progress [0, 1] maps to [from, to] of the whole job. */
function part(ctx: JobContext, from: number, to: number, prefix = ''): JobContext {
  return {
    signal: ctx.signal,
    throwIfCancelled: () => ctx.throwIfCancelled(),
    progress: (f, message) => ctx.progress(from + (to - from) * f, message === undefined ? undefined : prefix + message),
  }
}
