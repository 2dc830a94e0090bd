/**
 * The edit log in SQLite, and the shared counters in the `project` row. History is linear: undo
 * takes the newest applied edit, redo the oldest undone one, and a new edit turns the undone
 * ones `discarded` (kept, never replayed). So the applied edits replayed in id order always give
 * the current state. Callers run these inside a write transaction.
 */
import type Database from 'better-sqlite3'
import type { EditKind, EditOrigin, EditRecord, EditState } from '../../../shared/types'
import { decodeDelta, encodeDelta, isEmptyDelta, type EditDelta } from './delta'
import type { PlannedEdit } from './edits'

export interface EditRow {
  id: number
  time: number
  author: string
  origin: EditOrigin
  kind: EditKind
  state: EditState
  run_id: number | null
  summary: string
  delta: Uint8Array | null
}

interface Summary {
  segments: number[]
  fragments: number
  voxels: number
  note?: string
}

export interface EditMeta {
  author: string
  origin: EditOrigin
  runId?: number
  /** When the edit was made; now unless it is imported. */
  time?: number
}

const COLUMNS = 'id, time, author, origin, kind, state, run_id, summary'

export class EditLog {
  private readonly s

  constructor(db: Database.Database) {
    this.s = {
      version: db.prepare('SELECT edits_version FROM project').pluck(),
      bump: db.prepare('UPDATE project SET edits_version = edits_version + 1 RETURNING edits_version').pluck(),
      counters: db.prepare('SELECT next_fragment AS nextFragment, next_segment AS nextSegment, base_run_id AS baseRunId FROM project'),
      takeSegment: db.prepare('UPDATE project SET next_segment = next_segment + 1 RETURNING next_segment - 1').pluck(),
      takeFragment: db.prepare('UPDATE project SET next_fragment = next_fragment + 1 RETURNING next_fragment - 1').pluck(),
      raise: db.prepare('UPDATE project SET next_fragment = max(next_fragment, ?), next_segment = max(next_segment, ?)'),
      discardRedo: db.prepare("UPDATE edits SET state = 'discarded' WHERE state = 'undone'"),
      insert: db.prepare('INSERT INTO edits (time, author, origin, kind, state, run_id, summary, delta) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
      get: db.prepare('SELECT * FROM edits WHERE id = ?'),
      lastApplied: db.prepare("SELECT * FROM edits WHERE state = 'applied' ORDER BY id DESC LIMIT 1"),
      firstUndone: db.prepare("SELECT * FROM edits WHERE state = 'undone' ORDER BY id LIMIT 1"),
      appliedAfter: db.prepare("SELECT * FROM edits WHERE state = 'applied' AND id > ? ORDER BY id DESC"),
      lastAppliedAt: db.prepare("SELECT id FROM edits WHERE state = 'applied' AND time <= ? ORDER BY id DESC LIMIT 1").pluck(),
      setState: db.prepare('UPDATE edits SET state = ? WHERE id = ?'),
      applied: db.prepare("SELECT * FROM edits WHERE state = 'applied' ORDER BY id"),
      appliedDeltas: db.prepare("SELECT id, delta FROM edits WHERE state = 'applied' AND delta IS NOT NULL ORDER BY id").raw(),
      count: db.prepare('SELECT count(*) FROM edits WHERE state = ?').pluck(),
      page: db.prepare(`SELECT ${COLUMNS} FROM edits WHERE id < ? ORDER BY id DESC LIMIT ?`),
    }
  }

  /** Bumped by every change of the edit history (see the project table). */
  version(): number {
    return this.s.version.get() as number
  }

  bump(): number {
    return this.s.bump.get() as number
  }

  counters(): { nextFragment: number; nextSegment: number; baseRunId: number | null } {
    return this.s.counters.get() as { nextFragment: number; nextSegment: number; baseRunId: number | null }
  }

  takeSegmentId(): number {
    return this.s.takeSegment.get() as number
  }

  takeFragmentId(): number {
    return this.s.takeFragment.get() as number
  }

  /** Keeps new ids above those used elsewhere (base assignment, a segmentation run). */
  raiseCounters(nextFragment: number, nextSegment: number): void {
    this.s.raise.run(nextFragment, nextSegment)
  }

  /** Records a new edit (ending the redo stack) and bumps the version. */
  append(plan: PlannedEdit, meta: EditMeta): EditRecord {
    this.s.discardRedo.run()
    const summary: Summary = {
      segments: plan.segments,
      fragments: plan.delta.assign.ids.length,
      voxels: plan.delta.voxels.ids.length,
      ...(plan.note === undefined ? {} : { note: plan.note }),
    }
    const delta = isEmptyDelta(plan.delta) ? null : encodeDelta(plan.delta)
    const id = Number(
      this.s.insert.run(meta.time ?? Date.now(), meta.author, meta.origin, plan.kind, 'applied', meta.runId ?? null, JSON.stringify(summary), delta)
        .lastInsertRowid,
    )
    this.bump()
    return toRecord(this.s.get.get(id) as EditRow)
  }

  get(id: number): EditRow | undefined {
    return this.s.get.get(id) as EditRow | undefined
  }

  lastApplied(): EditRow | undefined {
    return this.s.lastApplied.get() as EditRow | undefined
  }

  firstUndone(): EditRow | undefined {
    return this.s.firstUndone.get() as EditRow | undefined
  }

  /** Applied edits after `id`, newest first: what a revert to `id` undoes. */
  appliedAfter(id: number): EditRow[] {
    return this.s.appliedAfter.all(id) as EditRow[]
  }

  /** The newest applied edit made at or before `time`; 0 when there is none. */
  lastAppliedAt(time: number): number {
    return (this.s.lastAppliedAt.get(time) as number | undefined) ?? 0
  }

  setState(id: number, state: EditState): void {
    this.s.setState.run(state, id)
  }

  /** Applied edits in order, with their deltas (for export). */
  applied(): EditRow[] {
    return this.s.applied.all() as EditRow[]
  }

  /** Deltas of the applied edits in order: the replay that rebuilds the current state. */
  *appliedDeltas(): Generator<EditDelta> {
    for (const [id, blob] of this.s.appliedDeltas.iterate() as Iterable<[number, Uint8Array]>) yield decodeDelta(blob, `edit ${id}`)
  }

  count(state: EditState): number {
    return this.s.count.get(state) as number
  }

  /** Newest first, `limit` edits older than `before`. */
  list(limit: number, before = Number.MAX_SAFE_INTEGER): EditRecord[] {
    return (this.s.page.all(before, limit) as EditRow[]).map(toRecord)
  }
}

export function toRecord(row: Omit<EditRow, 'delta'>): EditRecord {
  const s = JSON.parse(row.summary) as Summary
  return {
    id: row.id,
    kind: row.kind,
    origin: row.origin,
    state: row.state,
    time: row.time,
    author: row.author,
    segments: s.segments,
    fragments: s.fragments,
    voxels: s.voxels,
    ...(s.note === undefined ? {} : { note: s.note }),
    ...(row.run_id === null ? {} : { runId: row.run_id }),
  }
}

export function rowDelta(row: EditRow): EditDelta | null {
  return row.delta === null ? null : decodeDelta(row.delta, `edit ${row.id}`)
}
