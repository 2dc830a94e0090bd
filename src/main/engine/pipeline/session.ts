/**
 * The open project's automatic segmentation, live: affinities -> fragments -> region graph and
 * merge history, kept in memory so that a new threshold, a split preview and the review queue need
 * no voxel work. Every result goes into the store (Project) as a run, the base assignment or an
 * automatic edit, so undo and the review contract (reviewed and locked segments are never changed
 * by anything automatic) hold for all of it.
 */
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import type { SegmentationSummary, SplitPreview } from '../../../shared/api/segment'
import { StudioError } from '../../../shared/errors'
import type { Box3, EditRecord, Vec3 } from '../../../shared/types'
import { openVolume } from '../io/open'
import type { VolumeSource } from '../io/volume'
import { writeVolume } from '../io/write'
import type { JobContext } from '../jobs/runner'
import { agglomerate, computeFragments, DEFAULT_THRESHOLD, nodeOf, Segmentation, type MergeHistory, type RegionGraph } from '../segment'
import { readAffinities } from '../segment/files'
import type { Affinities, LabelVolume } from '../segment/types'
import { idNumber } from '../segment/validate'
import { CACHE_DIR, type Project } from '../store/project'
import type { SegmentationRunSpec } from '../store/runs'
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

interface Live {
  seg: Segmentation
  summary: SegmentationSummary
  source: VolumeSource
}

export class SegmentationSession {
  private live: Live | null = null
  /** Merge history without the edges of reviewed/locked fragments, for the frozen set `key`. */
  private constrained: { key: string; history: MergeHistory } | null = null

  constructor(
    readonly project: Project,
    /** Registers an opened volume with the engine and returns its VolumeInfo. */
    private readonly register: (source: VolumeSource) => SegmentationSummary['fragments'],
  ) {}

  summary(): SegmentationSummary | null {
    return this.live && { ...this.live.summary, segmentCount: this.project.info().segments }
  }

  /**
   * Segments the project from an affinity file (the job body of 'segment.run'). The first run makes
   * fragments, writes them to the project cache and sets the base assignment; later runs keep those
   * fragments and apply the new agglomeration as one automatic edit. Everything before the final
   * synchronous commit can be cancelled and then leaves the project and its cache as they were.
   */
  async segment(spec: SegmentSpec, ctx: JobContext): Promise<SegmentationSummary> {
    const threshold = checkThreshold(spec.threshold ?? DEFAULT_THRESHOLD)
    const mode = spec.fragments ?? '2d'
    const hasBase = this.project.info().labelShape !== null
    if (hasBase && !this.live) {
      throw new StudioError('conflict', 'this project was segmented in an earlier session; its fragments are not loaded, so a new run cannot be applied to them')
    }
    ctx.progress(0, 'reading affinities')
    const affinities = await readAffinities(spec.affinities, spec.dataset)
    ctx.throwIfCancelled()
    let seg: Segmentation
    let written: string | null = null
    let source: VolumeSource
    if (this.live) {
      const fragments = this.live.seg.fragments
      if (!sameShape(fragments.shape, affinities.shape)) {
        throw new StudioError('bad_input', `${spec.affinities}: affinities of ${affinities.shape.join('x')} do not match the project's fragments of ${fragments.shape.join('x')}`, { file: spec.affinities })
      }
      ctx.progress(0.2, 'region graph and agglomeration on the project fragments')
      seg = await Segmentation.fromFragments(fragments, affinities)
      source = this.live.source
    } else {
      ctx.progress(0.05, `fragments (${mode} watershed)`)
      const { fragments } = await computeFragments(affinities, { mode })
      ctx.progress(0.45, 'region graph and agglomeration')
      seg = await Segmentation.fromFragments(fragments, affinities)
      ctx.progress(0.75, 'writing fragments to the project cache')
      written = join(this.project.dir, CACHE_DIR, `fragments-${Date.now()}.zarr`)
      const file = written
      source = await cleanOnFailure(file, async () => {
        await writeVolume(file, fragments.data, fragments.shape, fragments.data instanceof Uint32Array ? 'uint32' : 'uint64', affinities.voxelSize ? { voxelSize: affinities.voxelSize } : {})
        return openVolume(file)
      })
    }
    try {
      ctx.progress(0.95, 'recording the run')
      this.constrained = null
      const assignment = await this.assignmentAt(seg, threshold)
      ctx.throwIfCancelled()
      // From here on no await: the commit and the new state happen together or not at all.
      const run: SegmentationRunSpec = {
        thresholds: { merge: threshold },
        params: { affinities: spec.affinities, fragments: written ?? this.live?.summary.fragments.path, mode, ...(spec.model ? { model: spec.model } : {}) },
        labelShape: seg.shape,
      }
      let runId: number
      if (this.live) runId = this.applyIfChanged(run, assignment).runId ?? this.live.summary.runId
      else {
        runId = this.project.addSegmentationRun(run)
        this.project.setBaseAssignment(runId, assignment.fragments, assignment.segments)
      }
      const fragmentsInfo = this.live ? this.live.summary.fragments : this.register(source)
      this.live = {
        seg,
        source,
        summary: {
          runId,
          threshold,
          fragmentMode: this.live?.summary.fragmentMode ?? mode,
          fragments: fragmentsInfo,
          fragmentCount: seg.graph.ids.length,
          segmentCount: 0,
          affinities: spec.affinities,
          ...(spec.model ? { model: spec.model } : {}),
        },
      }
    } catch (err) {
      if (written) {
        await source.close()
        rmSync(written, { recursive: true, force: true })
      }
      throw err
    }
    return this.summary() as SegmentationSummary
  }

