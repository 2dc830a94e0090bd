/** The engine API's model calls (src/shared/api/model.ts) on top of infer/ and model/. */
import type { ModelCalls, ModelSummary } from '../../../shared/api/model'
import type { VolumeSource } from '../io/volume'
import type { JobRunner } from '../jobs/runner'
import { modelInfo } from '../model/runnable'
import { inferToFile } from './run'

type Handlers = { [M in keyof ModelCalls]: (args: ModelCalls[M]['args']) => Promise<ModelCalls[M]['result']> }

/** activeModel: the weights file used when a call names none (the open project's active version, or the bundled model). */
export function modelHandlers(engine: { jobs: JobRunner; volume(id: string): VolumeSource; activeModel(): string }): Handlers {
  return {
    'model.info': async ({ path }): Promise<ModelSummary> => {
      const { config: _config, ...summary } = await modelInfo(path ?? engine.activeModel())
      return summary
    },
    'model.infer': async ({ volumeId, out, ...options }) => {
      const source = engine.volume(volumeId)
      const job = engine.jobs.start({
        kind: 'infer',
        title: `Affinities of ${source.name}`,
        lane: 'gpu',
        run: async (ctx) => {
          const result = await inferToFile(source, out, { ...options, checkpoint: options.checkpoint ?? engine.activeModel() }, ctx)
          const passed = result.passedOver.map((p) => `${p.provider}: ${p.reason}`).join('; ')
          ctx.progress(1, `done on ${result.provider} in ${result.seconds.toFixed(0)} s${passed ? ` (${passed})` : ''}`)
          return result
        },
      })
      return { jobId: job.id }
    },
  }
}
