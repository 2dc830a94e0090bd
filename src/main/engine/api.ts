/**
 * The engine: implements the src/shared contract on top of the engine modules.
 * The Electron shell, the browser-mode server, the CLI and the tests all drive this one object.
 */
import { randomUUID } from 'node:crypto'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ApiEvents, ApiHandlers, ArgsOf, EventName, Method, ResultOf } from '../../shared/api'
import type { OpenTarget } from '../../shared/api/app'
import type { ProjectCalls } from '../../shared/api/project'
import { StudioError } from '../../shared/errors'
import type { AppInfo, AppMode, ProjectInfo, VolumeInfo } from '../../shared/types'
import { volumeHistogram } from './io/histogram'
import { openVolume, probeVolume } from './io/open'
import { defaultWindowOf, setWindow, windowOf } from './io/window'
import { syntheticVolume } from './io/synthetic'
import { writeVolume } from './io/write'
import type { VolumeSource } from './io/volume'
import { modelHandlers } from './infer/handlers'
import { JobRunner } from './jobs/runner'
import { prepareLaunch } from './launch/firstrun'
import { nativeAvailable } from './native'
import { segmentHandlers } from './pipeline/handlers'
import { appPaths, findAppRoot, userPaths } from './paths'
import { availableProviders } from './runtime/providers'
import { meshSegment } from './segment'
import { exportCorrections, importCorrections } from './store/exchange'
import { createProject, openProject, type Project } from './store/project'
import { trainHandlers } from './train/handlers'
import { recoverInterruptedRuns } from './train/job'
import { activeModelFile } from './train/versions'

