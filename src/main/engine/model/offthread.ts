/**
 * A runnable model whose ONNX Runtime session lives on a thread of its own (worker.ts, threads.ts).
 * Windows are copied across (a 16x160x160 window is 1.6 MB; running it takes seconds).
 */
import { ThreadClient } from '../threads'
import type { ModelOptions, RunnableModel } from './runnable'

/** loadModel (runnable.ts) on a thread of its own: the same model, the same errors. */
export async function loadModelOffThread(path: string, options: ModelOptions = {}): Promise<RunnableModel> {
  // Only the model's own options cross (callers may pass wider objects, with functions in them).
  const { provider, patch, batch, threads, config } = options
  const { client, ready } = await ThreadClient.start<Omit<RunnableModel, 'run' | 'dispose'>>(
    'model-worker',
    { path, options: { provider, patch, batch, threads, config } },
    `model ${path}`,
  )
  return {
    ...ready,
    run: (windows) => client.call<Float32Array>('run', windows),
    dispose: () => client.close(),
  }
}