  /** Re-agglomerates at `threshold` (a prefix of the merge history) and applies it as one automatic edit. */
  async setThreshold(threshold: number): Promise<{ threshold: number; edit: EditRecord | null; changedFragments: number; segments: number; ms: number }> {
    const live = this.require()
    const t0 = performance.now()
    checkThreshold(threshold)
    const assignment = await this.assignmentAt(live.seg, threshold)
    const { runId, edit, changed } = this.applyIfChanged(
      {
        thresholds: { merge: threshold },
        params: { parentRun: live.summary.runId, affinities: live.summary.affinities, fragments: live.summary.fragments.path },
        labelShape: live.seg.shape,
      },
      assignment,
    )
    live.summary = { ...live.summary, runId: runId ?? live.summary.runId, threshold }
    return { threshold, edit, changedFragments: changed, segments: this.project.info().segments, ms: performance.now() - t0 }
  }

  /**
   * The split seeds would make of `segment`: a seeded watershed on its fragments' region graph,
   * cutting fragments that hold seeds of both colours voxel by voxel. Works on a copy of the
   * segment's bounding box, so nothing in the session or the project changes.
   */
  async splitPreview(segment: number, seeds: { red: Vec3[]; blue: Vec3[] }): Promise<SplitPreview> {
    const live = this.require()
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
  reviewQueue(limit = 50) {
    const live = this.require()
    const { graph } = live.seg
    const segmentOfNode = this.segmentsOfNodes(graph)
    const input: ReviewInput = {
      graph,
      history: live.seg.history,
      threshold: live.summary.threshold,
      segmentOfNode,
      skip: new Set(this.project.frozen().segments),
      fragments: live.seg.fragments,
    }
    return reviewQueue(input, limit)
  }

  private require(): Live {
    if (!this.live) throw new StudioError('conflict', 'no automatic segmentation in this session; run segment.run first')
    return this.live
  }

  /** applyRun of the fragments whose segment changes, under a new run record; no run and no edit when none does. */
  private applyIfChanged(run: SegmentationRunSpec, a: { fragments: Float64Array; segments: Float64Array }): { runId: number | null; edit: EditRecord | null; changed: number } {
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
    if (f.length === 0) return { runId: null, edit: null, changed: 0 }
    const runId = this.project.addSegmentationRun(run)
    return { runId, edit: this.project.applyRun(runId, f, s), changed: f.length }
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

function checkThreshold(t: number): number {
  if (typeof t !== 'number' || !(t >= 0 && t <= 1)) throw new StudioError('bad_input', `threshold must be a number in [0, 1], not ${t}`)
  return t
}

function sameShape(a: Vec3, b: Vec3): boolean {
  return a[0] === b[0] && a[1] === b[1] && a[2] === b[2]
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
