import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { readNpy } from '../../src/main/engine/io/npy'
import { evaluate } from '../../src/main/engine/segment/metrics'
import type { LabelVolume } from '../../src/main/engine/segment/types'
import type { Vec3 } from '../../src/shared/types'

const FIXTURES = join(import.meta.dirname, '../fixtures/segment')

interface Case {
  voi_split: number
  voi_merge: number
  arand: number
  split_by_gt: Record<string, number>
  merge_by_seg: Record<string, number>
}
const reference = JSON.parse(readFileSync(join(FIXTURES, 'metrics.json'), 'utf8')) as { cases: Record<string, Case> }

function volume(file: string): LabelVolume {
  const npy = readNpy(join(FIXTURES, file))
  return { data: npy.data as Uint32Array | BigUint64Array, shape: npy.shape as Vec3 }
}

describe('segmentation metrics against skimage.metrics (fixtures from make_metrics.py)', () => {
  for (const [name, want] of Object.entries(reference.cases)) {
    it(`${name}: VOI split/merge, adapted Rand error and per-id terms to 1e-9`, async () => {
      const gt = volume(`metrics_${name}_gt.npy`)
      const seg = volume(`metrics_${name}_seg.npy`)
      const got = await evaluate(seg, gt)
      expect(Math.abs(got.voiSplit - want.voi_split)).toBeLessThan(1e-9)
      expect(Math.abs(got.voiMerge - want.voi_merge)).toBeLessThan(1e-9)
      expect(Math.abs(got.voi - want.voi_split - want.voi_merge)).toBeLessThan(1e-9)
      expect(Math.abs(got.arand - want.arand)).toBeLessThan(1e-9)
      expect(got.splits).toHaveLength(Object.keys(want.split_by_gt).length)
      expect(got.merges).toHaveLength(Object.keys(want.merge_by_seg).length)
      for (const s of got.splits) expect(Math.abs(s.bits - want.split_by_gt[String(s.id)])).toBeLessThan(1e-9)
      for (const m of got.merges) expect(Math.abs(m.bits - want.merge_by_seg[String(m.id)])).toBeLessThan(1e-9)
      // ranked, largest first
      for (let i = 1; i < got.merges.length; i++) expect(got.merges[i - 1].bits).toBeGreaterThanOrEqual(got.merges[i].bits)
    })
  }

  it('reads uint64 segment ids beyond 32 bits exactly', async () => {
    const seg = volume('metrics_wide_seg.npy')
    expect(seg.data).toBeInstanceOf(BigUint64Array)
    const got = await evaluate(seg, volume('metrics_wide_gt.npy'))
    expect(got.merges.map((m) => m.id).every((id) => id === 0 || id > 2 ** 32)).toBe(true)
  })

  it('ranks the object a segmentation breaks and the segment that merges two objects first', async () => {
    // gt: objects 1 | 2 | 3 in x; seg: object 1 split in two, objects 2 and 3 merged.
    const shape: Vec3 = [2, 4, 12]
    const gt = new Uint32Array(96)
    const seg = new Uint32Array(96)
    for (let i = 0; i < 96; i++) {
      const x = i % 12
      gt[i] = x < 4 ? 1 : x < 8 ? 2 : 3
      seg[i] = x < 2 ? 10 : x < 4 ? 11 : 20
    }
    const got = await evaluate({ data: seg, shape }, { data: gt, shape })
    expect(got.splits[0]).toMatchObject({ id: 1 })
    expect(got.splits[1].bits).toBe(0)
    expect(got.merges[0]).toMatchObject({ id: 20 })
    expect(got.voiSplit).toBeCloseTo(1 / 3, 12) // a third of the voxels, one bit each
    expect(got.voiMerge).toBeCloseTo(2 / 3, 12)
  })

  it('names what is wrong with its input', async () => {
    const shape: Vec3 = [1, 2, 2]
    const ok = { data: new Uint32Array(4).fill(1), shape }
    await expect(evaluate(ok, { data: new Uint32Array(4), shape })).rejects.toThrow(/ground truth has no labelled/)
    await expect(evaluate(ok, { data: new Uint32Array(6).fill(1), shape: [1, 2, 3] })).rejects.toThrow(/shapes differ/)
    await expect(evaluate({ data: new Float32Array(4) as unknown as Uint32Array, shape }, ok)).rejects.toThrow(/uint32 or uint64/)
  })
})
