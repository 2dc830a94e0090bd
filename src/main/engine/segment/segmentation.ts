/**
 * A segmentation the UI can work with: the fragments, their region graph and the merge history.
 * Changing the threshold is a union-find over a prefix of the history (no native work), so a
 * threshold slider is instant; the label volume at a threshold is one native pass.
 */
import { StudioError } from '../../../shared/errors'
import type { Box3, Vec3 } from '../../../shared/types'
import { agglomerate, type MergeHistory, type Scoring } from './agglomerate'
import { computeFragments, type FragmentOptions } from './fragments'
import { buildRegionGraph, nodeOf, type RegionGraph } from './graph'
import { mapLabels } from './labels'
import { splitSegment, type SplitResult } from './split'
import type { Affinities, LabelArray, LabelVolume } from './types'
import { allocateLabels, checkAffinities, checkLabels, checkSameShape, idNumber, labelTypeOf } from './validate'

/** The paper's agglomeration threshold. */
export const DEFAULT_THRESHOLD = 0.5

export interface SegmentOptions extends FragmentOptions {
  scoring?: Scoring
}

export class Segmentation {
  private cachedThreshold = NaN
  private cachedRoots: Uint32Array = new Uint32Array(0)

  private constructor(
    readonly affinities: Affinities,
    /** Changed in place only by `split`, which cuts fragments. */
    readonly fragments: LabelVolume,
    private graphState: RegionGraph,
    private historyState: MergeHistory,
  ) {}

  /** Fragments, region graph and the full merge history from affinities. */
  static async fromAffinities(affinities: Affinities, options: SegmentOptions = {}): Promise<Segmentation> {
    const { fragments } = await computeFragments(affinities, options)
    return Segmentation.fromFragments(fragments, affinities, options.scoring)
  }

  /** Region graph and merge history over existing fragments. */
  static async fromFragments(fragments: LabelVolume, affinities: Affinities, scoring: Scoring = 'waterz'): Promise<Segmentation> {
    checkLabels(fragments, 'fragments')
    checkAffinities(affinities)
    checkSameShape(fragments.shape, affinities.shape, 'fragments and affinities')
    const graph = await buildRegionGraph(fragments, affinities)
    return new Segmentation(affinities, fragments, graph, await agglomerate(graph, scoring))
  }

  get shape(): Vec3 {
    return this.fragments.shape
  }

  get graph(): RegionGraph {
    return this.graphState
  }

  get history(): MergeHistory {
    return this.historyState
  }

  /**
   * The fragment -> segment map at `threshold`: `fragments` are the fragment ids (ascending) and
   * segments[i] the segment of fragments[i], named by its smallest fragment id.
   */
  fragmentMap(threshold = DEFAULT_THRESHOLD): { fragments: LabelArray; segments: LabelArray } {
    const ids = this.graphState.ids
    const roots = this.roots(threshold)
    const segments = allocateLabels(labelTypeOf(ids), ids.length)
    for (let i = 0; i < ids.length; i++) segments[i] = ids[roots[i]]
    return { fragments: ids, segments }
  }

  /** The segment fragment `fragmentId` belongs to at `threshold`. */
  segmentOf(fragmentId: number, threshold = DEFAULT_THRESHOLD): number {
    return idNumber(this.graphState.ids[this.roots(threshold)[this.node(fragmentId)]])
  }

  /** The fragments of the segment named `segmentId` (any of its fragment ids) at `threshold`. */
  fragmentsOf(segmentId: number, threshold = DEFAULT_THRESHOLD): number[] {
    const roots = this.roots(threshold)
    const root = roots[this.node(segmentId)]
    const out: number[] = []
    for (let i = 0; i < roots.length; i++) if (roots[i] === root) out.push(idNumber(this.graphState.ids[i]))
    return out
  }

  /** The label volume at `threshold` (segment ids as in fragmentMap), into `out` when given. */
  async labels(threshold = DEFAULT_THRESHOLD, out?: LabelArray): Promise<LabelVolume> {
    const data = out ?? allocateLabels(labelTypeOf(this.fragments.data), this.fragments.data.length)
    if (data.length !== this.fragments.data.length) throw new StudioError('bad_input', 'labels: output length differs from the volume')
    const map = this.fragmentMap(threshold)
    await mapLabels(this.fragments.data, map.fragments, map.segments, data)
    return { data, shape: this.shape }
  }

