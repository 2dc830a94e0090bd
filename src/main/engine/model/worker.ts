/**
 * The model thread (entry of a worker_threads Worker; offthread.ts starts and talks to it): loads
 * one checkpoint and runs windows through it. onnxruntime-node runs a session synchronously, so
 * running it here keeps the engine's own thread free for the UI's calls while a model works.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { serializeError } from '../../../shared/errors'
import { loadModel, type ModelOptions } from './runnable'
import type { ModelThreadReply, ModelThreadRequest } from './offthread'

const port = parentPort!
const { path, options } = workerData as { path: string; options: ModelOptions }

try {
  const model = await loadModel(path, options)
  const { info, provider, passedOver, patch, batch, scan } = model
  port.on('message', (request: ModelThreadRequest) => {
    if (request.type === 'dispose') {
      void model.dispose().finally(() => process.exit(0))
      return
    }
    model.run(request.windows).then(
      (out) => port.postMessage({ type: 'result', id: request.id, out } satisfies ModelThreadReply),
      (err: unknown) => port.postMessage({ type: 'error', id: request.id, error: serializeError(err) } satisfies ModelThreadReply),
    )
  })
  port.postMessage({ type: 'ready', info, provider, passedOver, patch, batch, scan } satisfies ModelThreadReply)
} catch (err) {
  port.postMessage({ type: 'failed', error: serializeError(err) } satisfies ModelThreadReply)
}
