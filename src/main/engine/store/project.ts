/**
 * A project: a folder with project.sqlite (the truth: sources, runs, base assignment, edit log,
 * models), cache/ (derived chunked data) and models/ (model files).
 *
 * Every edit is one transaction. The current state lives in memory (ProjectState), rebuilt from
 * SQLite on open and changed only after a commit; any connection's edit bumps
 * project.edits_version, so a Project that sees another value reloads before it answers.
 *
 * Revert to a point in history undoes the later edits (all in one transaction): they stay in the
 * log as undone, can be redone until the next edit, and then stay as discarded. Nothing in the
 * log is rewritten except that state.
 */
import { mkdirSync, readdirSync, existsSync, statSync } from 'node:fs'
import { userInfo } from 'node:os'
import { join, resolve } from 'node:path'
import type Database from 'better-sqlite3'
import type { ProjectEvents } from '../../../shared/api/project'
import { StudioError } from '../../../shared/errors'
import type { Box3, EditRecord, EditState, ProjectInfo, SegmentState, SourceRecord, SparseVoxels } from '../../../shared/types'
import { Bookmarks } from './bookmarks'
import { connect, createDatabase, locateProject, PROJECT_FILE, writeTransaction } from './database'
import { changes, LOCKED, REVIEWED, type EditDelta } from './delta'
import { checkEditable, planFlag, planMerge, planNote, planPaint, planReassign, planSplit, type PlannedEdit } from './edits'
import { EditLog, rowDelta, toRecord, type EditMeta, type EditRow } from './log'
import { ModelRegistry, TrainingLog } from './models'
import { getSegmentationRun, insertSegmentationRun, readBaseAssignment, writeBaseAssignment, type SegmentationRunSpec } from './runs'
import { migrate, schemaVersion, SCHEMA_VERSION } from './schema'
import { Sources, type VolumeOpener } from './sources'
import { ProjectState, type FrozenSet } from './state'

export const CACHE_DIR = 'cache'
export const MODELS_DIR = 'models'

export interface ProjectOptions {
  /** Recorded with every edit; defaults to the OS user name. */
  author?: string
  /** Opens referenced volumes to check them; defaults to io/open.ts openVolume. */
  openVolume?: VolumeOpener
}

/** What changed: the edits made, undone or redone, in order, and the segments to redraw. */
export type ProjectChange = ProjectEvents['project.changed']
export type ProjectAction = ProjectChange['action']

export interface PaintArgs {
  indices: ArrayLike<number>
  /** Fragment label of each voxel before the stroke, as the caller saw it. */
  before: ArrayLike<number>
  /** The existing fragment to paint with. Without it a new fragment is made, in `segment` or a new segment. */
  fragment?: number
  segment?: number
}

/** An edit from a corrections file, in the ids of the project that exported it. */
export interface ImportedEdit {
  plan: PlannedEdit
  author: string
  time: number
}

/** Creates a project in `dir`, which must not exist or be empty. */
export function createProject(dir: string, options: ProjectOptions = {}): Project {
  const root = resolve(dir)
  if (existsSync(root) && (!statSync(root).isDirectory() || readdirSync(root).length > 0)) {
    throw new StudioError('conflict', `${root}: exists and is not an empty folder; choose a new folder for the project`, { file: root })
  }
  mkdirSync(root, { recursive: true })
  const db = createDatabase(join(root, PROJECT_FILE))
  try {
    migrate(db)
  } catch (err) {
    db.close()
    throw err
  }
  return new Project(root, db, options)
}

/**
 * Opens the project in `path` (its folder or its project.sqlite), upgrading an older schema
 * after backing the file up. Refusals change nothing.
 */
export function openProject(path: string, options: ProjectOptions = {}): Project {
  const { dir, file, version } = locateProject(path)
  const db = connect(file)
  try {
    if (schemaVersion(db) < SCHEMA_VERSION) {
      db.exec(`VACUUM INTO '${backupName(dir, version).replaceAll("'", "''")}'`)
      migrate(db)
    }
    return new Project(dir, db, options)
  } catch (err) {
    db.close()
    throw err
  }
}

/**
 * A second connection for a background job (training, segmentation) that records results while
 * the user edits: same pragmas, no migration (the app's Project did that).
 */