  /**
   * Splits the segment made of `fragmentIds` between two or more groups of seed voxels (z, y, x),
   * cutting along the weakest affinities (split.ts). Fragments holding seeds of several groups are
   * cut voxel by voxel first, which rewrites them in `fragments` and updates the region graph.
   */
  split(fragmentIds: number[], seeds: Vec3[][]): Promise<SplitResult> {
    return splitSegment(this, fragmentIds, seeds)
  }

  /** Node index of a fragment id, or a clear error. */
  node(fragmentId: number): number {
    const n = nodeOf(this.graphState, fragmentId)
    if (n < 0) throw new StudioError('bad_input', `no fragment with id ${fragmentId}`)
    return n
  }

  /**
   * Replaces the graph's view of the fragments `ids` (some of them new) by a region graph built
   * on `box`, which must hold every voxel of those fragments with a margin of one voxel.
   */
  async refreshFragments(ids: number[], box: Box3): Promise<void> {
    const local = await buildRegionGraph(this.fragments, this.affinities, box)
    const g = this.graphState
    const fresh = ids.filter((id) => nodeOf(g, id) < 0).sort((a, b) => a - b)
    const wide = g.ids instanceof BigUint64Array
    const nodes = g.ids.length + fresh.length
    const allIds = allocateLabels(wide ? 'uint64' : 'uint32', nodes)
    allIds.set(g.ids as never)
    fresh.forEach((id, k) => (allIds[g.ids.length + k] = wide ? BigInt(id) : id))
    const next: Pick<RegionGraph, 'ids'> = { ids: allIds }
    const touched = new Uint8Array(nodes)
    const voxels = new Float64Array(nodes)
    voxels.set(g.voxels)
    const localNode = (i: number) => nodeOf(next, idNumber(local.ids[i]))
    for (const id of ids) {
      const n = nodeOf(next, id)
      touched[n] = 1
      const l = nodeOf(local, id)
      voxels[n] = l < 0 ? 0 : local.voxels[l]
    }
    const keep: number[] = []
    for (let e = 0; e < g.u.length; e++) if (!touched[g.u[e]] && !touched[g.v[e]]) keep.push(e)
    const add: number[] = []
    for (let e = 0; e < local.u.length; e++) if (touched[localNode(local.u[e])] || touched[localNode(local.v[e])]) add.push(e)

    const count = keep.length + add.length
    const u = new Uint32Array(count)
    const v = new Uint32Array(count)
    const contacts = new Uint32Array(count)
    const meanAffinity = new Float32Array(count)
    const medianAffinity = new Float32Array(count)
    const binOffsets = new Float64Array(count + 1)
    let links = 0
    for (const e of keep) links += g.contacts[e]
    for (const e of add) links += local.contacts[e]
    const bins = new Uint8Array(links)
    let k = 0
    const put = (from: RegionGraph, e: number, a: number, b: number) => {
      u[k] = Math.min(a, b)
      v[k] = Math.max(a, b)
      contacts[k] = from.contacts[e]
      meanAffinity[k] = from.meanAffinity[e]
      medianAffinity[k] = from.medianAffinity[e]
      bins.set(from.bins.subarray(from.binOffsets[e], from.binOffsets[e + 1]), binOffsets[k])
      binOffsets[k + 1] = binOffsets[k] + from.contacts[e]
      k++
    }
    for (const e of keep) put(g, e, g.u[e], g.v[e])
    for (const e of add) put(local, e, localNode(local.u[e]), localNode(local.v[e]))
    this.graphState = { ids: allIds, voxels, u, v, contacts, meanAffinity, medianAffinity, binOffsets, bins }
    this.historyState = this.historyState.withNodes(fresh.length)
    this.cachedThreshold = NaN
  }

  private roots(threshold: number): Uint32Array {
    if (threshold !== this.cachedThreshold || this.cachedRoots.length !== this.graphState.ids.length) {
      this.cachedRoots = this.historyState.rootsAt(threshold, new Uint32Array(this.graphState.ids.length))
      this.cachedThreshold = threshold
    }
    return this.cachedRoots
  }
}