/** Size and seed of the demo volume: a few seconds to make, about 14 µm³ of tissue. */
const DEMO_SHAPE: [number, number, number] = [48, 512, 512]
const DEMO_SEED = 1

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
  private readonly pendingOpens: OpenTarget[] = []
  private launched = false
  private project: Project | null = null

  constructor(readonly options: EngineOptions) {
    this.jobs.onUpdate((job) => this.emit('job.update', job))
    this.handlers = {
      'app.info': async () => this.appInfo(),
      'app.launch': async () => {
        this.launched = true
        return { ...prepareLaunch(appPaths(), userPaths()), open: this.pendingOpens.splice(0) }
      },
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
      'volume.open': async ({ path, dataset, channel }) =>
        this.addVolume(await openVolume(path, { ...(dataset === undefined ? {} : { dataset }), ...(channel === undefined ? {} : { channel }) })),
      'volume.probe': async ({ path }) => probeVolume(path),
      'volume.window': async ({ volumeId, window }) => {
        const source = this.volume(volumeId)
        if (window !== undefined) setWindow(source, window)
        return { window: await windowOf(source), default: await defaultWindowOf(source) }
      },
      'volume.close': async ({ volumeId }) => {
        const entry = this.volumes.get(volumeId)
        this.volumes.delete(volumeId)
        await entry?.source.close()
        return { closed: entry !== undefined }
      },
      ...this.projectHandlers(),
      ...modelHandlers({ jobs: this.jobs, volume: (id) => this.volume(id), activeModel: () => activeModelFile(this.project) }),
      'demo.open': async ({ dir }) => this.openDemo(dir),
      'segment.mesh': async ({ volumeId, labels }) => this.meshLabels(volumeId, labels),
      ...segmentHandlers({ jobs: this.jobs, volume: (id) => this.volume(id), addVolume: (s) => this.addVolume(s), project: () => this.openProject() }),
      ...trainHandlers({
        jobs: this.jobs,
        project: () => this.openProject(),
        emit: (event, payload) => this.emit(event, payload),
        addVolume: (s) => this.addVolume(s),
        segment: (args) => this.handlers['segment.run'](args),
      }),
    }
  }

  /**
   * A path the OS or the command line asks the app to open. Before the page has called
   * 'app.launch' it waits for that answer; afterwards it goes out as an 'app.open' event.
   */
  requestOpen(target: OpenTarget): void {
    if (this.launched) this.emit('app.open', target)
    else this.pendingOpens.push(target)
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
      ...(source.format === undefined ? {} : { format: source.format }),
      ...(source.dataset === undefined ? {} : { dataset: source.dataset }),
    }
    this.volumes.set(info.id, { info, source })
    return info
  }

  async close(): Promise<void> {
    this.project?.close()
    this.project = null
    this.jobs.cancelAll()
    await Promise.all([...this.volumes.values()].map((v) => v.source.close()))
    this.volumes.clear()
  }

  private emit<E extends EventName>(event: E, payload: ApiEvents[E]): void {
    for (const l of this.listeners) l(event, payload)
  }

  private openProject(): Project {
    if (!this.project) throw new StudioError('conflict', 'no project is open')
    return this.project
  }

  private projectHandlers(): { [M in keyof ProjectCalls]: ApiHandlers[M] } {
    const p = () => this.openProject()
    return {
      'project.create': async ({ dir, author }) => this.useProject(createProject(dir, { author })),
      'project.open': async ({ dir, author }) => this.useProject(openProject(dir, { author })),
      'project.close': async () => {
        const closed = this.project !== null
        this.project?.close()
        this.project = null
        return { closed }
      },
      'project.info': async () => p().info(),
      'project.addSource': async ({ path, role, dataset, channel }) => p().sources.add(path, role, { dataset, channel }),
      'project.relinkSource': async ({ sourceId, path }) => p().sources.relink(sourceId, path),
      'project.segmentOf': async ({ fragments }) => ({ segments: fragments.map((f) => p().segmentOf(f)) }),
      'project.fragmentsOf': async ({ segment }) => ({ fragments: p().fragmentsOf(segment) }),
      'project.assignment': async () => p().assignment(),
      'project.segments': async ({ segments }) => segments.map((s) => p().segmentState(s)),
      'project.reviewState': async () => ({ reviewed: p().reviewedSegments(), locked: p().lockedSegments() }),
      'project.voxelEdits': async ({ box }) => p().voxelEdits(box),
      'project.merge': async ({ keep, absorb }) => p().merge(keep, absorb),
      'project.split': async ({ segment, fragments }) => p().split(segment, fragments),
      'project.paint': async (args) => p().paint(args),
      'project.erase': async ({ indices, before }) => p().erase(indices, before),
      'project.review': async ({ segments, reviewed }) => p().review(segments, reviewed),
      'project.lock': async ({ segments, locked }) => p().lock(segments, locked),
      'project.note': async ({ text, segment }) => p().note(text, segment),
      'project.undo': async () => ({ edit: p().undo() }),
      'project.redo': async () => ({ edit: p().redo() }),
      'project.history': async (args) => p().history(args),
      'project.revert': async (to) => ({ undone: p().revert(to) }),
      'project.bookmarks': async () => p().bookmarks.list(),
      'project.addBookmark': async ({ position, title, segment }) => p().bookmarks.add(position, title, p().author, segment),
      'project.removeBookmark': async ({ id }) => {
        p().bookmarks.remove(id)
        return { removed: true }
      },
      'project.exportCorrections': async ({ file }) => exportCorrections(p(), file),
      'project.importCorrections': async ({ file }) => ({ edits: importCorrections(p(), file) }),
    }
  }

  /** One surface around the voxels labelled with any of `labels` (the native mesher visits only their bounding box). */
  private async meshLabels(volumeId: string, labels: number[]): Promise<ResultOf<'segment.mesh'>> {
    const source = this.volume(volumeId)
    const data = await source.read({ start: [0, 0, 0], stop: source.shape })
    if (!(data instanceof Uint32Array || data instanceof BigUint64Array)) {
      throw new StudioError('bad_input', `${source.name}: a ${source.dtype} volume has no labels to mesh`)
    }
    return meshSegment({ data, shape: source.shape }, labels, { voxelSize: source.voxelSize ?? [1, 1, 1] })
  }

  /** The demo (src/shared/api/demo.ts): synthetic EM and its ground truth, in a new project. */
  private async openDemo(dir?: string): Promise<ResultOf<'demo.open'>> {
    const demo = syntheticVolume({ shape: DEMO_SHAPE, seed: DEMO_SEED })
    const folder = dir ?? mkdtempSync(join(tmpdir(), 'tokenunify-demo-'))
    await this.useProject(createProject(folder))
    // Zarr keeps the voxel size, so the project reopens with the right aspect.
    const rawFile = join(folder, 'demo-raw.zarr')
    await writeVolume(rawFile, demo.raw.data, demo.raw.shape, 'uint8', { voxelSize: demo.voxelSize })
    const project = this.project as Project
    await project.sources.add(rawFile, 'raw')
    return { image: this.addVolume(demo.raw), labels: this.addVolume(demo.labels), project: project.info() }
  }

  /** Makes `project` the open one (closing the previous) and reports it with its sources checked. */
  private async useProject(project: Project): Promise<ProjectInfo> {
    this.project?.close()
    this.project = project
    recoverInterruptedRuns(project)
    project.onChange((change) => this.emit('project.changed', change))
    return project.info(await project.sources.check())
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