export function openProjectDatabase(path: string): Database.Database {
  const { file } = locateProject(path)
  const db = connect(file)
  const version = schemaVersion(db)
  if (version !== SCHEMA_VERSION) {
    db.close()
    throw new StudioError('conflict', `${file}: project schema v${version} is older than this build's v${SCHEMA_VERSION}; open it in the app first`, { file })
  }
  return db
}

/** io/open.ts, loaded when a volume is first checked: the store itself needs no format reader. */
const openVolume: VolumeOpener = async (path, options) => (await import('../io/open')).openVolume(path, options)

function backupName(dir: string, version: number): string {
  const base = join(dir, `project.v${version}.backup.sqlite`)
  return existsSync(base) ? join(dir, `project.v${version}.backup-${Date.now()}.sqlite`) : base
}

export class Project {
  readonly sources: Sources
  readonly models: ModelRegistry
  readonly training: TrainingLog
  readonly bookmarks: Bookmarks
  readonly author: string
  private readonly log: EditLog
  private readonly dataVersion: Database.Statement
  private state: ProjectState = new ProjectState(null)
  /** edits_version the in-memory state reflects; -1 forces a reload. */
  private stateVersion = -1
  private seenDataVersion = -1
  private readonly listeners = new Set<(change: ProjectChange) => void>()

  constructor(
    readonly dir: string,
    readonly db: Database.Database,
    options: ProjectOptions,
  ) {
    mkdirSync(join(dir, CACHE_DIR), { recursive: true })
    mkdirSync(join(dir, MODELS_DIR), { recursive: true })
    this.author = options.author ?? userInfo().username
    this.log = new EditLog(db)
    this.dataVersion = db.prepare('PRAGMA data_version').pluck()
    this.sources = new Sources(db, options.openVolume ?? openVolume)
    this.models = new ModelRegistry(db, join(dir, MODELS_DIR))
    this.training = new TrainingLog(db)
    this.bookmarks = new Bookmarks(db)
    this.sync()
  }

