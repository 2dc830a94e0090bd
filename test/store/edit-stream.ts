/**
 * A deterministic stream of proofreading operations (merge, split, paint, erase, review, lock,
 * note, undo, redo) over a synthetic project: the same seed gives the same operations, so a test
 * can rebuild exactly the state after any number of committed operations.
 */
import { seededRandom } from '../../src/main/engine/random'
import type { EditRecord, Vec3 } from '../../src/shared/types'
import type { Project } from '../../src/main/engine/store/project'
import { makeProject } from './helpers'

export const STREAM = { fragments: 2000, segmentSize: 4, labelShape: [8, 64, 64] as Vec3, seed: 20240611 }

export function makeStreamProject(dir: string): Project {
  return makeProject(dir, STREAM, 'stream')
}

/** The fragment of voxel `v` in the synthetic label volume (before any edit). */
export function baseLabel(v: number): number {
  return (Math.floor(v / 7) % STREAM.fragments) + 1
}


/**
 * Runs one operation; returns what it committed (undo/redo return the edit they changed), or
 * null when it committed nothing (nothing to undo or redo). Operations the review contract would
 * refuse are replaced by a note, so every call draws the same random numbers on every run.
 */
export function step(p: Project, random: () => number): EditRecord | null {
  const pick = (n: number) => Math.floor(random() * n)
  const segmentAt = () => p.segmentOf(pick(STREAM.fragments) + 1)
  const locked = (s: number) => p.segmentState(s).locked
  const r = random()
  const a = segmentAt()
  const b = segmentAt()
  if (r < 0.25) {
    return a !== b && !locked(a) && !locked(b) ? p.merge(a, b) : p.note(`skipped merge ${a} ${b}`)
  }
  if (r < 0.4) {
    const fragments = p.fragmentsOf(a)
    if (fragments.length < 2 || locked(a)) return p.note(`skipped split ${a}`)
    return p.split(a, fragments.subarray(0, 1 + pick(fragments.length - 1)))
  }
  if (r < 0.6) {
    const [sz, sy, sx] = STREAM.labelShape
    const z = pick(sz)
    const y = pick(sy)
    const x0 = pick(sx - 8)
    const box = { start: [z, y, x0] as Vec3, stop: [z + 1, y + 1, x0 + 8] as Vec3 }
    const edited = p.voxelEdits(box)
    const indices = Array.from({ length: 8 }, (_, i) => (z * sy + y) * sx + x0 + i)
    const before = indices.map((v) => {
      const at = edited.indices.indexOf(v)
      return at >= 0 ? edited.labels[at] : baseLabel(v)
    })
    const erase = r > 0.55
    const fragment = erase ? 0 : p.fragmentsOf(a)[0] ?? 0
    const touched = [...before, fragment].filter((f) => f !== 0).map((f) => p.segmentOf(f))
    if (touched.some(locked) || before.every((f) => f === fragment)) return p.note('skipped paint')
    return erase ? p.erase(indices, before) : p.paint({ indices, before, fragment })
  }
  if (r < 0.7) return p.review([a], !p.segmentState(a).reviewed)
  if (r < 0.75) return p.lock([a], !locked(a))
  if (r < 0.9) return p.undo()
  return p.redo()
}

export const rng = (seed = STREAM.seed): (() => number) => seededRandom(seed)
