/**
 * Agglomeration: the native code merges fragments over the region graph once, all the way, and
 * keeps every merge in order (a dendrogram). The segmentation at any threshold is then a prefix of
 * that history, read off here with a union-find: a threshold slider needs no native work.
 *
 * Score and threshold (native/src/agglomerate.cc has the details): the score of two touching
 * regions is 1 - the median affinity on their shared boundary, from a 256-bin histogram; regions
 * are merged while the lowest score is below the threshold. Threshold 0 keeps the fragments,
 * 1 merges every touching pair; the paper's default 0.5 merges while the median affinity is at
 * least 0.5.
 */
import { StudioError } from '../../../shared/errors'
import { native } from '../native'
import type { RegionGraph } from './graph'
import { nativeCall } from './validate'

/**
 * 'waterz' (default): what the paper ran, waterz's OneMinus<HistogramQuantileAffinity<.., 50, ..,
 * 256>> with its default InitWithMax, so an initial edge counts once, at its highest affinity, and a
 * merged edge scores 1 - the median of those. 'median': 1 - the median of every boundary link.
 */
export type Scoring = 'waterz' | 'median'

export class MergeHistory {
  /** Running maximum of the scores: merges in effect at threshold t are those before the first prefix max >= t. */
  private readonly prefixMax: Float64Array
  private parent: Int32Array

  /**
   * @param nodes number of region-graph nodes
   * @param a, b the two regions (node indices of members) merged at each step
   * @param score the score of each merge, in merge order
   */
  constructor(
    readonly nodes: number,
    readonly a: Uint32Array,
    readonly b: Uint32Array,
    readonly score: Float64Array,
  ) {
    if (a.length !== b.length || a.length !== score.length) throw new StudioError('bad_input', 'merge history: a, b and score differ in length')
    this.prefixMax = new Float64Array(score.length)
    let m = -Infinity
    for (let k = 0; k < score.length; k++) this.prefixMax[k] = m = Math.max(m, score[k])
    this.parent = new Int32Array(nodes)
  }

  get length(): number {
    return this.score.length
  }

  /** How many merges are in effect at `threshold`. */
  mergesAt(threshold: number): number {
    if (Number.isNaN(threshold)) throw new StudioError('bad_input', 'threshold is NaN')
    let lo = 0
    let hi = this.prefixMax.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (this.prefixMax[mid] < threshold) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  /**
   * For every node, the smallest node index of its segment at `threshold` (so a segment keeps its
   * name as the threshold rises, until it joins one with a smaller member).
   */
  rootsAt(threshold: number, out: Uint32Array = new Uint32Array(this.nodes)): Uint32Array {
    const parent = this.parent
    for (let i = 0; i < this.nodes; i++) parent[i] = i
    const find = (i: number): number => {
      while (parent[i] !== i) {
        parent[i] = parent[parent[i]]
        i = parent[i]
      }
      return i
    }
    const count = this.mergesAt(threshold)
    for (let k = 0; k < count; k++) {
      const ra = find(this.a[k])
      const rb = find(this.b[k])
      if (ra < rb) parent[rb] = ra
      else if (rb < ra) parent[ra] = rb
    }
    for (let i = 0; i < this.nodes; i++) out[i] = find(i)
    return out
  }

  /** The history with `extra` isolated nodes appended (fragments created by a split). */
  withNodes(extra: number): MergeHistory {
    return new MergeHistory(this.nodes + extra, this.a, this.b, this.score)
  }
}

export async function agglomerate(graph: RegionGraph, scoring: Scoring = 'waterz'): Promise<MergeHistory> {
  if (scoring !== 'waterz' && scoring !== 'median') throw new StudioError('bad_input', `scoring must be 'waterz' or 'median', not '${scoring}'`)
  const nodes = graph.ids.length
  const h = await nativeCall(() => native().agglomerate(nodes, graph.u, graph.v, graph.binOffsets, graph.bins, scoring))
  return new MergeHistory(nodes, h.a, h.b, h.score)
}