  onChange(listener: (change: ProjectChange) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  info(sources: SourceRecord[] = this.sources.list()): ProjectInfo {
    const state = this.current()
    return {
      dir: this.dir,
      schemaVersion: schemaVersion(this.db),
      labelShape: state.labelShape,
      fragments: state.fragmentCount,
      segments: state.segmentCount,
      reviewed: state.segmentsFlagged(REVIEWED).length,
      locked: state.segmentsFlagged(LOCKED).length,
      editedVoxels: state.editedVoxelCount,
      appliedEdits: this.log.count('applied'),
      canUndo: this.log.lastApplied() !== undefined,
      canRedo: this.log.firstUndone() !== undefined,
      sources,
    }
  }

  /* Segmentation runs */

  addSegmentationRun(spec: SegmentationRunSpec): number {
    return writeTransaction(this.db, () => insertSegmentationRun(this.db, spec))
  }

  /** Loads the first segmentation: fragment -> segment for every fragment of the label volume. */
  setBaseAssignment(runId: number, fragments: ArrayLike<number>, segments: ArrayLike<number>): void {
    writeTransaction(this.db, () => {
      const { baseRunId } = this.log.counters()
      if (baseRunId !== null) {
        throw new StudioError('conflict', `this project has a segmentation already (run ${baseRunId}); apply new runs with applyRun`)
      }
      getSegmentationRun(this.db, runId)
      const { maxFragment, maxSegment } = writeBaseAssignment(this.db, fragments, segments)
      this.db.prepare('UPDATE project SET base_run_id = ?').run(runId)
      this.log.raiseCounters(maxFragment + 1, maxSegment + 1)
      this.log.bump()
    })
    this.stateVersion = -1
    this.emit({ action: 'segmentation', edits: [], segments: [] })
  }

  /**
   * A new assignment from an automatic run on the same fragments (a new threshold,
   * re-agglomeration after fine-tuning): one undoable edit of the changed fragments. Fragments not
   * listed keep their segment, so a run lists every fragment it covers. Refused as a whole if it
   * moves a fragment out of or into a reviewed or locked segment: query frozen() first.
   */
  applyRun(runId: number, fragments: ArrayLike<number>, segments: ArrayLike<number>): EditRecord {
    return this.edit(
      () => {
        getSegmentationRun(this.db, runId)
        const plan = planReassign(this.requireBase(), fragments, segments, 'auto')
        let maxFragment = 0
        let maxSegment = 0
        for (let i = 0; i < plan.delta.assign.ids.length; i++) {
          maxFragment = Math.max(maxFragment, plan.delta.assign.ids[i])
          maxSegment = Math.max(maxSegment, plan.delta.assign.after[i])
        }
        this.log.raiseCounters(maxFragment + 1, maxSegment + 1)
        return plan
      },
      { author: this.author, origin: 'auto', runId },
    )
  }

  /* Current state */

  segmentOf(fragment: number): number {
    return this.current().segmentOf(fragment)
  }

  /** Fragments of a segment, sorted; empty when it does not exist. */
  fragmentsOf(segment: number): Float64Array {
    return this.current().fragmentsOf(segment)
  }

  segmentState(segment: number): SegmentState {
    const state = this.current()
    const flags = state.flagsOf(segment)
    return { segment, fragments: state.sizeOf(segment), reviewed: (flags & REVIEWED) !== 0, locked: (flags & LOCKED) !== 0 }
  }

  reviewedSegments(): number[] {
    return this.current().segmentsFlagged(REVIEWED)
  }

  lockedSegments(): number[] {
    return this.current().segmentsFlagged(LOCKED)
  }

  /** The whole current assignment, sorted by fragment. */
  assignment(): { fragments: Float64Array; segments: Float64Array } {
    return this.current().assignment()
  }

  /** Voxels inside `box` whose fragment label edits changed, with the current label. */
  voxelEdits(box: Box3): SparseVoxels {
    return this.current().voxelsIn(box)
  }

  /** What re-segmentation must keep as it is: reviewed and locked segments, to the voxel. */
  frozen(): FrozenSet {
    return this.current().frozen()
  }

  /* Edits */

  /** Segment `absorb` joins `keep`. */
  merge(keep: number, absorb: number): EditRecord {
    return this.edit(() => planMerge(this.requireBase(), keep, absorb, 'user'))
  }

  /** `fragments` leave `segment` and form a new segment (its id is segments[1] of the record). */
  split(segment: number, fragments: ArrayLike<number>): EditRecord {
    // An id taken by a refused edit is given back: the transaction rolls back.
    return this.edit(() => planSplit(this.requireBase(), segment, fragments, this.log.takeSegmentId(), 'user'))
  }

  paint(args: PaintArgs): EditRecord {
    return this.edit(() => {
      const state = this.requireBase()
      if (args.fragment !== undefined) {
        return planPaint(state, { indices: args.indices, before: args.before, fragment: args.fragment }, 'user')
      }
      if (args.segment !== undefined && !state.hasSegment(args.segment)) {
        throw new StudioError('not_found', `paint: segment ${args.segment} does not exist in this project`)
      }
      const segment = args.segment ?? this.log.takeSegmentId()
      const fragment = this.log.takeFragmentId()
      return planPaint(state, { indices: args.indices, before: args.before, fragment, create: { fragment, segment } }, 'user')
    })
  }

  erase(indices: ArrayLike<number>, before: ArrayLike<number>): EditRecord {
    return this.edit(() => planPaint(this.requireBase(), { indices, before, fragment: 0 }, 'user'))
  }

  review(segments: readonly number[], reviewed = true): EditRecord {
    return this.edit(() => planFlag(this.requireBase(), 'review', segments, reviewed))
  }

  lock(segments: readonly number[], locked = true): EditRecord {
    return this.edit(() => planFlag(this.requireBase(), 'lock', segments, locked))
  }

  note(text: string, segment?: number): EditRecord {
    return this.edit(() => planNote(this.current(), text, segment))
  }

  /* History */

  /** Undoes the newest applied edit; null when there is none. */
  undo(): EditRecord | null {
    return this.change('undo', () => {
      const row = this.log.lastApplied()
      if (row) this.log.setState(row.id, 'undone')
      return row ? [row] : []
    })[0] ?? null
  }

  /** Redoes the oldest undone edit; null when there is none. */
  redo(): EditRecord | null {
    return this.change('redo', () => {
      const row = this.log.firstUndone()
      if (row) this.log.setState(row.id, 'applied')
      return row ? [row] : []
    })[0] ?? null
  }

  /**
   * Goes back to just after edit `edit` (0: before every edit), or to the last edit made at or
   * before `time`, by undoing everything applied since, in one transaction.
   */
  revert(to: { edit: number } | { time: number }): EditRecord[] {
    return this.change('revert', () => {
      const target = 'edit' in to ? to.edit : this.log.lastAppliedAt(to.time)
      if (target !== 0) {
        const row = this.log.get(target)
        if (!row || row.state !== 'applied') throw new StudioError('bad_input', `revert: edit ${target} is not an applied edit`)
      }
      const rows = this.log.appliedAfter(target)
      for (const row of rows) this.log.setState(row.id, 'undone')
      return rows
    })
  }

  /** Edits newest first, in pages: `before` is the smallest id of the previous page. */
  history(options: { limit?: number; before?: number } = {}): EditRecord[] {
    return this.log.list(options.limit ?? 100, options.before)
  }

  /** Applied edits in order with their deltas (for export). */
  appliedEdits(): { record: EditRecord; delta: EditDelta | null }[] {
    return this.log.applied().map((row) => ({ record: toRecord(row), delta: rowDelta(row) }))
  }

  /** The base assignment as stored, sorted by fragment. */
  baseAssignment(): { fragments: Float64Array; segments: Float64Array } {
    return readBaseAssignment(this.db)
  }

  /** Every voxel edits relabelled, with its current fragment. */
  allVoxelEdits(): SparseVoxels {
    return this.current().allVoxels()
  }

  /**
   * Applies edits from a corrections file made on the same base assignment as new edits (origin
   * 'import'), all or nothing: each must find the values before it expects, and locked segments
   * stay locked. Ids the exporting project created (above the base's) get new ids here.
   */
  applyImported(edits: readonly ImportedEdit[]): EditRecord[] {
    const base = this.baseAssignment()
    const records: EditRecord[] = []
    try {
      // The in-memory state advances edit by edit, so each is checked against its predecessors.
      this.stateVersion = writeTransaction(this.db, () => {
        this.sync()
        const state = this.requireBase()
        const remap = idRemapper(maxOf(base.fragments) + 1, maxOf(base.segments) + 1, this.log)
        for (const [i, e] of edits.entries()) {
          const plan = remap(e.plan)
          checkBefore(state, plan, i)
          records.push(this.log.append(plan, { author: e.author, origin: 'import', time: e.time }))
          state.apply(plan.delta, 1)
        }
        return this.log.version()
      })
    } catch (err) {
      this.stateVersion = -1
      throw err
    }
    this.emit({ action: 'import', edits: records, segments: [...new Set(records.flatMap((r) => r.segments))] })
    return records
  }

  close(): void {
    if (!this.db.open) return
    this.db.pragma('optimize')
    this.db.close()
  }

  /* Internals */

  /** The in-memory state, reloaded first if another connection changed the edit history. */
  private current(): ProjectState {
    this.sync()
    return this.state
  }

  private requireBase(): ProjectState {
    const state = this.current()
    if (state.labelShape === null) throw new StudioError('conflict', 'this project has no segmentation yet; run one first')
    return state
  }

  private sync(): void {
    const dataVersion = this.dataVersion.get() as number
    if (dataVersion === this.seenDataVersion && this.stateVersion >= 0) return
    this.seenDataVersion = dataVersion
    if (this.log.version() === this.stateVersion) return
    this.db.transaction(() => {
      const { baseRunId } = this.log.counters()
      const state = new ProjectState(baseRunId === null ? null : getSegmentationRun(this.db, baseRunId).labelShape)
      const base = readBaseAssignment(this.db)
      state.loadBase(base.fragments, base.segments)
      for (const delta of this.log.appliedDeltas()) state.apply(delta, 1)
      this.state = state
      this.stateVersion = this.log.version()
    })()
  }

  /** Plans and commits one edit, then applies it in memory. */
  private edit(plan: () => PlannedEdit, meta: EditMeta = { author: this.author, origin: 'user' }): EditRecord {
    const { record, delta, version } = writeTransaction(this.db, () => {
      this.sync()
      const p = plan()
      return { record: this.log.append(p, meta), delta: p.delta, version: this.log.version() }
    })
    this.advance(version, () => this.state.apply(delta, 1))
    this.emit({ action: 'edit', edits: [record], segments: touchedSegments(record, delta) })
    return record
  }

  /**
   * Undo, redo or revert: `pick` changes edit states in one transaction and returns the rows it
   * changed; their deltas are then applied in memory, backward unless it is a redo.
   */
  private change(action: 'undo' | 'redo' | 'revert', pick: () => EditRow[]): EditRecord[] {
    const { rows, version } = writeTransaction(this.db, () => {
      this.sync()
      const rows = pick()
      if (rows.length > 0) this.log.bump()
      return { rows, version: this.log.version() }
    })
    if (rows.length === 0) return []
    const deltas = rows.map(rowDelta)
    this.advance(version, () => {
      for (const delta of deltas) if (delta) this.state.apply(delta, action === 'redo' ? 1 : -1)
    })
    const state: EditState = action === 'redo' ? 'applied' : 'undone'
    const records = rows.map((row) => ({ ...toRecord(row), state }))
    const segments = new Set(records.flatMap((r, i) => touchedSegments(r, deltas[i])))
    this.emit({ action, edits: records, segments: [...segments] })
    return records
  }

  /**
   * Applies a change committed as edits_version `version` in memory (read inside the transaction:
   * another connection may have committed since). A failure leaves the state to be rebuilt.
   */
  private advance(version: number, apply: () => void): void {
    try {
      apply()
      this.stateVersion = version
    } catch (err) {
      this.stateVersion = -1
      throw err
    }
  }

  private emit(change: ProjectChange): void {
    for (const l of this.listeners) l(change)
  }
}

function touchedSegments(record: EditRecord, delta: EditDelta | null): number[] {
  const out = new Set(record.segments)
  if (delta) for (const id of delta.flags.ids) out.add(id)
  return [...out]
}

function maxOf(a: Float64Array): number {
  let m = 0
  for (const v of a) m = Math.max(m, v)
  return m
}

/** Maps ids at or above the first new fragment / segment id of the base to fresh ids, consistently. */
function idRemapper(firstFragment: number, firstSegment: number, log: EditLog): (plan: PlannedEdit) => PlannedEdit {
  const fragments = new Map<number, number>()
  const segments = new Map<number, number>()
  const mapper = (first: number, seen: Map<number, number>, take: () => number) => (id: number) => {
    if (id < first) return id
    let to = seen.get(id)
    if (to === undefined) seen.set(id, (to = take()))
    return to
  }
  const f = mapper(firstFragment, fragments, () => log.takeFragmentId())
  const s = mapper(firstSegment, segments, () => log.takeSegmentId())
  return (plan) => {
    const { assign, voxels, flags } = plan.delta
    return {
      ...plan,
      segments: plan.segments.map(s),
      delta: {
        assign: changes(assign.ids.map(f), assign.before.map(s), assign.after.map(s), 'fragment'),
        voxels: changes(voxels.ids, voxels.before.map(f), voxels.after.map(f), 'voxel'),
        flags: changes(flags.ids.map(s), flags.before, flags.after, 'segment'),
      },
    }
  }
}

/** Refuses an imported edit whose values before differ from the current ones. */
function checkBefore(state: ProjectState, plan: PlannedEdit, index: number): void {
  const where = `imported edit ${index + 1} (${plan.kind})`
  const { assign, voxels, flags } = plan.delta
  for (let i = 0; i < assign.ids.length; i++) {
    if (state.segmentOf(assign.ids[i]) !== assign.before[i]) {
      throw new StudioError('conflict', `${where}: fragment ${assign.ids[i]} is in segment ${state.segmentOf(assign.ids[i])} here, not ${assign.before[i]}; nothing was imported`)
    }
  }
  for (let i = 0; i < flags.ids.length; i++) {
    if (state.flagsOf(flags.ids[i]) !== flags.before[i]) {
      throw new StudioError('conflict', `${where}: segment ${flags.ids[i]} has a different review state here; nothing was imported`)
    }
  }
  for (let i = 0; i < voxels.ids.length; i++) {
    const current = state.voxelLabel(voxels.ids[i])
    if (current !== undefined && current !== voxels.before[i]) {
      throw new StudioError('conflict', `${where}: voxel ${voxels.ids[i]} is fragment ${current} here, not ${voxels.before[i]}; nothing was imported`)
    }
  }
  if (plan.kind !== 'review' && plan.kind !== 'lock') {
    const touched = new Set<number>([...assign.before, ...assign.after, ...plan.segments])
    touched.delete(0)
    try {
      checkEditable(state, [...touched], 'import')
    } catch (err) {
      throw new StudioError('conflict', `${where}: ${(err as Error).message}; nothing was imported`)
    }
  }
}
