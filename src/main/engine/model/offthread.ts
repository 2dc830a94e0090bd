/**
 * A runnable model whose ONNX Runtime session lives on its own thread (worker.ts). The engine's
 * thread only posts windows and awaits results, so slices, edits and progress keep flowing while
 * inference runs. Windows are copied across (a 16x160x160 window is 1.6 MB; the run takes seconds).
 */
import { renameSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
import { deserializeError, StudioError, type SerializedError } from '../../../shared/errors'
import { appPaths } from '../paths'
import type { ModelOptions, RunnableModel } from './runnable'

export type ModelThreadRequest = { type: 'run'; id: number; windows: Float32Array } | { type: 'dispose' }

export type ModelThreadReply =
  | ({ type: 'ready' } & Pick<RunnableModel, 'info' | 'provider' | 'passedOver' | 'patch' | 'batch' | 'scan'>)
  | { type: 'failed'; error: SerializedError }
  | { type: 'result'; id: number; out: Float32Array }
  | { type: 'error'; id: number; error: SerializedError }

let entry: Promise<string> | null = null

/**
 * The thread's script: the built one beside the app's bundles (out/main/model-worker.js), or, when
 * the engine runs from its TypeScript sources (tests, scripts), worker.ts bundled once into
 * node_modules/.cache by esbuild, written atomically since test processes may race.
 */
function threadEntry(): Promise<string> {
  entry ??= (async () => {
    const root = appPaths().root
    if (!fileURLToPath(import.meta.url).endsWith('.ts')) return join(root, 'out', 'main', 'model-worker.js')
    const dir = join(root, 'node_modules', '.cache', 'tokenunify')
    const out = join(dir, 'model-worker.mjs')
    const { build } = await import('esbuild')
    const result = await build({ entryPoints: [join(root, 'src/main/engine/model/worker.ts')], bundle: true, platform: 'node', format: 'esm', packages: 'external', write: false, logLevel: 'error' })
    mkdirSync(dir, { recursive: true })
    const partial = `${out}.${process.pid}.partial`
    writeFileSync(partial, result.outputFiles[0].contents)
    renameSync(partial, out)
    return out
  })()
  return entry
}

/** loadModel (runnable.ts) on a thread of its own: the same model, the same errors. */
export async function loadModelOffThread(path: string, options: ModelOptions = {}): Promise<RunnableModel> {
  // Only the model's own options cross (callers may pass wider objects, with functions in them).
  const { provider, patch, batch, threads, config } = options
  const worker = new Worker(await threadEntry(), { workerData: { path, options: { provider, patch, batch, threads, config } } })
  const pending = new Map<number, { resolve: (out: Float32Array) => void; reject: (err: Error) => void }>()
  let gone: Error | null = null
  const fail = (err: Error) => {
    gone ??= err
    for (const p of pending.values()) p.reject(gone)
    pending.clear()
  }
  const ready = new Promise<Extract<ModelThreadReply, { type: 'ready' }>>((resolve, reject) => {
    worker.on('message', (reply: ModelThreadReply) => {
      if (reply.type === 'ready') resolve(reply)
      else if (reply.type === 'failed') reject(deserializeError(reply.error))
      else {
        const p = pending.get(reply.id)
        pending.delete(reply.id)
        if (reply.type === 'result') p?.resolve(reply.out)
        else p?.reject(deserializeError(reply.error))
      }
    })
    worker.on('error', (err) => {
      const error = new StudioError('internal', `the model thread for ${path} failed: ${err.message}`, { file: path })
      reject(error)
      fail(error)
    })
    worker.on('exit', () => fail(new StudioError('internal', `the model thread for ${path} ended`, { file: path })))
  })
  let loaded: Extract<ModelThreadReply, { type: 'ready' }>
  try {
    loaded = await ready
  } catch (err) {
    await worker.terminate()
    throw err
  }
  let next = 0
  const { type: _type, ...described } = loaded
  return {
    ...described,
    run: (windows) =>
      new Promise<Float32Array>((resolve, reject) => {
        if (gone) return reject(gone)
        const id = next++
        pending.set(id, { resolve, reject })
        worker.postMessage({ type: 'run', id, windows } satisfies ModelThreadRequest)
      }),
    dispose: async () => {
      if (gone) return
      const exited = new Promise((resolve) => worker.once('exit', resolve))
      worker.postMessage({ type: 'dispose' } satisfies ModelThreadRequest)
      await exited
    },
  }
}
