/**
 * The engine: implements the src/shared contract on top of the engine modules.
 * The Electron shell, the browser-mode server, the CLI and the tests all drive this one object.
 */
import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { ApiEvents, ApiHandlers, ArgsOf, EventName, Method, ResultOf } from '../../shared/api'
import { StudioError } from '../../shared/errors'
import type { AppInfo, AppMode, VolumeInfo } from '../../shared/types'
import { volumeHistogram } from './io/histogram'
import type { VolumeSource } from './io/volume'
import { JobRunner } from './jobs/runner'
import { nativeAvailable } from './native'
import { findAppRoot } from './paths'
import { availableProviders } from './runtime/providers'

export interface EngineOptions {
  mode: AppMode
}

type EventHandler<E extends EventName> = (payload: ApiEvents[E]) => void
type AnyEventHandler = <E extends EventName>(event: E, payload: ApiEvents[E]) => void

export class Engine {
  readonly jobs = new JobRunner()
  readonly handlers: ApiHandlers
  private readonly volumes = new Map<string, { info: VolumeInfo; source: VolumeSource }>()
  private readonly listeners = new Set<AnyEventHandler>()

  constructor(readonly options: EngineOptions) {
    this.jobs.onUpdate((job) => this.emit('job.update', job))
    this.handlers = {
      'app.info': async () => this.appInfo(),
      'jobs.list': async () => this.jobs.list(),
      'jobs.cancel': async ({ id }) => ({ cancelled: this.jobs.cancel(id) }),
      'volume.list': async () => [...this.volumes.values()].map((v) => v.info),
      'volume.read': async ({ volumeId, box }) => ({ data: await this.volume(volumeId).read(box) }),
      'volume.histogram': async ({ volumeId, bins }) => {
        const source = this.volume(volumeId)
        const job = this.jobs.start({
          kind: 'histogram',
          title: `Histogram of ${source.name}`,
          run: (ctx) => volumeHistogram(source, bins ?? 256, ctx),
        })
        return { jobId: job.id, histogram: await job.result }
      },
    }
  }

  /** Runs one API call by name; unknown names are refused (they can arrive from a socket). */
  async call<M extends Method>(method: M, args: ArgsOf<M>): Promise<ResultOf<M>> {
    if (!Object.hasOwn(this.handlers, method)) throw new StudioError('bad_input', `unknown API call: ${String(method)}`)
    const handler = this.handlers[method] as (a: ArgsOf<M>) => Promise<ResultOf<M>>
    return handler(args ?? ({} as ArgsOf<M>))
  }

  on<E extends EventName>(event: E, handler: EventHandler<E>): () => void {
    return this.onAnyEvent((name, payload) => {
      if ((name as EventName) === event) handler(payload as ApiEvents[E])
    })
  }

  /** Every event, for transports that forward them all (IPC, WebSocket). */
  onAnyEvent(handler: AnyEventHandler): () => void {
    this.listeners.add(handler)
    return () => this.listeners.delete(handler)
  }

  addVolume(source: VolumeSource): VolumeInfo {
    const info: VolumeInfo = {
      id: randomUUID(),
      name: source.name,
      shape: source.shape,
      dtype: source.dtype,
      chunkShape: source.chunkShape,
      ...(source.path === undefined ? {} : { path: source.path }),
      ...(source.voxelSize === undefined ? {} : { voxelSize: source.voxelSize }),
    }
    this.volumes.set(info.id, { info, source })
    return info
  }

  async close(): Promise<void> {
    this.jobs.cancelAll()
    await Promise.all([...this.volumes.values()].map((v) => v.source.close()))
    this.volumes.clear()
  }

  private emit<E extends EventName>(event: E, payload: ApiEvents[E]): void {
    for (const l of this.listeners) l(event, payload)
  }

  private volume(id: string): VolumeSource {
    const v = this.volumes.get(id)
    if (!v) throw new StudioError('not_found', `no open volume with id ${id}`)
    return v.source
  }

  private async appInfo(): Promise<AppInfo> {
    return {
      name: 'TokenUnify Studio',
      version: appVersion(),
      mode: this.options.mode,
      providers: await availableProviders(),
      nativeAddon: nativeAvailable(),
    }
  }
}

export function appVersion(): string {
  return (JSON.parse(readFileSync(join(findAppRoot(), 'package.json'), 'utf8')) as { version: string }).version
}

export function createEngine(options: EngineOptions): Engine {
  return new Engine(options)
}
