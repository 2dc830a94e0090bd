/**
 * The model thread (threads.ts): loads one checkpoint and runs windows through it, so that
 * inference does not hold the engine's thread (offthread.ts is the engine's end).
 */
import { serveThread } from '../threads'
import { loadModel, type ModelOptions } from './runnable'

serveThread(async ({ path, options }: { path: string; options: ModelOptions }) => {
  const model = await loadModel(path, options)
  const { info, provider, passedOver, patch, batch, scan } = model
  return {
    ready: { info, provider, passedOver, patch, batch, scan },
    handlers: { run: (windows: Float32Array) => model.run(windows) },
    close: () => model.dispose(),
  }
})
