/**
 * Work on threads of its own (worker_threads). onnxruntime-node runs a session synchronously,
 * holding its calling thread for a whole graph part, so sessions live on worker threads and the
 * engine's thread only posts requests and awaits replies: slices, edits and progress keep flowing.
 *
 * A thread script calls serveThread() with an init function that returns its handlers; the engine
 * starts it with ThreadClient.start(). Arguments and results are structured-cloned (copied).
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parentPort, Worker, workerData } from 'node:worker_threads'
import { deserializeError, serializeError, StudioError, type SerializedError } from '../../shared/errors'
import { appPaths } from './paths'

/** Thread scripts: bundle name (out/main/<name>.js, electron.vite.config.ts) -> source under engine/. */
export const THREAD_SCRIPTS = { 'model-worker': 'model/worker.ts', 'train-worker': 'train/worker.ts' } as const
export type ThreadScript = keyof typeof THREAD_SCRIPTS

type Request = { id: number; method: string; args: unknown }
type Reply = { id: number; value?: unknown; error?: SerializedError }
/** The id of the first reply: the init's result. */
const READY = -1
const CLOSE = '__close'

const scripts = new Map<ThreadScript, Promise<string>>()

/**
 * A thread's script: the built one beside the app's bundles, or, when the engine runs from its
 * TypeScript sources (tests, scripts), the source bundled once by esbuild into node_modules/.cache
 * (written atomically: test processes may race).
 */
function scriptFile(name: ThreadScript): Promise<string> {
  let file = scripts.get(name)
  if (!file) {
    file = (async () => {
      const root = appPaths().root
      if (!fileURLToPath(import.meta.url).endsWith('.ts')) return join(root, 'out', 'main', `${name}.js`)
      const dir = join(root, 'node_modules', '.cache', 'tokenunify')
      const out = join(dir, `${name}.mjs`)
      const { build } = await import('esbuild')
      const source = join(root, 'src', 'main', 'engine', THREAD_SCRIPTS[name])
      const result = await build({ entryPoints: [source], bundle: true, platform: 'node', format: 'esm', packages: 'external', write: false, logLevel: 'error' })
      mkdirSync(dir, { recursive: true })
      const partial = `${out}.${process.pid}.partial`
      writeFileSync(partial, result.outputFiles[0].contents)
      renameSync(partial, out)
      return out
    })()
    scripts.set(name, file)
  }
  return file
}

/** The engine's end of a thread: calls its handlers, and closes it. */
export class ThreadClient {
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (err: Error) => void }>()
  private gone: Error | null = null
  private next = 0

  private constructor(private readonly worker: Worker) {}

  /** Starts `script` with `data` and waits for its init; its result is `ready`. `what` names the work in errors. */
  static async start<R>(script: ThreadScript, data: unknown, what: string): Promise<{ client: ThreadClient; ready: R }> {
    const client = new ThreadClient(new Worker(await scriptFile(script), { workerData: data }))
    const ready = new Promise<R>((resolve, reject) => client.pending.set(READY, { resolve: (v) => resolve(v as R), reject }))
    client.worker.on('message', (reply: Reply) => {
      const p = client.pending.get(reply.id)
      client.pending.delete(reply.id)
      if (reply.error) p?.reject(deserializeError(reply.error))
      else p?.resolve(reply.value)
    })
    client.worker.on('error', (err) => client.fail(new StudioError('internal', `the thread for ${what} failed: ${err.message}`)))
    client.worker.on('exit', () => client.fail(new StudioError('internal', `the thread for ${what} ended`)))
    try {
      return { client, ready: await ready }
    } catch (err) {
      await client.worker.terminate()
      throw err
    }
  }

  call<T>(method: string, args?: unknown): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.gone) return reject(this.gone)
      const id = this.next++
      this.pending.set(id, { resolve: (v) => resolve(v as T), reject })
      this.worker.postMessage({ id, method, args } satisfies Request)
    })
  }

  /** Lets the thread release what it holds, and waits for it to end. */
  async close(): Promise<void> {
    if (this.gone) return
    const exited = new Promise((resolve) => this.worker.once('exit', resolve))
    this.worker.postMessage({ id: this.next++, method: CLOSE, args: null } satisfies Request)
    await exited
  }

  private fail(err: Error): void {
    this.gone ??= err
    for (const p of this.pending.values()) p.reject(this.gone)
    this.pending.clear()
  }
}

export interface Served {
  /** Sent to the engine once the thread is ready. */
  ready: unknown
  handlers: Record<string, (args: never) => unknown>
  close(): Promise<void>
}

/** The thread's end (call it from a thread script): runs `init` on the start data, then serves calls. */
export function serveThread<D>(init: (data: D) => Promise<Served>): void {
  const port = parentPort
  if (!port) throw new Error('serveThread runs on a worker thread')
  init(workerData as D).then(
    ({ ready, handlers, close }) => {
      port.on('message', (request: Request) => {
        if (request.method === CLOSE) {
          void close().finally(() => process.exit(0))
          return
        }
        const handler = handlers[request.method] as ((args: unknown) => unknown) | undefined
        Promise.resolve()
          .then(() => {
            if (!handler) throw new StudioError('internal', `no thread method ${request.method}`)
            return handler(request.args)
          })
          .then(
            (value) => port.postMessage({ id: request.id, value } satisfies Reply),
            (err: unknown) => port.postMessage({ id: request.id, error: serializeError(err) } satisfies Reply),
          )
      })
      port.postMessage({ id: READY, value: ready } satisfies Reply)
    },
    (err: unknown) => port.postMessage({ id: READY, error: serializeError(err) } satisfies Reply),
  )
}
