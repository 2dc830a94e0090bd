import { describe, expect, it } from 'vitest'
import type { Vec3 } from '../../src/shared/types'
import { scoreHeldOut, withinVoxels } from '../../src/main/engine/train/evaluate'

// One row of 12 voxels: held-out segment 7 at x 2..5, the rest unknown (0).
const shape: Vec3 = [1, 1, 12]
const truth = Uint32Array.from([0, 0, 7, 7, 7, 7, 0, 0, 0, 0, 0, 0])
const score = (pred: number[]) => scoreHeldOut({ data: Uint32Array.from(pred), shape }, truth)

describe('held-out score', () => {
  it('is perfect when the held-out segment is exact, however its neighbours are cut', async () => {
    // Neighbours 1, 2 and 3 touch nothing held out except by their own voxels; 9 is far away.
    const s = await score([1, 2, 5, 5, 5, 5, 3, 3, 9, 9, 9, 9])
    expect(s.voi).toBeCloseTo(0, 12)
    expect(s.arand).toBeCloseTo(0, 12)
    expect(s.voxels).toBe(4)
  })

  it('counts merging the held-out segment with a neighbour as a merge error', async () => {
    const s = await score([1, 2, 5, 5, 5, 5, 5, 5, 9, 9, 9, 9])
    expect(s.voiMerge).toBeGreaterThan(0.5)
    expect(s.voiSplit).toBeCloseTo(0, 12)
    // The two neighbour voxels inside the merged segment are now scored.
    expect(s.voxels).toBe(6)
  })

  it('does not lump the neighbours of different held-out segments into one object', async () => {
    // Held-out 7 (x 2..3) merged with x 1, held-out 8 (x 6..7) merged with x 8: two merges, no split.
    const two = Uint32Array.from([0, 0, 7, 7, 0, 0, 8, 8, 0, 0, 0, 0])
    const s = await scoreHeldOut({ data: Uint32Array.from([1, 5, 5, 5, 2, 2, 6, 6, 6, 3, 3, 3]), shape }, two)
    expect(s.voiSplit).toBeCloseTo(0, 12)
    expect(s.voiMerge).toBeGreaterThan(0.5)
  })

  it('counts cutting the held-out segment as a split error', async () => {
    const s = await score([1, 2, 5, 5, 6, 6, 3, 3, 9, 9, 9, 9])
    expect(s.voiSplit).toBeCloseTo(1, 6)
    expect(s.voiMerge).toBeCloseTo(0, 12)
  })
})

describe('corrections within a voxel budget', () => {
  const at = (z: number, y: number, x: number, n = 10) => ({ box: { start: [z, y, x] as Vec3, stop: [z + n, y + n, x + n] as Vec3 } })
  it('keeps the first and then those whose joint box stays within the budget', () => {
    const items = [at(0, 0, 0), at(0, 0, 50), at(2, 2, 2, 5), at(0, 90, 0)]
    // 10x10x10 and 10x10x60 fit in 6000; the third lies inside; the fourth would make 10x100x60.
    expect(withinVoxels(items, 6000)).toEqual(items.slice(0, 3))
    expect(withinVoxels(items, 10)).toEqual([items[0]])
  })
})
