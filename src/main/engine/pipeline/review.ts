/**
 * The review queue: segments ranked by how likely they are wrong, from what the automatic
 * segmentation itself knows.
 *
 * Score of a segment, in [0, 1], the largest of:
 * - decisions near the threshold t: every agglomeration step k of the merge history has a score
 *   s_k (1 - median boundary affinity). A step whose two sides are now in the same segment is a
 *   merge that may be false ('merge near threshold'); a step whose sides are in different segments
 *   is a split that may be false ('split near threshold', for both segments). Its doubt is
 *   closeness(s_k) = max(0, 1 - |s_k - t| / DECISION_BAND): 1 at the threshold, 0 a band away.
 * - low-confidence boundaries ('uncertain boundary'): on every region-graph edge between two
 *   segments with at least MIN_CONTACT links, the mean affinity m of all its links; a boundary the
 *   network neither clearly closes (m near 0) nor opens (m near 1) scores
 *   BOUNDARY_WEIGHT * (1 - 2 |m - 0.5|), weighted below decisions, which use the scoring itself.
 * Reviewed and locked segments and segment 0 are left out. Each entry names the fragment where the
 * doubt lies, and `at` is that fragment's centroid voxel.
 */
import type { ReviewItem } from '../../../shared/api/segment'
import type { Vec3 } from '../../../shared/types'
import type { MergeHistory, RegionGraph } from '../segment'
import type { LabelVolume } from '../segment/types'
import { idNumber } from '../segment/validate'

export const DECISION_BAND = 0.25
export const BOUNDARY_WEIGHT = 0.8
export const MIN_CONTACT = 8

export interface ReviewInput {
  graph: RegionGraph
  history: MergeHistory
  threshold: number
  /** The project's current segment of each region-graph node. */
  segmentOfNode: Float64Array
  /** Segments not to list (reviewed, locked). */
  skip: Set<number>
  fragments: LabelVolume
}

type Candidate = Omit<ReviewItem, 'at'> & { node: number }

export function reviewQueue(input: ReviewInput, limit: number): ReviewItem[] {
  const { graph, history, threshold: t, segmentOfNode: seg, skip } = input
  const best = new Map<number, Candidate>()
  const offer = (c: Candidate) => {
    if (c.segment === 0 || skip.has(c.segment) || c.score <= 0) return
    const old = best.get(c.segment)
    if (!old || c.score > old.score) best.set(c.segment, c)
  }
  for (let k = 0; k < history.length; k++) {
    const s = history.score[k]
    const score = Math.max(0, 1 - Math.abs(s - t) / DECISION_BAND)
    if (score === 0) continue
    const [a, b] = [history.a[k], history.b[k]]
    if (seg[a] === seg[b]) offer({ segment: seg[a], score, reason: 'merge near threshold', value: s, node: a })
    else {
      offer({ segment: seg[a], score, reason: 'split near threshold', partner: seg[b], value: s, node: a })
      offer({ segment: seg[b], score, reason: 'split near threshold', partner: seg[a], value: s, node: b })
    }
  }
  for (let e = 0; e < graph.u.length; e++) {
    const [a, b] = [graph.u[e], graph.v[e]]
    if (seg[a] === seg[b] || graph.contacts[e] < MIN_CONTACT) continue
    const m = graph.meanAffinity[e]
    const score = BOUNDARY_WEIGHT * (1 - 2 * Math.abs(m - 0.5))
    offer({ segment: seg[a], score, reason: 'uncertain boundary', partner: seg[b], value: m, node: a })
    offer({ segment: seg[b], score, reason: 'uncertain boundary', partner: seg[a], value: m, node: b })
  }
  const ranked = [...best.values()].sort((x, y) => y.score - x.score || x.segment - y.segment).slice(0, Math.max(0, limit))
  const at = centroids(input.fragments, new Set(ranked.map((c) => idNumber(graph.ids[c.node]))))
  return ranked.map(({ node, ...item }) => ({ ...item, at: at.get(idNumber(graph.ids[node])) ?? [0, 0, 0] }))
}

/** Centroid voxel (rounded) of each fragment in `ids`, in one pass over the volume. */
function centroids(fragments: LabelVolume, ids: Set<number>): Map<number, Vec3> {
  const sums = new Map<number, [number, number, number, number]>()
  const [Z, Y, X] = fragments.shape
  const data = fragments.data
  for (let z = 0, i = 0; z < Z; z++) {
    for (let y = 0; y < Y; y++) {
      for (let x = 0; x < X; x++, i++) {
        const id = idNumber(data[i])
        if (!ids.has(id)) continue
        let s = sums.get(id)
        if (!s) sums.set(id, (s = [0, 0, 0, 0]))
        s[0] += z
        s[1] += y
        s[2] += x
        s[3]++
      }
    }
  }
  const out = new Map<number, Vec3>()
  for (const [id, s] of sums) out.set(id, [Math.round(s[0] / s[3]), Math.round(s[1] / s[3]), Math.round(s[2] / s[3])])
  return out
}
