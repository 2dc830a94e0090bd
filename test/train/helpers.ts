/**
 * Small projects for the training tests: a synthetic volume (io/synthetic.ts) with its ground
 * truth, fragments that cut every cell in two along x, and a base segmentation with known errors
 * (false merges and false splits) for the tests to correct.
 */
import { join } from 'node:path'
import type { Vec3 } from '../../src/shared/types'
import { writeNpy } from '../../src/main/engine/io/npy'
import { syntheticVolume } from '../../src/main/engine/io/synthetic'
import { writeVolume } from '../../src/main/engine/io/write'
import { CACHE_DIR, createProject, type Project } from '../../src/main/engine/store/project'
import { tempDirs } from '../temp-dirs'

export const { tempDir, removeTempDirs } = tempDirs('tu-train-')

export interface TestProject {
  project: Project
  shape: Vec3
  /** Ground-truth cell of every voxel (ids from 1). */
  labels: Uint32Array
  /** Fragment of every voxel: cell c is fragments 2c - 1 (x < half) and 2c. */
  fragments: Uint32Array
  /** Cells wrongly merged with `into` in the base segmentation, and cells split in two. */
  falseMerges: { cell: number; into: number }[]
  falseSplits: number[]
}

/**
 * A project over a synthetic volume. `image` 'synthetic' writes the EM-like raw image; 'labels'
 * writes float32 intensities that encode the cell (0.3 + 0.4 c / cells), so a test can see the
 * ground truth through any augmentation.
 */
export async function syntheticProject(dir: string, options: { shape: Vec3; seed: number; image?: 'synthetic' | 'labels' }): Promise<TestProject> {
  const { shape } = options
  const demo = syntheticVolume({ shape, seed: options.seed })
  const labels = demo.labels.data as Uint32Array
  const cells = labels.reduce((m, v) => Math.max(m, v), 0)
  const project = createProject(dir, { author: 'test' })
  const raw = join(dir, 'raw.npy')
  if (options.image === 'labels') writeNpy(raw, Float32Array.from(labels, (c) => 0.3 + (0.4 * c) / cells), shape)
  else writeNpy(raw, demo.raw.data as Uint8Array, shape)
  await project.sources.add(raw, 'raw')

  const half = shape[2] >> 1
  const fragments = new Uint32Array(labels.length)
  for (let i = 0; i < labels.length; i++) fragments[i] = 2 * labels[i] - (i % shape[2] < half ? 1 : 0)
  const file = join(dir, CACHE_DIR, 'fragments.zarr')
  await writeVolume(file, fragments, shape, 'uint32')
  const ids = [...new Set(fragments)].sort((a, b) => a - b)
  // Errors: every 5th cell is merged into a neighbouring cell, every 7th cell is split in its two fragments.
  const neighbours = touching(labels, shape)
  const falseMerges: TestProject['falseMerges'] = []
  const falseSplits: number[] = []
  const into = new Map<number, number>()
  for (let c = 1; c <= cells; c++) {
    const partner = [...(neighbours.get(c) ?? [])].sort((a, b) => a - b).find((n) => n % 5 !== 0 && n % 7 !== 0 && !into.has(n))
    if (c % 5 === 0 && partner !== undefined) {
      into.set(c, partner)
      falseMerges.push({ cell: c, into: partner })
    } else if (c % 7 === 0 && ids.includes(2 * c - 1) && ids.includes(2 * c)) falseSplits.push(c)
  }
  const segmentOf = (f: number) => {
    const cell = (f + 1) >> 1
    if (into.has(cell)) return into.get(cell)!
    if (falseSplits.includes(cell) && f % 2 === 0) return 10_000 + cell
    return cell
  }
  const run = project.addSegmentationRun({ thresholds: { merge: 0.5 }, params: { fragments: file }, labelShape: shape })
  project.setBaseAssignment(run, ids, ids.map(segmentOf))
  return { project, shape, labels, fragments, falseMerges, falseSplits }
}

/** The cells each cell touches along z, y or x. */
function touching(labels: Uint32Array, shape: Vec3): Map<number, Set<number>> {
  const out = new Map<number, Set<number>>()
  const steps = [shape[1] * shape[2], shape[2], 1]
  for (let i = 0; i < labels.length; i++) {
    for (const s of steps) {
      const j = i + s
      if (j >= labels.length || labels[i] === labels[j] || (s === 1 && j % shape[2] === 0) || (s === shape[2] && Math.floor(j / (shape[1] * shape[2])) !== Math.floor(i / (shape[1] * shape[2])))) continue
      const [a, b] = [labels[i], labels[j]]
      ;(out.get(a) ?? out.set(a, new Set()).get(a)!).add(b)
      ;(out.get(b) ?? out.set(b, new Set()).get(b)!).add(a)
    }
  }
  return out
}

/** Voxel count of each cell. */
export function cellSizes(labels: Uint32Array): Map<number, number> {
  const sizes = new Map<number, number>()
  for (const c of labels) sizes.set(c, (sizes.get(c) ?? 0) + 1)
  return sizes
}

/** A closed synthetic project (16x96x96) with its first `reviewed` cells reviewed; returns its folder. */
export async function reviewedProjectDir(seed: number, reviewed: number): Promise<string> {
  const dir = join(tempDir(), 'p')
  const t = await syntheticProject(dir, { shape: [16, 96, 96], seed })
  t.project.review([...new Set(t.labels)].slice(0, reviewed).filter((c) => t.project.fragmentsOf(c).length > 0))
  t.project.close()
  return dir
}
