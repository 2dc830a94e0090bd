/**
 * The region graph of a fragment volume: nodes are fragments, edges join touching fragments and
 * carry the affinities of the links between them (native/src/region_graph.cc documents it).
 */
import type { Box3 } from '../../../shared/types'
import { native } from '../native'
import type { Affinities, LabelArray, LabelVolume } from './types'
import { checkAffinities, checkBox, checkLabels, checkSameShape, idNumber, nativeCall } from './validate'

export interface RegionGraph {
  /** Node i is fragment ids[i]; ascending. */
  ids: LabelArray
  /** Voxels of each node (inside the box the graph was built on). */
  voxels: Float64Array
  /** Edge endpoints as node indices, u < v. */
  u: Uint32Array
  v: Uint32Array
  /** Links (voxel faces) between the two fragments: their contact area. */
  contacts: Uint32Array
  meanAffinity: Float32Array
  /** Median from the 256-bin histogram, as (bin + 0.5) / 256. */
  medianAffinity: Float32Array
  /** Edge e's links' histogram bins, ascending: bins[binOffsets[e] .. binOffsets[e + 1]). */
  binOffsets: Float64Array
  bins: Uint8Array
}

export async function buildRegionGraph(fragments: LabelVolume, affinities: Affinities, box?: Box3): Promise<RegionGraph> {
  checkLabels(fragments, 'fragments')
  checkAffinities(affinities)
  checkSameShape(fragments.shape, affinities.shape, 'fragments and affinities')
  const b = box ? checkBox(box, fragments.shape, 'region graph') : undefined
  return nativeCall(() => native().regionGraph(fragments.data, affinities.data, fragments.shape, b))
}

/** Node index of fragment `id` (binary search over the sorted ids), or -1. */
export function nodeOf(graph: Pick<RegionGraph, 'ids'>, id: number): number {
  const ids = graph.ids
  let lo = 0
  let hi = ids.length - 1
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1
    const m = idNumber(ids[mid])
    if (m === id) return mid
    if (m < id) lo = mid + 1
    else hi = mid - 1
  }
  return -1
}
