import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { Vec3 } from '../../src/shared/types'
import { seededRandom } from '../../src/main/engine/random'
import { CorrectionData } from '../../src/main/engine/train/corrections'
import { projectVolumes } from '../../src/main/engine/train/job'
import { affinitiesFromLabels } from '../../src/main/engine/train/targets'
import { removeTempDirs, syntheticProject, tempDir } from './helpers'

afterAll(removeTempDirs)

const PATCH: Vec3 = [16, 48, 48]
const [Z, Y, X] = PATCH
const n = Z * Y * X
/** Flat distance to a voxel's predecessor along z, y, x. */
const steps = [Y * X, X, 1]
/** Whether crop voxel i is in the first plane along axis c (its affinity has no predecessor). */
const first = (i: number, c: number) => [Math.floor(i / (Y * X)), Math.floor(i / X) % Y, i % X][c] === 0

/** The cell an intensity of the 'labels' image names (cells spread over 0.3..0.7). */
function cellOfIntensity(labels: Uint32Array): (v: number) => number {
  const cells = labels.reduce((m, v) => Math.max(m, v), 0)
  return (v) => Math.round(((v - 0.3) * cells) / 0.4)
}

async function correctedProject() {
  const t = await syntheticProject(join(tempDir(), 'p'), { shape: [16, 96, 96], seed: 3, image: 'labels' })
  const { project } = t
  // Fix one false merge with a split and one false split with a merge; review eight correct cells.
  const merge = t.falseMerges[0]
  const wrong = project.segmentOf(2 * merge.cell)
  const moved = [...project.fragmentsOf(wrong)].filter((f) => (f + 1) >> 1 === merge.cell)
  const split = project.split(wrong, moved)
  const cell = t.falseSplits[0]
  project.merge(project.segmentOf(2 * cell - 1), project.segmentOf(2 * cell))
  const errorCells = new Set([...t.falseMerges.flatMap((m) => [m.cell, m.into]), ...t.falseSplits])
  const correct = [...new Set(t.labels)].filter((c) => !errorCells.has(c) && project.fragmentsOf(c).length > 0).slice(0, 8)
  project.review(correct)
  return { ...t, reviewedCells: correct, splitEdit: split, mergedCell: cell, splitCells: [merge.cell, merge.into] }
}

describe('training data from corrections', () => {
  it('holds out a share of the reviewed segments and adds the merges and splits', async () => {
    const t = await correctedProject()
    const { image, fragments } = await projectVolumes(t.project)
    try {
      const data = await CorrectionData.open(t.project, image, fragments, { heldOutShare: 0.25, seed: 1 })
      expect(data.heldOut.length).toBe(2)
      expect(data.train.filter((c) => c.kind === 'reviewed').length).toBe(6)
      expect(data.train.filter((c) => c.kind !== 'reviewed').map((c) => c.kind).sort()).toEqual(['merge', 'split'])
      for (const c of [...data.train, ...data.heldOut]) expect(c.box.start.every((v, a) => v < c.box.stop[a])).toBe(true)
      // The same seed gives the same split.
      const again = await CorrectionData.open(t.project, image, fragments, { heldOutShare: 0.25, seed: 1 })
      expect(again.heldOut.map((c) => c.segment)).toEqual(data.heldOut.map((c) => c.segment))
    } finally {
      await Promise.all([image.close(), fragments.close()])
    }
  })

  it('known edges follow the official affinities of the ground truth through flips and transposes; held-out cells stay out', async () => {
    const t = await correctedProject()
    const { image, fragments } = await projectVolumes(t.project)
    try {
      const data = await CorrectionData.open(t.project, image, fragments, { heldOutShare: 0.25, seed: 1 })
      const cellOf = cellOfIntensity(t.labels)
      const heldCells = new Set(data.heldOut.map((c) => c.segment))
      const random = seededRandom(5)
      let checked = 0
      let ones = 0
      let wrong = 0
      for (let s = 0; s < 30; s++) {
        const sample = await data.sample(PATCH, random)
        // Intensity jitter is affine: equal cells keep equal values, so the image tells the truth.
        const ids = new Map<number, number>()
        const cellVolume = Uint32Array.from(sample.input, (v) => ids.get(v) ?? ids.set(v, ids.size + 1).get(v)!)
        const truth = affinitiesFromLabels(cellVolume, PATCH)
        for (let i = 0; i < 3 * n; i++) {
          if (sample.weight[i] === 0 || first(i % n, Math.floor(i / n))) continue
          if (sample.target[i] !== truth[i]) wrong++
          checked++
          ones += sample.target[i]
        }
      }
      // Without augmentation the image values name the cells: no edge of a held-out cell is known.
      let heldKnown = 0
      let heldSeen = 0
      for (const correction of data.train) {
        const sample = await data.sample(PATCH, random, { correction, augment: false })
        for (let i = 0; i < 3 * n; i++) {
          const [c, p] = [Math.floor(i / n), i % n]
          if (first(p, c) || !(heldCells.has(cellOf(sample.input[p])) || heldCells.has(cellOf(sample.input[p - steps[c]])))) continue
          heldSeen++
          if (sample.weight[i] !== 0) heldKnown++
        }
      }
      expect(heldSeen).toBeGreaterThan(0)
      expect(heldKnown).toBe(0)
      expect(wrong).toBe(0)
      expect(checked).toBeGreaterThan(30 * 3000)
      expect(ones).toBeGreaterThan(0)
      expect(ones).toBeLessThan(checked)
    } finally {
      await Promise.all([image.close(), fragments.close()])
    }
  })

  it('a merge adds the edges it joined (1) and a split the edges it cut (0), outside reviewed segments', async () => {
    const t = await correctedProject()
    const { image, fragments } = await projectVolumes(t.project)
    try {
      const data = await CorrectionData.open(t.project, image, fragments, { heldOutShare: 0.25, seed: 1 })
      const cellOf = cellOfIntensity(t.labels)
      for (const kind of ['merge', 'split'] as const) {
        const correction = data.train.find((c) => c.kind === kind)!
        const involved = [t.mergedCell, ...t.splitCells]
        const seen = { 0: 0, 1: 0 }
        const random = seededRandom(2)
        for (let s = 0; s < 4; s++) {
          const sample = await data.sample(PATCH, random, { correction, augment: false })
          for (let i = 0; i < 3 * n; i++) {
            const [c, p] = [Math.floor(i / n), i % n]
            if (first(p, c) || sample.weight[i] === 0) continue
            const [a, b] = [cellOf(sample.input[p]), cellOf(sample.input[p - steps[c]])]
            if (t.reviewedCells.includes(a) || t.reviewedCells.includes(b)) continue
            expect(involved.includes(a) || involved.includes(b)).toBe(true)
            if (kind === 'merge' ? a === b : a !== b) seen[sample.target[i] as 0 | 1]++
          }
        }
        if (kind === 'merge') expect(seen[1]).toBeGreaterThan(0)
        else expect(seen[0]).toBeGreaterThan(0)
      }
    } finally {
      await Promise.all([image.close(), fragments.close()])
    }
  })
})
