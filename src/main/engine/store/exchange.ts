/**
 * Corrections files: everything a user corrected, in one self-contained .zip, to move work
 * between projects made on the same segmentation, or to read from Python.
 *
 *   corrections.json          the edit log: format, version, label shape, the base assignment it
 *                             applies to (sha256 of its values), the applied edits in order, each
 *                             with kind, author, time, note and its changes as plain arrays
 *                             {ids, before, after} for fragments -> segment (assign), voxels ->
 *                             fragment (voxels) and segments -> flags (1 reviewed, 2 locked)
 *   labels/voxel_index.npy    uint64: every voxel the edits relabelled, as a (z, y, x) C-order index
 *   labels/voxel_fragment.npy uint64: its fragment label now (0 = background)
 *   labels/fragment.npy       uint64: every fragment whose segment differs from the base
 *   labels/segment.npy        uint64: its segment now
 *
 * Import replays the edits (Project.applyImported): all or nothing, checked value by value.
 */
import { renameSync, readFileSync, writeFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { strFromU8, strToU8, unzipSync, zipSync } from 'fflate'
import { StudioError } from '../../../shared/errors'
import type { EditKind, EditRecord, Vec3 } from '../../../shared/types'
import { encodeNpy } from '../io/npy'
import { isStorableInteger } from './codec'
import { changes, emptyDelta, type Changes } from './delta'
import type { Project } from './project'
import { assignmentHash } from './runs'

export const CORRECTIONS_FORMAT = 'tokenunify-corrections'
export const CORRECTIONS_VERSION = 1

interface ChangesJson {
  ids: number[]
  before: number[]
  after: number[]
}

interface EditJson {
  kind: EditKind
  origin: string
  author: string
  time: number
  segments: number[]
  note?: string
  assign: ChangesJson
  voxels: ChangesJson
  flags: ChangesJson
}

interface CorrectionsJson {
  format: string
  version: number
  exportedAt: number
  labelShape: Vec3
  base: { sha256: string; fragments: number }
  sources: { role: string; name: string; path: string; shape: Vec3; dtype: string }[]
  reviewed: number[]
  locked: number[]
  edits: EditJson[]
}

const KINDS: readonly EditKind[] = ['merge', 'split', 'paint', 'erase', 'review', 'lock', 'note', 'reassign']

export function exportCorrections(project: Project, file: string): { file: string; edits: number; bytes: number } {
  const target = resolve(file)
  const info = project.info()
  if (info.labelShape === null) throw new StudioError('conflict', 'this project has no segmentation yet; there are no corrections to export')
  const base = project.baseAssignment()
  const edits = project.appliedEdits().map(({ record, delta }) => {
    const d = delta ?? emptyDelta()
    const json: EditJson = {
      kind: record.kind,
      origin: record.origin,
      author: record.author,
      time: record.time,
      segments: record.segments,
      assign: changesJson(d.assign),
      voxels: changesJson(d.voxels),
      flags: changesJson(d.flags),
    }
    if (record.note !== undefined) json.note = record.note
    return json
  })
  const doc: CorrectionsJson = {
    format: CORRECTIONS_FORMAT,
    version: CORRECTIONS_VERSION,
    exportedAt: Date.now(),
    labelShape: info.labelShape,
    base: { sha256: assignmentHash(base), fragments: base.fragments.length },
    sources: info.sources.map(({ role, name, path, shape, dtype }) => ({ role, name, path, shape, dtype })),
    reviewed: project.reviewedSegments(),
    locked: project.lockedSegments(),
    edits,
  }
  const voxels = project.allVoxelEdits()
  const changed = changedFragments(base, project.assignment())
  const u64 = (a: Float64Array) => encodeNpy(BigUint64Array.from(a, (v) => BigInt(v)), [a.length])
  const zip = zipSync({
    'corrections.json': strToU8(JSON.stringify(doc)),
    'labels/voxel_index.npy': u64(voxels.indices),
    'labels/voxel_fragment.npy': u64(voxels.labels),
    'labels/fragment.npy': u64(changed.fragments),
    'labels/segment.npy': u64(changed.segments),
  })
  const partial = `${target}.partial`
  writeFileSync(partial, zip)
  renameSync(partial, target)
  return { file: target, edits: edits.length, bytes: zip.length }
}

export function importCorrections(project: Project, file: string): EditRecord[] {
  const source = resolve(file)
  const doc = readCorrections(source)
  const info = project.info()
  if (info.labelShape === null || JSON.stringify(info.labelShape) !== JSON.stringify(doc.labelShape)) {
    throw new StudioError('conflict', `${source}: made on a label volume of shape ${doc.labelShape.join('x')}, this project's is ${info.labelShape?.join('x') ?? 'not loaded'}`, { file: source })
  }
  if (assignmentHash(project.baseAssignment()) !== doc.base.sha256) {
    throw new StudioError('conflict', `${source}: made on a different segmentation (base assignment differs); nothing was imported`, { file: source })
  }
  try {
    return project.applyImported(
      doc.edits.map((e, i) => ({
        author: e.author,
        time: e.time,
        plan: {
          kind: e.kind,
          segments: e.segments,
          ...(e.note === undefined ? {} : { note: e.note }),
          delta: {
            assign: parseChanges(e.assign, `edit ${i + 1} assign`),
            voxels: parseChanges(e.voxels, `edit ${i + 1} voxels`),
            flags: parseChanges(e.flags, `edit ${i + 1} flags`),
          },
        },
      })),
    )
  } catch (err) {
    if (err instanceof StudioError) throw new StudioError(err.code, `${source}: ${err.message}`, { file: source, cause: err })
    throw err
  }
}

function readCorrections(file: string): CorrectionsJson {
  const bad = (why: string) => new StudioError('bad_format', `${file}: not a corrections file (${why})`, { file })
  let entries: Record<string, Uint8Array>
  try {
    entries = unzipSync(new Uint8Array(readFileSync(file)), { filter: (f) => f.name === 'corrections.json' })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new StudioError('not_found', `${file}: no such file`, { file })
    throw bad('not a zip archive')
  }
  if (!entries['corrections.json']) throw bad('no corrections.json inside')
  let doc: CorrectionsJson
  try {
    doc = JSON.parse(strFromU8(entries['corrections.json'])) as CorrectionsJson
  } catch {
    throw bad('corrections.json is not valid JSON')
  }
  if (doc.format !== CORRECTIONS_FORMAT) throw bad(`format is ${JSON.stringify(doc.format)}`)
  if (doc.version > CORRECTIONS_VERSION) {
    throw new StudioError('unsupported', `${file}: corrections format v${doc.version} is newer than this version reads (v${CORRECTIONS_VERSION})`, { file })
  }
  if (!Array.isArray(doc.edits) || !Array.isArray(doc.labelShape) || typeof doc.base?.sha256 !== 'string') throw bad('missing fields')
  for (const [i, e] of doc.edits.entries()) {
    if (!KINDS.includes(e.kind)) throw bad(`edit ${i + 1} has unknown kind ${JSON.stringify(e.kind)}`)
    if (typeof e.author !== 'string' || !Number.isFinite(e.time) || !Array.isArray(e.segments)) throw bad(`edit ${i + 1} lacks author, time or segments`)
  }
  return doc
}

function changesJson(c: Changes): ChangesJson {
  return { ids: [...c.ids], before: [...c.before], after: [...c.after] }
}

function parseChanges(c: ChangesJson | undefined, what: string): Changes {
  const ok = (a: unknown): a is number[] => Array.isArray(a) && a.every((v) => typeof v === 'number' && isStorableInteger(v))
  if (!c || !ok(c.ids) || !ok(c.before) || !ok(c.after) || c.ids.length !== c.before.length || c.ids.length !== c.after.length) {
    throw new StudioError('bad_format', `${what}: expected {ids, before, after}, equally long lists of non-negative integers`)
  }
  return changes(c.ids, c.before, c.after, what)
}

/** Fragments whose current segment differs from the base (0: now in none); inputs sorted by fragment. */
function changedFragments(
  base: { fragments: Float64Array; segments: Float64Array },
  now: { fragments: Float64Array; segments: Float64Array },
): { fragments: Float64Array; segments: Float64Array } {
  const fragments: number[] = []
  const segments: number[] = []
  let i = 0
  let j = 0
  while (i < now.fragments.length || j < base.fragments.length) {
    const f = Math.min(now.fragments[i] ?? Infinity, base.fragments[j] ?? Infinity)
    const current = now.fragments[i] === f ? now.segments[i++] : 0
    const before = base.fragments[j] === f ? base.segments[j++] : 0
    if (current !== before) {
      fragments.push(f)
      segments.push(current)
    }
  }
  return { fragments: Float64Array.from(fragments), segments: Float64Array.from(segments) }
}
