/**
 * Background jobs: each has progress, an ETA, cancel, and an error the UI can show.
 * Jobs that declare a lane run one at a time within it (e.g. 'gpu': one network job at a time).
 */
import { CancelledError, serializeError } from '../../../shared/errors'
import type { JobInfo } from '../../../shared/types'

export interface JobContext {
  readonly signal: AbortSignal
  /** Report progress in [0, 1] with an optional status line; throws if the job was cancelled. */
  progress(fraction: number, message?: string): void
  throwIfCancelled(): void
}

export interface JobSpec<T> {
  kind: string
  title: string
  lane?: string
  run: (ctx: JobContext) => Promise<T>
}

export interface JobHandle<T> {
  id: string
  result: Promise<T>
}

type Listener = (job: JobInfo) => void

export class JobRunner {
  private readonly jobs = new Map<string, { info: JobInfo; abort: AbortController }>()
  private readonly lanes = new Map<string, Promise<unknown>>()
  private readonly listeners = new Set<Listener>()
  private nextId = 1
  private readonly keepFinished: number

  constructor(options: { keepFinished?: number } = {}) {
    this.keepFinished = options.keepFinished ?? 50
  }

  onUpdate(listener: Listener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  list(): JobInfo[] {
    return [...this.jobs.values()].map((j) => ({ ...j.info }))
  }

  get(id: string): JobInfo | undefined {
    const job = this.jobs.get(id)
    return job && { ...job.info }
  }

  cancel(id: string): boolean {
    const job = this.jobs.get(id)
    if (!job || (job.info.state !== 'running' && job.info.state !== 'queued')) return false
    job.abort.abort()
    if (job.info.state === 'queued') this.finish(job.info, 'cancelled')
    return true
  }

  /** Cancels everything still queued or running. */
  cancelAll(): void {
    for (const id of this.jobs.keys()) this.cancel(id)
  }

  start<T>(spec: JobSpec<T>): JobHandle<T> {
    const id = `job-${this.nextId++}`
    const abort = new AbortController()
    const info: JobInfo = {
      id,
      kind: spec.kind,
      title: spec.title,
      state: 'queued',
      progress: 0,
      message: '',
      etaSeconds: null,
      startedAt: Date.now(),
    }
    this.jobs.set(id, { info, abort })
    this.prune()
    this.emit(info)

    const ctx = this.context(info, abort.signal)
    const previous = spec.lane ? (this.lanes.get(spec.lane) ?? Promise.resolve()) : Promise.resolve()
    const result = previous
      .catch(() => undefined)
      .then(async () => {
        ctx.throwIfCancelled()
        info.state = 'running'
        info.startedAt = Date.now()
        this.emit(info)
        const value = await spec.run(ctx)
        ctx.throwIfCancelled()
        info.progress = 1
        info.etaSeconds = 0
        this.finish(info, 'done')
        return value
      })
      .catch((err: unknown) => {
        if (abort.signal.aborted || err instanceof CancelledError) {
          this.finish(info, 'cancelled')
          throw err instanceof CancelledError ? err : new CancelledError(`${spec.title}: cancelled`)
        }
        info.error = serializeError(err)
        info.message = info.error.message
        this.finish(info, 'failed')
        throw err
      })
    if (spec.lane) this.lanes.set(spec.lane, result.catch(() => undefined))
    // Callers that only watch events must not trigger an unhandled rejection.
    result.catch(() => undefined)
    return { id, result }
  }

  private context(info: JobInfo, signal: AbortSignal): JobContext {
    let lastEmit = 0
    const throwIfCancelled = () => {
      if (signal.aborted) throw new CancelledError(`${info.title}: cancelled`)
    }
    return {
      signal,
      throwIfCancelled,
      progress: (fraction, message) => {
        throwIfCancelled()
        const f = Math.min(1, Math.max(0, fraction))
        info.progress = f
        if (message !== undefined) info.message = message
        const elapsed = (Date.now() - info.startedAt) / 1000
        info.etaSeconds = f > 0.01 && elapsed > 0.2 ? (elapsed * (1 - f)) / f : null
        const now = Date.now()
        // Throttle events to ~20 per second; the last word always comes from finish().
        if (now - lastEmit >= 50) {
          lastEmit = now
          this.emit(info)
        }
      },
    }
  }

  private finish(info: JobInfo, state: JobInfo['state']): void {
    if (info.state === 'done' || info.state === 'failed' || info.state === 'cancelled') return
    info.state = state
    this.emit(info)
  }

  private emit(info: JobInfo): void {
    const snapshot = { ...info }
    for (const l of this.listeners) l(snapshot)
  }

  private prune(): void {
    const finished = [...this.jobs.values()].filter((j) => j.info.state !== 'running' && j.info.state !== 'queued')
    for (const j of finished.slice(0, Math.max(0, finished.length - this.keepFinished))) this.jobs.delete(j.info.id)
  }
}
