/** Temporary project folders and small projects for the store tests. */
import { createHash } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Vec3 } from '../../src/shared/types'
import { createProject, type Project } from '../../src/main/engine/store/project'
import { tempDirs } from '../temp-dirs'

export const REPO = join(import.meta.dirname, '../..')

export const { tempDir, removeTempDirs } = tempDirs('tu-store-')

export interface ProjectSpec {
  fragments: number
  /** Fragments per segment in the base: segment s holds fragments segmentSize*(s-1)+1 .. segmentSize*s. */
  segmentSize: number
  labelShape: Vec3
}

/** A new project in `dir` with a base assignment of consecutive fragments in equal segments. */
export function makeProject(dir: string, spec: ProjectSpec, author = 'ann'): Project {
  const project = createProject(dir, { author })
  const run = project.addSegmentationRun({ thresholds: { merge: 0.5 }, labelShape: spec.labelShape })
  const fragments = Float64Array.from({ length: spec.fragments }, (_, i) => i + 1)
  const segments = fragments.map((f) => Math.floor((f - 1) / spec.segmentSize) + 1)
  project.setBaseAssignment(run, fragments, segments)
  return project
}

/** Everything the current state holds, in a form toEqual compares. */
export function snapshot(project: Project) {
  const { fragments, segments } = project.assignment()
  const voxels = project.allVoxelEdits()
  return {
    fragments: [...fragments],
    segments: [...segments],
    reviewed: project.reviewedSegments(),
    locked: project.lockedSegments(),
    voxelIndices: [...voxels.indices],
    voxelLabels: [...voxels.labels],
  }
}

/** sha256 of every file in a folder (sub-folders by name only): to show that something changed nothing. */
export function folderDigest(dir: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    out[e.name] = e.isDirectory() ? 'folder' : createHash('sha256').update(readFileSync(join(dir, e.name))).digest('hex')
  }
  return out
}
