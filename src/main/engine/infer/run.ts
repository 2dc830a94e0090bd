/**
 * Inference from a volume to an affinity file: the model loaded on the best working provider,
 * the sliding window, the sink; a cancelled or failed run leaves no partial output behind.
 * The CLI and the engine API both come through here.
 */
import { rmSync } from 'node:fs'
import type { VolumeSource } from '../io/volume'
import type { JobContext } from '../jobs/runner'
import { loadModelOffThread } from '../model/offthread'
import { defaultModelPath, type ModelInfo, type ModelOptions, type RunnableModel } from '../model/runnable'
import type { PassedOver, Provider } from '../runtime/providers'
import { createSink } from './files'
import { inferVolume, type InferOptions, type InferStats } from './sliding'

export interface InferFileOptions extends InferOptions, ModelOptions {
  /** .pth or .safetensors; default: the bundled model. */
  checkpoint?: string
  /** Called once the model is loaded, before the first window (for logs). */
  onModel?: (model: RunnableModel) => void
}

export interface InferFileResult extends InferStats {
  out: string
  model: ModelInfo
  provider: Provider
  passedOver: PassedOver[]
}

export async function inferToFile(source: VolumeSource, out: string, options: InferFileOptions = {}, ctx?: JobContext): Promise<InferFileResult> {
  const model = await loadModelOffThread(options.checkpoint ?? defaultModelPath(), options)
  try {
    options.onModel?.(model)
    const sink = await createSink(out, source.shape)
    try {
      const stats = await inferVolume(source, model, sink, options, ctx)
      await sink.close()
      return { ...stats, out, model: model.info, provider: model.provider, passedOver: model.passedOver }
    } catch (err) {
      await sink.close().catch(() => undefined)
      rmSync(out, { recursive: true, force: true })
      throw err
    }
  } finally {
    await model.dispose()
  }
}
