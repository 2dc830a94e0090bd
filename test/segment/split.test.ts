import { beforeAll, describe, expect, it } from 'vitest'
import { evaluate } from '../../src/main/engine/segment/metrics'
import { Segmentation } from '../../src/main/engine/segment/segmentation'
import type { Affinities, LabelVolume } from '../../src/main/engine/segment/types'
import type { Vec3 } from '../../src/shared/types'
import { labelAffinities, widenBorders } from './synthetic'

// Two objects side by side: A (id 1) for x < 20, B (id 2) for x >= 20, with a wavy boundary.
const shape: Vec3 = [6, 40, 40]
let pair: LabelVolume
let affinities: Affinities
const seedA: Vec3 = [3, 20, 5]
const seedB: Vec3 = [2, 10, 35]

beforeAll(() => {
  const [Z, Y, X] = shape
  const labels = new Uint32Array(Z * Y * X)
  for (let z = 0, i = 0; z < Z; z++)
    for (let y = 0; y < Y; y++) for (let x = 0; x < X; x++, i++) labels[i] = x < 20 + Math.round(4 * Math.sin(y / 6 + z / 3)) ? 1 : 2
  pair = { data: widenBorders(labels, shape), shape }
  affinities = { data: labelAffinities(pair.data as Uint32Array, shape, 0.15, 9), shape }
})

/** The segmentation's voxels as the split groups: group g -> g + 1, other voxels 0. */
function groupVolume(seg: Segmentation, groups: number[][]): LabelVolume {
  const of = new Map<number, number>()
  groups.forEach((ids, g) => ids.forEach((id) => of.set(id, g + 1)))
  return { data: Uint32Array.from(seg.fragments.data as Uint32Array, (f) => of.get(Number(f)) ?? 0), shape }
}

describe('seeded split', () => {
  it('cuts a merged pair of segments back apart along the weak affinities', async () => {
    const seg = await Segmentation.fromAffinities(affinities, { mode: '2d' })
    const merged = seg.segmentOf(seg.fragments.data[0] as number, 1) // at threshold 1 everything touching is one
    const members = seg.fragmentsOf(merged, 1)
    expect(seg.segmentOf(Number(seg.fragments.data[(3 * 40 + 20) * 40 + 35]), 1)).toBe(merged)
    const { groups, cuts } = await seg.split(members, [[seedA], [seedB]])
    expect(cuts).toEqual([])
    expect([...groups[0], ...groups[1]].sort((a, b) => a - b)).toEqual(members.sort((a, b) => a - b))
    const r = await evaluate(groupVolume(seg, groups), pair)
    expect(r.voiSplit + r.voiMerge).toBeLessThan(0.05)
  })

  it('cuts a single fragment voxel by voxel when both seed groups fall inside it', async () => {
    const one: LabelVolume = { data: new Uint32Array(shape[0] * shape[1] * shape[2]).fill(7), shape }
    const seg = await Segmentation.fromFragments(one, affinities)
    const { groups, cuts } = await seg.split([7], [[seedA, [0, 0, 0]], [seedB]])
    expect(cuts).toEqual([{ fragment: 7, pieces: [7, 8] }])
    expect(groups).toEqual([[7], [8]])
    const r = await evaluate(seg.fragments, pair)
    expect(r.voiSplit + r.voiMerge).toBeLessThan(0.05)
    // the region graph now knows both pieces and the edge between them
    expect(Array.from(seg.graph.ids as Uint32Array)).toEqual([7, 8])
    expect(seg.graph.u.length).toBe(1)
    expect(seg.graph.voxels[0] + seg.graph.voxels[1]).toBe(one.data.length)
    expect(seg.graph.medianAffinity[0]).toBeLessThan(0.5)
    expect(seg.segmentOf(8, 1)).toBe(8) // a new piece starts as its own segment
  })

  it('mixes both: pieces of a cut fragment and whole fragments are shared out', async () => {
    const seg = await Segmentation.fromAffinities(affinities, { mode: '3d' })
    const members = seg.fragmentsOf(seg.segmentOf(Number(seg.fragments.data[0]), 1), 1)
    const at = (p: Vec3) => Number(seg.fragments.data[(p[0] * shape[1] + p[1]) * shape[2] + p[2]])
    // A third seed in A's fragment forces a voxel cut of it (group 2 inside A), the rest is graph work.
    const third: Vec3 = [seedA[0], seedA[1], seedA[2] + 2]
    expect(at(third)).toBe(at(seedA))
    const before = seg.graph.ids.length
    const { groups, cuts } = await seg.split(members, [[seedA], [seedB], [third]])
    expect(cuts).toHaveLength(1)
    expect(cuts[0].fragment).toBe(at(seedA))
    expect(seg.graph.ids.length).toBe(before + 1)
    expect(groups.flat().sort((a, b) => a - b)).toEqual([...members, cuts[0].pieces[1]].sort((a, b) => a - b))
    expect(groups[1]).toContain(at(seedB))
    expect(groups[2]).toContain(at(third))
  })

  it('refuses seeds it cannot use', async () => {
    const seg = await Segmentation.fromAffinities(affinities, { mode: '3d' })
    const a = Number(seg.fragments.data[(seedA[0] * shape[1] + seedA[1]) * shape[2] + seedA[2]])
    const b = Number(seg.fragments.data[(seedB[0] * shape[1] + seedB[1]) * shape[2] + seedB[2]])
    await expect(seg.split([a, b], [[seedA]])).rejects.toThrow(/two or more groups/)
    await expect(seg.split([a, b], [[seedA], []])).rejects.toThrow(/none empty/)
    await expect(seg.split([a, b], [[seedA], [[6, 0, 0]]])).rejects.toThrow(/outside the volume/)
    await expect(seg.split([a], [[seedA], [seedB]])).rejects.toThrow(new RegExp(`fragment ${b}, which is not part of the segment`))
    await expect(seg.split([a, 123456], [[seedA], [seedB]])).rejects.toThrow(/no fragment with id 123456/)
  })
})
