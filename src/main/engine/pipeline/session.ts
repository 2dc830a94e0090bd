/**
 * The open project's automatic segmentation, live: affinities -> fragments -> region graph and
 * merge history, kept in memory so that a new threshold, a split preview and the review queue need
 * no voxel work. Every result goes into the store (Project) as a run, the base assignment or an
 * automatic edit, so undo and the review contract (reviewed and locked segments are never changed
 * by anything automatic) hold for all of it.
 *
 * What the session shows is derived from the store: the current run is the one of the newest
 * applied automatic edit (else the base run), so undo, redo, a reopened project and edits from
 * another connection all show the right threshold and scores. The in-memory part is rebuilt
 * lazily from the run record: fragments from the project cache, region graph and merge history
 * rebuilt from the run's affinities rather than persisted. At demo size (48x512x512, 59k
 * fragments) they take about 1 s of a 2-3 s reload; the rest is reading the fragments and the
 * affinities, which split previews need in memory anyway, and persisting would add a 23 MiB cache
 * that must be kept in step with the runs.
 */
import { existsSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import type { SegmentationSummary, SplitPreview } from '../../../shared/api/segment'
import { StudioError } from '../../../shared/errors'
import type { Box3, EditRecord, Vec3, VolumeInfo } from '../../../shared/types'
import { openVolume } from '../io/open'
import type { VolumeSource } from '../io/volume'
import { writeVolume } from '../io/write'
import type { JobContext } from '../jobs/runner'
import { agglomerate, asLabelArray, DEFAULT_THRESHOLD, nodeOf, Segmentation, type MergeHistory, type RegionGraph } from '../segment'
import { readAffinities } from '../segment/files'
import type { Affinities, LabelVolume } from '../segment/types'
import { idNumber } from '../segment/validate'
import { EditLog } from '../store/log'
import { CACHE_DIR, type Project } from '../store/project'
import { getSegmentationRun, type SegmentationRun, type SegmentationRunSpec } from '../store/runs'
import { reviewQueue, type ReviewInput } from './review'

export interface SegmentSpec {
  /** Affinity file (3, z, y, x), any format io/open reads. */
  affinities: string
  dataset?: string
  threshold?: number
  fragments?: '2d' | '3d'
  /** The model that made the affinities, when this run inferred them. */
  model?: { path: string; untrained: boolean }
}

/** The run the project's current assignment comes from, as its record describes it. */
interface Current {
  runId: number
  threshold: number
  affinities: string
  dataset?: string
  model?: { path: string; untrained: boolean }
}

/** The project's fragments: the cached label volume, opened and registered with the engine. */
interface Fragments {
  path: string
  mode: '2d' | '3d'
  info: VolumeInfo
  source: VolumeSource
  /** Read on first use (state needs only the opened volume). */
  labels: LabelVolume | null
}

/** Region graph and merge history over the fragments, scored with the affinities of `key`. */
interface Live {
  seg: Segmentation
  key: string
}

export class SegmentationSession {
  private fragments: Fragments | null = null
  private live: Live | null = null
  private loading: Promise<void> | null = null
  /**
   * The current run while the edit history is at `version`: as derived from the store, or a
   * request that changed no fragment (so made no run and no edit), shown until the store changes.
   */
  private shown: { current: Current; version: number } | null = null
  /** Merge history without the edges of reviewed/locked fragments, for the frozen set `key`. */
  private constrained: { key: string; history: MergeHistory } | null = null
  private readonly log: EditLog

  constructor(
    readonly project: Project,
    /** Registers an opened volume with the engine and returns its VolumeInfo. */
    private readonly register: (source: VolumeSource) => VolumeInfo,
  ) {
    this.log = new EditLog(project.db)
  }

  /** The current segmentation; null before the first run. Opens the cached fragments, reads nothing. */
  async summary(): Promise<SegmentationSummary | null> {
    const current = this.current()
    if (!current) return null
    const fragments = await this.openFragments()
    return {
      runId: current.runId,
      threshold: current.threshold,
      fragmentMode: fragments.mode,
      fragments: fragments.info,
      fragmentCount: this.live?.seg.graph.ids.length ?? this.project.baseAssignment().fragments.length,
      segmentCount: this.project.info().segments,
      affinities: current.affinities,
      ...(current.model ? { model: current.model } : {}),
    }
  }

  /**
   * Segments the project from an affinity file (the job body of 'segment.run'). The first run makes
   * fragments, writes them to the project cache and sets the base assignment; later runs keep those
   * fragments and apply the new agglomeration as one automatic edit. A later run whose cached
   * fragments are missing rebuilds them from its affinities first, which must give the same
   * fragments as the base assignment's (every stored edit refers to them). Everything before the
   * final synchronous commit can be cancelled and then leaves the project as it was.
   */
  async segment(spec: SegmentSpec, ctx: JobContext): Promise<SegmentationSummary> {
    const threshold = checkThreshold(spec.threshold ?? DEFAULT_THRESHOLD)
    const base = this.baseRun()
    ctx.progress(0, 'reading affinities')
    const affinities = await readAffinities(spec.affinities, spec.dataset)
    ctx.throwIfCancelled()
    const mode = base ? baseFiles(base).mode : (spec.fragments ?? '2d')
    let seg: Segmentation
    /** The project's first fragments, written by this run: registered when it commits, removed when it does not. */
    let first: { path: string; source: VolumeSource } | null = null
    if (base) {
      const { path } = baseFiles(base)
      if (existsSync(path)) {
        const fragments = await this.fragmentLabels()
        if (!sameShape(fragments.shape, affinities.shape)) {
          throw new StudioError('bad_input', `${spec.affinities}: affinities of ${affinities.shape.join('x')} do not match the project's fragments of ${fragments.shape.join('x')}`, { file: spec.affinities })
        }
        ctx.progress(0.2, 'region graph and agglomeration on the project fragments')
        seg = await Segmentation.fromFragments(fragments, affinities)
      } else {
        ctx.progress(0.05, `the cached fragments are missing: rebuilding them (${mode} watershed)`)
        seg = await Segmentation.fromAffinities(affinities, { mode })
        this.checkSameFragments(seg, spec.affinities, path)
        ctx.throwIfCancelled()
        // The rebuilt cache holds the fragments the project had, so it stays even if the run is cancelled later.
        ctx.progress(0.75, 'writing the rebuilt fragments to the project cache')
        const source = await writeFragments(path, seg.fragments, affinities)
        this.fragments = { path, mode, info: this.register(source), source, labels: seg.fragments }
      }
    } else {
      ctx.progress(0.05, `fragments (${mode} watershed)`)
      seg = await Segmentation.fromAffinities(affinities, { mode })
      ctx.progress(0.75, 'writing fragments to the project cache')
      const path = join(this.project.dir, CACHE_DIR, `fragments-${Date.now()}.zarr`)
      first = { path, source: await writeFragments(path, seg.fragments, affinities) }
    }
    try {
      ctx.progress(0.95, 'recording the run')
      this.constrained = null
      const assignment = await this.assignmentAt(seg, threshold)
      ctx.throwIfCancelled()
      // From here on no await: the commit and the new state happen together or not at all.
      const next: Omit<Current, 'runId'> = {
        threshold,
        affinities: spec.affinities,
        ...(spec.dataset === undefined ? {} : { dataset: spec.dataset }),
        ...(spec.model ? { model: spec.model } : {}),
      }
      const path = first?.path ?? baseFiles(base as SegmentationRun).path
      const run: SegmentationRunSpec = { thresholds: { merge: threshold }, params: { ...runParams(next, path), mode }, labelShape: seg.shape }
      if (base) this.applyOrRemember(run, assignment, next)
      else {
        this.project.setBaseAssignment(this.project.addSegmentationRun(run), assignment.fragments, assignment.segments)
        const { source } = first as NonNullable<typeof first>
        this.fragments = { path, mode, info: this.register(source), source, labels: seg.fragments }
      }
      this.live = { seg, key: affinityKey(next) }
    } catch (err) {
      if (first) {
        await first.source.close()
        rmSync(first.path, { recursive: true, force: true })
      }
      throw err
    }
    return (await this.summary()) as SegmentationSummary
  }

  /** Re-agglomerates at `threshold` (a prefix of the merge history) and applies it as one automatic edit. */
  async setThreshold(threshold: number): Promise<{ threshold: number; edit: EditRecord | null; changedFragments: number; segments: number; ms: number }> {
    checkThreshold(threshold)
    const { live, current } = await this.require()
    const t0 = performance.now()
    const assignment = await this.assignmentAt(live.seg, threshold)
    const next = { ...current, threshold }
    const run: SegmentationRunSpec = {
      thresholds: { merge: threshold },
      params: { parentRun: current.runId, ...runParams(next, baseFiles(this.baseRun() as SegmentationRun).path) },
      labelShape: live.seg.shape,
    }
    const { edit, changed } = this.applyOrRemember(run, assignment, next)
    return { threshold, edit, changedFragments: changed, segments: this.project.info().segments, ms: performance.now() - t0 }
  }

  /**
   * The split seeds would make of `segment`: a seeded watershed on its fragments' region graph,
   * cutting fragments that hold seeds of both colours voxel by voxel. Works on a copy of the
   * segment's bounding box, so nothing in the session or the project changes.
   */
  async splitPreview(segment: number, seeds: { red: Vec3[]; blue: Vec3[] }): Promise<SplitPreview> {
    const { live } = await this.require()
    const members = [...this.project.fragmentsOf(segment)].filter((f) => nodeOf(live.seg.graph, f) >= 0)
    if (members.length === 0) throw new StudioError('not_found', `split preview: segment ${segment} has no fragments of the automatic segmentation`)
    if (seeds.red.length === 0 || seeds.blue.length === 0) throw new StudioError('bad_input', 'split preview: place at least one red and one blue seed')
    const box = boundingBox(live.seg.fragments, new Set(members))
    const local = await Segmentation.fromFragments(cropLabels(live.seg.fragments, box), cropAffinities(live.seg.affinities, box))
    const shift = (p: Vec3): Vec3 => {
      if (!p.every((v, a) => Number.isInteger(v) && v >= box.start[a] && v < box.stop[a])) {
        throw new StudioError('bad_input', `split preview: seed (${p.join(', ')}) is not inside segment ${segment}`)
      }
      return [p[0] - box.start[0], p[1] - box.start[1], p[2] - box.start[2]]
    }
    const result = await local.split(members, [seeds.red.map(shift), seeds.blue.map(shift)])
    const cutIds = new Set(result.cuts.flatMap((c) => c.pieces))
    const keep = (g: number[]) => g.filter((f) => !cutIds.has(f))
    return {
      segment,
      red: keep(result.groups[0]),
      blue: keep(result.groups[1]),
      cuts: result.cuts.map((c) => ({ fragment: c.fragment, red: voxelsOf(local.fragments, box, live.seg.shape, c.pieces[0]), blue: voxelsOf(local.fragments, box, live.seg.shape, c.pieces[1]) })),
    }
  }

  /** Unreviewed segments ranked by how likely they are wrong (review.ts). */
  async reviewQueue(limit = 50) {
    const { live, current } = await this.require()
    const { graph } = live.seg
    const input: ReviewInput = {
      graph,
      history: live.seg.history,
      threshold: current.threshold,
      segmentOfNode: this.segmentsOfNodes(graph),
      skip: new Set(this.project.frozen().segments),
      fragments: live.seg.fragments,
    }
    return reviewQueue(input, limit)
  }

  /** The segmentation of the current run in memory, loaded from the cache and its affinities first when needed. */
  private async require(): Promise<{ live: Live; current: Current }> {
    for (;;) {
      const current = this.current()
      if (!current) throw new StudioError('conflict', 'no automatic segmentation in this project; run segment.run first')
      if (this.live?.key === affinityKey(current)) return { live: this.live, current }
      // Concurrent calls share one load; each then checks again that it matches the store.
      this.loading ??= this.load(current).finally(() => (this.loading = null))
      await this.loading
    }
  }

  private async load(current: Current): Promise<void> {
    const fragments = await this.fragmentLabels()
    const file = current.affinities
    if (!existsSync(file)) {
      throw new StudioError(
        'not_found',
        `${file}: the affinities of segmentation run ${current.runId} are missing. Derived data is a cache that can be rebuilt: run segment.run again (on the image, or with an affinity file) to rebuild it; every stored edit is kept`,
        { file },
      )
    }
    const affinities = await readAffinities(file, current.dataset)
    if (!sameShape(fragments.shape, affinities.shape)) {
      throw new StudioError('bad_format', `${file}: affinities of ${affinities.shape.join('x')} do not match the project's fragments of ${fragments.shape.join('x')}`, { file })
    }
    this.live = { seg: await Segmentation.fromFragments(fragments, affinities), key: affinityKey(current) }
    this.constrained = null
  }

  /** The run of the newest applied automatic edit, else the base run (null: no segmentation yet). */
  private current(): Current | null {
    const version = this.log.version()
    if (this.shown?.version === version) return this.shown.current
    const base = this.baseRun()
    if (!base) return null
    let run = base
    for (let before: number | undefined; ; ) {
      const page = this.project.history({ limit: 100, ...(before === undefined ? {} : { before }) })
      const auto = page.find((e) => e.state === 'applied' && e.origin === 'auto' && e.runId !== undefined)
      if (auto) {
        run = getSegmentationRun(this.project.db, auto.runId as number)
        break
      }
      if (page.length < 100) break
      before = page[page.length - 1].id
    }
    this.shown = { current: describeRun(run), version }
    return this.shown.current
  }

  private baseRun(): SegmentationRun | null {
    const { baseRunId } = this.log.counters()
    return baseRunId === null ? null : getSegmentationRun(this.project.db, baseRunId)
  }

  /** Opens the cached fragment volume of the base run and registers it with the engine, once. */
  private async openFragments(): Promise<Fragments> {
    if (this.fragments) return this.fragments
    const { path, mode } = baseFiles(this.baseRun() as SegmentationRun)
    if (!existsSync(path)) {
      throw new StudioError(
        'not_found',
        `${path}: the project's cached fragments are missing. Derived data is a cache that can be rebuilt: run segment.run again with the same affinities (or on the same image) to rebuild it; every stored edit is kept`,
        { file: path },
      )
    }
    const source = await openVolume(path)
    // Another call may have opened them meanwhile: keep one registered volume.
    if (this.fragments) {
      await source.close()
      return this.fragments
    }
    this.fragments = { path, mode, info: this.register(source), source, labels: null }
    return this.fragments
  }

  private async fragmentLabels(): Promise<LabelVolume> {
    const fragments = await this.openFragments()
    if (!fragments.labels) {
      const { source } = fragments
      fragments.labels = { data: asLabelArray(await source.read({ start: [0, 0, 0], stop: source.shape }), fragments.path), shape: source.shape }
    }
    return fragments.labels
  }

  /** Refuses rebuilt fragments that are not the ones the base assignment (and so every edit) refers to. */
  private checkSameFragments(seg: Segmentation, affinities: string, cache: string): void {
    const base = this.project.baseAssignment().fragments
    const ids = seg.graph.ids
    const same = ids.length === base.length && base.every((f, i) => idNumber(ids[i]) === f)
    if (!same) {
      throw new StudioError(
        'conflict',
        `${affinities}: these affinities give ${ids.length} fragments, not the ${base.length} of this project's segmentation, so the missing cache ${cache} cannot be rebuilt from them; use the affinities of the first run`,
        { file: affinities },
      )
    }
  }

  /**
   * Applies the fragments whose segment changes under a new run record; when none does, makes no
   * run and no edit, and remembers the request as current until the store changes.
   */
  private applyOrRemember(run: SegmentationRunSpec, a: { fragments: Float64Array; segments: Float64Array }, next: Omit<Current, 'runId'>): { edit: EditRecord | null; changed: number } {
    const current = this.project.assignment()
    const f: number[] = []
    const s: number[] = []
    // Both lists are sorted by fragment: one merge walk.
    for (let i = 0, j = 0; i < a.fragments.length; i++) {
      while (j < current.fragments.length && current.fragments[j] < a.fragments[i]) j++
      const now = j < current.fragments.length && current.fragments[j] === a.fragments[i] ? current.segments[j] : 0
      if (now !== a.segments[i]) {
        f.push(a.fragments[i])
        s.push(a.segments[i])
      }
    }
    if (f.length === 0) {
      const runId = (this.current() as Current).runId
      this.shown = { current: { ...next, runId }, version: this.log.version() }
      return { edit: null, changed: 0 }
    }
    const runId = this.project.addSegmentationRun(run)
    return { edit: this.project.applyRun(runId, f, s), changed: f.length }
  }

  /** The project's current segment of each region-graph node (0: none). */
  private segmentsOfNodes(graph: RegionGraph): Float64Array {
    const current = this.project.assignment()
    const out = new Float64Array(graph.ids.length)
    for (let i = 0, j = 0; i < out.length; i++) {
      const id = idNumber(graph.ids[i])
      while (j < current.fragments.length && current.fragments[j] < id) j++
      if (j < current.fragments.length && current.fragments[j] === id) out[i] = current.segments[j]
    }
    return out
  }

  /**
   * The assignment of every fragment that is not in a reviewed or locked segment, at `threshold`.
   * Frozen fragments are left out (they keep their segment) and act as walls: the agglomeration is
   * redone without their edges, so nothing merges into or through a reviewed segment. Segments
   * are named by their smallest fragment id, renamed when that id names a frozen segment.
   */
  private async assignmentAt(seg: Segmentation, threshold: number): Promise<{ fragments: Float64Array; segments: Float64Array }> {
    const graph = seg.graph
    const n = graph.ids.length
    const frozen = this.project.info().labelShape === null ? null : this.project.frozen()
    const wall = new Uint8Array(n)
    let walls = 0
    for (const f of frozen?.fragments ?? []) {
      const node = nodeOf(graph, f)
      if (node >= 0 && !wall[node]) {
        wall[node] = 1
        walls++
      }
    }
    let roots: Uint32Array
    if (walls === 0) roots = seg.history.rootsAt(threshold)
    else {
      const key = `${n}:${[...(frozen?.fragments ?? [])].join(',')}`
      if (this.constrained?.key !== key) this.constrained = { key, history: await agglomerate(withoutEdgesOf(graph, wall)) }
      roots = this.constrained.history.rootsAt(threshold)
    }
    const frozenSegments = new Set(frozen?.segments ?? [])
    const renamed = new Map<number, number>()
    let fresh = 0
    if (frozenSegments.size > 0) {
      const current = this.project.assignment()
      for (const v of current.segments) fresh = Math.max(fresh, v)
      fresh = Math.max(fresh, idNumber(graph.ids[n - 1]))
    }
    const fragments = new Float64Array(n - walls)
    const segments = new Float64Array(n - walls)
    for (let i = 0, k = 0; i < n; i++) {
      if (wall[i]) continue
      let s = idNumber(graph.ids[roots[i]])
      if (frozenSegments.has(s)) {
        let r = renamed.get(s)
        if (r === undefined) renamed.set(s, (r = ++fresh))
        s = r
      }
      fragments[k] = idNumber(graph.ids[i])
      segments[k++] = s
    }
    return { fragments, segments }
  }
}

/** Where the project's fragments are cached and how they were made: the base run's record. */
function baseFiles(base: SegmentationRun): { path: string; mode: '2d' | '3d' } {
  const { fragments, mode } = base.params
  if (typeof fragments !== 'string') {
    throw new StudioError('conflict', `segmentation run ${base.id} (this project's first) does not say where its fragments are cached: it was not made by segment.run, so there is no automatic segmentation to work with`)
  }
  return { path: fragments, mode: mode === '3d' ? '3d' : '2d' }
}

/** The run record's params for a run that scores with `c`'s affinities. */
function runParams(c: Omit<Current, 'runId'>, fragments: string): Record<string, unknown> {
  return { affinities: c.affinities, ...(c.dataset === undefined ? {} : { dataset: c.dataset }), fragments, ...(c.model ? { model: c.model } : {}) }
}

function describeRun(run: SegmentationRun): Current {
  const { affinities, dataset, model } = run.params as { affinities?: unknown; dataset?: unknown; model?: Current['model'] }
  const threshold = run.thresholds.merge
  if (typeof affinities !== 'string' || typeof threshold !== 'number') {
    throw new StudioError('conflict', `segmentation run ${run.id} does not record its affinities and threshold: it was not made by segment.run`)
  }
  return { runId: run.id, threshold, affinities, ...(typeof dataset === 'string' ? { dataset } : {}), ...(model ? { model } : {}) }
}

/** Runs with the same key score the fragments the same way (same region graph and merge history). */
function affinityKey(c: Omit<Current, 'runId'>): string {
  return JSON.stringify([c.affinities, c.dataset ?? null])
}

function checkThreshold(t: number): number {
  if (typeof t !== 'number' || !(t >= 0 && t <= 1)) throw new StudioError('bad_input', `threshold must be a number in [0, 1], not ${t}`)
  return t
}

function sameShape(a: Vec3, b: Vec3): boolean {
  return a[0] === b[0] && a[1] === b[1] && a[2] === b[2]
}

/** Writes fragments to the cache at `path` and opens them; nothing stays behind on failure. */
function writeFragments(path: string, fragments: LabelVolume, affinities: Affinities & { voxelSize?: Vec3 }): Promise<VolumeSource> {
  return cleanOnFailure(path, async () => {
    await writeVolume(path, fragments.data, fragments.shape, fragments.data instanceof Uint32Array ? 'uint32' : 'uint64', affinities.voxelSize ? { voxelSize: affinities.voxelSize } : {})
    return openVolume(path)
  })
}

async function cleanOnFailure<T>(path: string, make: () => Promise<T>): Promise<T> {
  try {
    return await make()
  } catch (err) {
    rmSync(path, { recursive: true, force: true })
    throw err
  }
}

/** The region graph with every edge that touches a marked node removed (nodes stay, isolated). */
function withoutEdgesOf(g: RegionGraph, marked: Uint8Array): RegionGraph {
  const keep: number[] = []
  let links = 0
  for (let e = 0; e < g.u.length; e++) {
    if (marked[g.u[e]] || marked[g.v[e]]) continue
    keep.push(e)
    links += g.contacts[e]
  }
  const pick = <T extends Uint32Array | Float32Array>(a: T, make: (n: number) => T) => {
    const out = make(keep.length)
    keep.forEach((e, k) => (out[k] = a[e]))
    return out
  }
  const binOffsets = new Float64Array(keep.length + 1)
  const bins = new Uint8Array(links)
  keep.forEach((e, k) => {
    bins.set(g.bins.subarray(g.binOffsets[e], g.binOffsets[e + 1]), binOffsets[k])
    binOffsets[k + 1] = binOffsets[k] + g.contacts[e]
  })
  return {
    ids: g.ids,
    voxels: g.voxels,
    u: pick(g.u, (n) => new Uint32Array(n)),
    v: pick(g.v, (n) => new Uint32Array(n)),
    contacts: pick(g.contacts, (n) => new Uint32Array(n)),
    meanAffinity: pick(g.meanAffinity, (n) => new Float32Array(n)),
    medianAffinity: pick(g.medianAffinity, (n) => new Float32Array(n)),
    binOffsets,
    bins,
  }
}

/** The box around every voxel of `members`, one voxel wider on each side where the volume allows. */
function boundingBox(fragments: LabelVolume, members: Set<number>): Box3 {
  const [Z, Y, X] = fragments.shape
  const lo = [Z, Y, X]
  const hi = [-1, -1, -1]
  const data = fragments.data
  for (let z = 0, i = 0; z < Z; z++) {
    for (let y = 0; y < Y; y++) {
      for (let x = 0; x < X; x++, i++) {
        if (!members.has(idNumber(data[i]))) continue
        if (z < lo[0]) lo[0] = z
        if (z > hi[0]) hi[0] = z
        if (y < lo[1]) lo[1] = y
        if (y > hi[1]) hi[1] = y
        if (x < lo[2]) lo[2] = x
        if (x > hi[2]) hi[2] = x
      }
    }
  }
  return {
    start: [Math.max(0, lo[0] - 1), Math.max(0, lo[1] - 1), Math.max(0, lo[2] - 1)],
    stop: [Math.min(Z, hi[0] + 2), Math.min(Y, hi[1] + 2), Math.min(X, hi[2] + 2)],
  }
}

function boxShape(box: Box3): Vec3 {
  return [box.stop[0] - box.start[0], box.stop[1] - box.start[1], box.stop[2] - box.start[2]]
}

/** Copies `box` out of each of `channels` stacked (z, y, x) volumes of `shape`. */
function cropInto<T extends { length: number; set(a: ArrayLike<unknown>, o?: number): void; subarray(a: number, b: number): T }>(src: T, out: T, shape: Vec3, box: Box3, channels: number): void {
  const [Z, Y, X] = shape
  const bx = box.stop[2] - box.start[2]
  let k = 0
  for (let c = 0; c < channels; c++) {
    for (let z = box.start[0]; z < box.stop[0]; z++) {
      for (let y = box.start[1]; y < box.stop[1]; y++) {
        const from = ((c * Z + z) * Y + y) * X + box.start[2]
        out.set(src.subarray(from, from + bx) as unknown as ArrayLike<unknown>, k)
        k += bx
      }
    }
  }
}

function cropLabels(v: LabelVolume, box: Box3): LabelVolume {
  const shape = boxShape(box)
  const n = shape[0] * shape[1] * shape[2]
  const data = v.data instanceof Uint32Array ? new Uint32Array(n) : new BigUint64Array(n)
  cropInto(v.data as Uint32Array, data as Uint32Array, v.shape, box, 1)
  return { data, shape }
}

function cropAffinities(a: Affinities, box: Box3): Affinities {
  const shape = boxShape(box)
  const n = shape[0] * shape[1] * shape[2]
  const data = a.data instanceof Uint8Array ? new Uint8Array(3 * n) : new Float32Array(3 * n)
  cropInto(a.data as Uint8Array, data as Uint8Array, a.shape, box, 3)
  return { data, shape }
}

/** Linear indices in the whole volume of the voxels labelled `id` in a crop at `box`. */
function voxelsOf(local: LabelVolume, box: Box3, shape: Vec3, id: number): Float64Array {
  const [bz, by, bx] = local.shape
  const out: number[] = []
  for (let z = 0, i = 0; z < bz; z++) {
    for (let y = 0; y < by; y++) {
      for (let x = 0; x < bx; x++, i++) {
        if (idNumber(local.data[i]) === id) out.push(((z + box.start[0]) * shape[1] + y + box.start[1]) * shape[2] + x + box.start[2])
      }
    }
  }
  return Float64Array.from(out)
}
