/**
 * Seeded split of one segment into two or more parts.
 *
 * On the region graph restricted to the segment's fragments, each seed group grows from the
 * fragments holding its seeds, always across the strongest remaining edge (highest median
 * affinity), until every fragment is claimed: a seeded watershed on the graph, so the parts meet
 * along the weakest affinities. Fragments that no seed reaches (a segment in several pieces) join
 * group 0. A fragment holding seeds of several groups cannot be split this way; it is first cut
 * voxel by voxel (native/src/split.cc), and its pieces enter the graph as new fragments.
 */
import { StudioError } from '../../../shared/errors'
import type { Box3, Vec3 } from '../../../shared/types'
import { native } from '../native'
import type { Segmentation } from './segmentation'
import { allocateLabels, idIn, idNumber, labelTypeOf, nativeCall } from './validate'

export interface SplitResult {
  /** The segment's fragment ids, partitioned: groups[g] is what seed group g now holds. */
  groups: number[][]
  /** Fragments cut voxel by voxel: the old id and one piece per group seeded in it (the first keeps the old id). */
  cuts: Array<{ fragment: number; pieces: number[] }>
}

export async function splitSegment(seg: Segmentation, fragmentIds: number[], seeds: Vec3[][]): Promise<SplitResult> {
  const [Z, Y, X] = seg.shape
  if (seeds.length < 2 || seeds.some((g) => g.length === 0)) {
    throw new StudioError('bad_input', 'split: need two or more groups of seeds, none empty')
  }
  if (seeds.length > 255) throw new StudioError('bad_input', 'split: at most 255 seed groups')
  const members = new Set(fragmentIds)
  for (const id of members) seg.node(id)

  // Seeds by fragment: voxel index and group.
  const byFragment = new Map<number, Array<{ voxel: number; group: number }>>()
  seeds.forEach((group, g) => {
    for (const p of group) {
      if (p.length !== 3 || !p.every(Number.isInteger) || p[0] < 0 || p[1] < 0 || p[2] < 0 || p[0] >= Z || p[1] >= Y || p[2] >= X) {
        throw new StudioError('bad_input', `split: seed (${p.join(', ')}) is outside the volume ${Z}x${Y}x${X}`)
      }
      const voxel = (p[0] * Y + p[1]) * X + p[2]
      const id = idNumber(seg.fragments.data[voxel])
      if (!members.has(id)) throw new StudioError('bad_input', `split: seed (${p.join(', ')}) lies in fragment ${id}, which is not part of the segment`)
      const list = byFragment.get(id) ?? []
      list.push({ voxel, group: g })
      byFragment.set(id, list)
    }
  })

  const cuts: SplitResult['cuts'] = []
  let nextId = nextFragmentId(seg)
  for (const [id, list] of byFragment) {
    const present = [...new Set(list.map((s) => s.group))].sort((a, b) => a - b)
    if (present.length < 2) continue
    const pieces = [id, ...present.slice(1).map(() => nextId++)]
    if (seg.fragments.data instanceof Uint32Array && nextId - 1 > 0xffffffff) throw new StudioError('bad_input', 'split: no uint32 fragment id left')
    await cutFragment(seg, id, list, present, pieces)
    cuts.push({ fragment: id, pieces })
    pieces.forEach((p) => members.add(p))
  }

  // Graph watershed from the seeded fragments over the segment's edges, strongest first.
  const graph = seg.graph
  const group = new Int16Array(graph.ids.length).fill(-2)
  for (const id of members) group[seg.node(id)] = -1
  const heap = new EdgeHeap()
  const adjacency = new Map<number, number[]>()
  for (let e = 0; e < graph.u.length; e++) {
    if (group[graph.u[e]] === -2 || group[graph.v[e]] === -2) continue
    for (const n of [graph.u[e], graph.v[e]]) {
      const list = adjacency.get(n) ?? []
      list.push(e)
      adjacency.set(n, list)
    }
  }
  const claim = (node: number, g: number) => {
    group[node] = g
    for (const e of adjacency.get(node) ?? []) {
      const other = graph.u[e] === node ? graph.v[e] : graph.u[e]
      if (group[other] === -1) heap.push(graph.medianAffinity[e], other, g)
    }
  }
  for (const list of byFragment.values()) {
    for (const s of list) {
      const node = seg.node(idNumber(seg.fragments.data[s.voxel]))
      if (group[node] === -1) claim(node, s.group)
    }
  }
  for (let top = heap.pop(); top; top = heap.pop()) if (group[top.node] === -1) claim(top.node, top.group)

  const groups: number[][] = seeds.map(() => [])
  for (const id of members) {
    const g = group[seg.node(id)]
    groups[g < 0 ? 0 : g].push(id)
  }
  groups.forEach((g) => g.sort((a, b) => a - b))
  return { groups, cuts }
}

function nextFragmentId(seg: Segmentation): number {
  const ids = seg.graph.ids
  return (ids.length ? idNumber(ids[ids.length - 1]) : 0) + 1
}

async function cutFragment(
  seg: Segmentation,
  id: number,
  list: Array<{ voxel: number; group: number }>,
  present: number[],
  pieces: number[],
): Promise<void> {
  const data = seg.fragments.data
  const newIds = allocateLabels(labelTypeOf(data), pieces.length)
  pieces.forEach((p, k) => (newIds[k] = idIn(data, p) as never))
  const local = new Map(present.map((g, k) => [g, k]))
  const r = await nativeCall(() =>
    native().splitFragment(
      data,
      seg.affinities.data,
      seg.shape,
      idIn(data, id),
      Float64Array.from(list, (s) => s.voxel),
      Uint32Array.from(list, (s) => local.get(s.group) ?? 0),
      newIds,
    ),
  )
  // The pieces' links reach one voxel beyond the fragment's bounding box.
  const box: Box3 = {
    start: [Math.max(0, r.box[0] - 1), Math.max(0, r.box[1] - 1), Math.max(0, r.box[2] - 1)],
    stop: [Math.min(seg.shape[0], r.box[3] + 1), Math.min(seg.shape[1], r.box[4] + 1), Math.min(seg.shape[2], r.box[5] + 1)],
  }
  await seg.refreshFragments(pieces, box)
}

/** Max-heap of (affinity, node, group). */
class EdgeHeap {
  private readonly items: Array<{ weight: number; node: number; group: number }> = []

  push(weight: number, node: number, group: number): void {
    const a = this.items
    a.push({ weight, node, group })
    for (let i = a.length - 1; i > 0; ) {
      const p = (i - 1) >> 1
      if (a[p].weight >= a[i].weight) break
      ;[a[p], a[i]] = [a[i], a[p]]
      i = p
    }
  }

  pop(): { weight: number; node: number; group: number } | undefined {
    const a = this.items
    const top = a[0]
    const last = a.pop()
    if (a.length > 0 && last) {
      a[0] = last
      for (let i = 0; ; ) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < a.length && a[l].weight > a[m].weight) m = l
        if (r < a.length && a[r].weight > a[m].weight) m = r
        if (m === i) break
        ;[a[m], a[i]] = [a[i], a[m]]
        i = m
      }
    }
    return top
  }
}
