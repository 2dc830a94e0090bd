/**
 * Segmentation runs (which model, which thresholds) and the base fragment -> segment assignment
 * the first run produced, stored once in blocks. Later runs on the same fragments arrive as
 * automatic edits (Project.applyRun), so the review contract guards them.
 */
import { createHash } from 'node:crypto'
import type Database from 'better-sqlite3'
import { StudioError } from '../../../shared/errors'
import type { Vec3 } from '../../../shared/types'
import { decodeColumns, encodeColumns, isStorableInteger } from './codec'

/** Fragments per base_assignment row. */
export const BASE_BLOCK = 65_536

export interface SegmentationRunSpec {
  modelVersionId?: number
  /** Agglomeration settings, e.g. { merge: 0.5 }. */
  thresholds: Record<string, number>
  params?: Record<string, unknown>
  /** Shape (z, y, x) of the fragment label volume. */
  labelShape: Vec3
}

export interface SegmentationRun extends Required<Omit<SegmentationRunSpec, 'modelVersionId'>> {
  id: number
  modelVersionId: number | null
  createdAt: number
}

interface RunRow {
  id: number
  model_version_id: number | null
  thresholds: string
  params: string
  label_shape: string
  created_at: number
}

export function insertSegmentationRun(db: Database.Database, spec: SegmentationRunSpec): number {
  if (spec.labelShape.length !== 3 || !spec.labelShape.every((n) => Number.isInteger(n) && n > 0)) {
    throw new StudioError('bad_input', `segmentation run: label shape ${JSON.stringify(spec.labelShape)} is not three positive integers`)
  }
  return Number(
    db
      .prepare('INSERT INTO segmentation_runs (model_version_id, thresholds, params, label_shape, created_at) VALUES (?, ?, ?, ?, ?)')
      .run(spec.modelVersionId ?? null, JSON.stringify(spec.thresholds), JSON.stringify(spec.params ?? {}), JSON.stringify(spec.labelShape), Date.now())
      .lastInsertRowid,
  )
}

export function getSegmentationRun(db: Database.Database, id: number): SegmentationRun {
  const row = db.prepare('SELECT * FROM segmentation_runs WHERE id = ?').get(id) as RunRow | undefined
  if (!row) throw new StudioError('not_found', `no segmentation run with id ${id} in this project`)
  return {
    id: row.id,
    modelVersionId: row.model_version_id,
    thresholds: JSON.parse(row.thresholds) as Record<string, number>,
    params: JSON.parse(row.params) as Record<string, unknown>,
    labelShape: JSON.parse(row.label_shape) as Vec3,
    createdAt: row.created_at,
  }
}

/**
 * Writes the base assignment (inside the caller's transaction). Fragment ids must be unique and
 * >= 1; segment 0 leaves a fragment in no segment. Returns the largest ids seen.
 */
export function writeBaseAssignment(
  db: Database.Database,
  fragments: ArrayLike<number>,
  segments: ArrayLike<number>,
): { maxFragment: number; maxSegment: number } {
  const n = fragments.length
  if (segments.length !== n) throw new StudioError('bad_input', `base assignment: ${n} fragments but ${segments.length} segments`)
  const order = Uint32Array.from({ length: n }, (_, i) => i).sort((a, b) => fragments[a] - fragments[b])
  let maxSegment = 0
  for (let i = 0; i < n; i++) {
    const f = fragments[order[i]]
    const s = segments[order[i]]
    if (!isStorableInteger(f) || f === 0) throw new StudioError('bad_input', `base assignment: ${f} is not a valid fragment id (integers from 1)`)
    if (!isStorableInteger(s)) throw new StudioError('bad_input', `base assignment: ${s} is not a valid segment id`)
    if (i > 0 && f === fragments[order[i - 1]]) throw new StudioError('bad_input', `base assignment: fragment ${f} is given twice`)
    maxSegment = Math.max(maxSegment, s)
  }
  const insert = db.prepare('INSERT INTO base_assignment (block, fragments, data) VALUES (?, ?, ?)')
  for (let b = 0; b * BASE_BLOCK < n; b++) {
    const part = order.subarray(b * BASE_BLOCK, Math.min(n, (b + 1) * BASE_BLOCK))
    const f = Float64Array.from(part, (i) => fragments[i])
    const s = Float64Array.from(part, (i) => segments[i])
    insert.run(b, part.length, encodeColumns([f, s]))
  }
  return { maxFragment: n === 0 ? 0 : fragments[order[n - 1]], maxSegment }
}

/** The base assignment, sorted by fragment. */
export function readBaseAssignment(db: Database.Database): { fragments: Float64Array; segments: Float64Array } {
  const rows = db.prepare('SELECT block, fragments, data FROM base_assignment ORDER BY block').all() as {
    block: number
    fragments: number
    data: Uint8Array
  }[]
  const total = rows.reduce((n, r) => n + r.fragments, 0)
  const fragments = new Float64Array(total)
  const segments = new Float64Array(total)
  let at = 0
  for (const r of rows) {
    const [f, s] = decodeColumns(r.data, `base assignment block ${r.block}`)
    if (f.length !== r.fragments || s.length !== r.fragments) throw new StudioError('bad_format', `base assignment block ${r.block}: wrong length`)
    fragments.set(f, at)
    segments.set(s, at)
    at += f.length
  }
  return { fragments, segments }
}

/** Identifies a base assignment (by its values), so corrections are imported only onto the same one. */
export function assignmentHash(base: { fragments: Float64Array; segments: Float64Array }): string {
  const bytes = (a: Float64Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength)
  return createHash('sha256').update(bytes(base.fragments)).update(bytes(base.segments)).digest('hex')
}
