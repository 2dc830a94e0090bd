import { beforeAll, describe, expect, it } from 'vitest'
import { computeFragments } from '../../src/main/engine/segment/fragments'
import { buildRegionGraph } from '../../src/main/engine/segment/graph'
import { connectedComponents } from '../../src/main/engine/segment/labels'
import { evaluate } from '../../src/main/engine/segment/metrics'
import { Segmentation } from '../../src/main/engine/segment/segmentation'
import type { Affinities, LabelVolume } from '../../src/main/engine/segment/types'
import type { Vec3 } from '../../src/shared/types'
import { cellLabels, labelAffinities, widenBorders } from './synthetic'

const shape: Vec3 = [12, 96, 96]
let widened: LabelVolume
let affinities: Affinities

beforeAll(() => {
  const labels = cellLabels(shape, 24, 3)
  widened = { data: widenBorders(labels, shape), shape }
  affinities = { data: labelAffinities(widened.data as Uint32Array, shape, 0.15, 5), shape }
})

describe('affinities -> fragments -> region graph -> agglomeration', () => {
  for (const mode of ['2d', '3d'] as const) {
    for (const scoring of ['waterz', 'median'] as const) {
      it(`recovers the labels the affinities were made from (${mode} fragments, ${scoring} scoring): VOI < 0.05`, async () => {
        const seg = await Segmentation.fromAffinities(affinities, { mode, scoring })
        expect(seg.graph.ids.length).toBeGreaterThan(40) // over-segmented first...
        const result = await evaluate(await seg.labels(0.5), widened) // ...then agglomerated back
        expect(result.voiSplit + result.voiMerge).toBeLessThan(0.05)
        expect(result.arand).toBeLessThan(0.01)
      })
    }
  }

  it('2D fragments follow the paper: every fragment lies in one z-slice, ids 1..n', async () => {
    const { fragments, count } = await computeFragments(affinities, { mode: '2d', dtype: 'uint64' })
    expect(fragments.data).toBeInstanceOf(BigUint64Array)
    const slice = new Map<bigint, number>()
    const plane = shape[1] * shape[2]
    let max = 0n
    let spanning = 0
    let zeros = 0
    fragments.data.forEach((id, i) => {
      const v = id as bigint
      const z = Math.floor(i / plane)
      if (v === 0n) zeros++
      if (v > max) max = v
      if (!slice.has(v)) slice.set(v, z)
      else if (slice.get(v) !== z) spanning++
    })
    expect(zeros).toBe(0)
    expect(spanning).toBe(0)
    expect(slice.size).toBe(count)
    expect(max).toBe(BigInt(count))
  })

  it('keeps one object per 3D fragment when the affinities are clean', async () => {
    const clean: Affinities = { data: labelAffinities(widened.data as Uint32Array, shape, 0, 1), shape }
    const { fragments } = await computeFragments(clean, { mode: '3d' })
    const r = await evaluate(fragments, widened)
    expect(r.voiMerge).toBeLessThan(0.01)
  })

  it('builds edges with contact size, mean and histogram median', async () => {
    const { fragments } = await computeFragments(affinities, { mode: '3d' })
    const g = await buildRegionGraph(fragments, affinities)
    const edges = g.u.length
    expect(edges).toBeGreaterThan(0)
    expect(g.binOffsets[edges]).toBe(g.bins.length)
    for (let e = 0; e < edges; e += 7) {
      expect(g.u[e]).toBeLessThan(g.v[e])
      const bins = g.bins.subarray(g.binOffsets[e], g.binOffsets[e + 1])
      expect(bins.length).toBe(g.contacts[e])
      for (let i = 1; i < bins.length; i++) expect(bins[i]).toBeGreaterThanOrEqual(bins[i - 1])
      expect(g.medianAffinity[e]).toBeCloseTo((bins[bins.length >> 1] + 0.5) / 256, 6)
      expect(g.meanAffinity[e]).toBeGreaterThan(0)
      expect(g.meanAffinity[e]).toBeLessThan(1)
    }
    const total = g.voxels.reduce((a, b) => a + b, 0)
    expect(total).toBe(shape[0] * shape[1] * shape[2])
  })
})

describe('fragment ids of any size', () => {
  it('gives the same segmentation for uint64 fragment ids beyond 2^32 as for 1..n', async () => {
    const { fragments } = await computeFragments(affinities, { mode: '2d' })
    const wide = BigUint64Array.from(fragments.data as Uint32Array, (id) => BigInt(id) * 2n ** 40n + 3n)
    const small = await Segmentation.fromFragments(fragments, affinities)
    const big = await Segmentation.fromFragments({ data: wide, shape }, affinities)
    expect(big.graph.ids).toBeInstanceOf(BigUint64Array)
    expect(big.history.score).toEqual(small.history.score)
    const a = await evaluate(await small.labels(0.5), widened)
    const b = await evaluate(await big.labels(0.5), widened)
    expect(b.voi).toBe(a.voi)
    const id = Number(wide[1234])
    expect(big.segmentOf(id, 0)).toBe(id)
  })
})

describe('thresholds from the merge history', () => {
  it('threshold 0 gives the fragments, 1 the connected components of the graph, and segments only grow in between', async () => {
    const seg = await Segmentation.fromAffinities(affinities, { mode: '2d' })
    const n = seg.graph.ids.length
    const distinct = (t: number) => new Set<number | bigint>(seg.fragmentMap(t).segments).size
    expect(distinct(0)).toBe(n)
    const all = await connectedComponents(await seg.labels(1))
    expect(distinct(1)).toBe(all.count) // everything that touches is one segment
    let last = Infinity
    for (const t of [0, 0.2, 0.4, 0.5, 0.6, 0.8, 1]) {
      const k = distinct(t)
      expect(k).toBeLessThanOrEqual(last)
      last = k
      expect(seg.history.mergesAt(t)).toBe(n - k)
    }
  })

  it('names a segment by its smallest fragment and answers both ways', async () => {
    const seg = await Segmentation.fromAffinities(affinities, { mode: '3d' })
    const { fragments, segments } = seg.fragmentMap(0.5)
    for (let i = 0; i < fragments.length; i += 5) {
      const f = Number(fragments[i])
      const s = Number(segments[i])
      expect(seg.segmentOf(f, 0.5)).toBe(s)
      const members = seg.fragmentsOf(s, 0.5)
      expect(members).toContain(f)
      expect(Math.min(...members)).toBe(s)
    }
    const labels = await seg.labels(0.5)
    for (let i = 0; i < labels.data.length; i += 997) {
      expect(labels.data[i]).toBe(seg.segmentOf(Number(seg.fragments.data[i]), 0.5))
    }
    expect(() => seg.segmentOf(10 ** 9)).toThrow(/no fragment with id 1000000000/)
  })

  it('merges in order of score: a merge at threshold t never has a score >= t', async () => {
    const seg = await Segmentation.fromAffinities(affinities, { mode: '2d', scoring: 'median' })
    const h = seg.history
    const k = h.mergesAt(0.5)
    for (let i = 0; i < k; i++) expect(h.score[i]).toBeLessThan(0.5)
    if (k < h.length) expect(h.score[k]).toBeGreaterThanOrEqual(0.5)
  })
})
