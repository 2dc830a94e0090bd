/**
 * Model versions (a file in the project's models/ folder, its parent, the training run that made
 * it, metrics, which one is active) and training runs (settings, loss curve, metrics). Both work
 * on any connection, so a training job can record from its own (see openProjectDatabase).
 */
import { existsSync } from 'node:fs'
import { isAbsolute, join, normalize } from 'node:path'
import type Database from 'better-sqlite3'
import { StudioError } from '../../../shared/errors'
import type { LossPoint, ModelVersion, TrainingRun, TrainingRunState } from '../../../shared/types'
import { writeTransaction } from './database'

interface ModelRow {
  id: number
  name: string
  file: string
  parent_id: number | null
  training_run_id: number | null
  metrics: string
  active: number
  created_at: number
}

export interface NewModelVersion {
  name: string
  /** The model file, relative to models/; it must exist. */
  file: string
  parentId?: number
  trainingRunId?: number
  metrics?: Record<string, number>
  /** Make it the active version at once. */
  activate?: boolean
}

export class ModelRegistry {
  constructor(
    private readonly db: Database.Database,
    private readonly modelsDir: string,
  ) {}

  record(v: NewModelVersion): ModelVersion {
    const file = normalize(v.file)
    if (isAbsolute(file) || file.startsWith('..')) {
      throw new StudioError('bad_input', `model file ${v.file}: give a path inside the project's models/ folder`)
    }
    if (!existsSync(join(this.modelsDir, file))) {
      throw new StudioError('not_found', `${join(this.modelsDir, file)}: no such model file`, { file: join(this.modelsDir, file) })
    }
    const id = writeTransaction(this.db, () => {
      const id = Number(
        this.db
          .prepare('INSERT INTO model_versions (name, file, parent_id, training_run_id, metrics, created_at) VALUES (?, ?, ?, ?, ?, ?)')
          .run(v.name, file, v.parentId ?? null, v.trainingRunId ?? null, JSON.stringify(v.metrics ?? {}), Date.now()).lastInsertRowid,
      )
      if (v.activate) this.setActive(id)
      return id
    })
    return this.get(id)
  }

  /** Makes `id` the one active version. */
  activate(id: number): ModelVersion {
    writeTransaction(this.db, () => {
      this.get(id)
      this.setActive(id)
    })
    return this.get(id)
  }

  /** Activates the parent of the active version: undoes a fine-tuning that made things worse. */
  rollback(): ModelVersion {
    const parent = writeTransaction(this.db, () => {
      const current = this.active()
      if (!current) throw new StudioError('conflict', 'no model version is active; nothing to roll back')
      if (current.parentId === null) throw new StudioError('conflict', `model version "${current.name}" has no parent to roll back to`)
      this.setActive(current.parentId)
      return current.parentId
    })
    return this.get(parent)
  }

  active(): ModelVersion | null {
    const row = this.db.prepare('SELECT * FROM model_versions WHERE active = 1').get() as ModelRow | undefined
    return row ? toModel(row) : null
  }

  get(id: number): ModelVersion {
    const row = this.db.prepare('SELECT * FROM model_versions WHERE id = ?').get(id) as ModelRow | undefined
    if (!row) throw new StudioError('not_found', `no model version with id ${id} in this project`)
    return toModel(row)
  }

  /** Every version, oldest first. */
  list(): ModelVersion[] {
    return (this.db.prepare('SELECT * FROM model_versions ORDER BY id').all() as ModelRow[]).map(toModel)
  }

  private setActive(id: number): void {
    this.db.prepare('UPDATE model_versions SET active = 0 WHERE active = 1').run()
    this.db.prepare('UPDATE model_versions SET active = 1 WHERE id = ?').run(id)
  }
}

interface RunRow {
  id: number
  base_model_id: number | null
  settings: string
  state: TrainingRunState
  metrics: string
  started_at: number
  finished_at: number | null
}

export class TrainingLog {
  constructor(private readonly db: Database.Database) {}

  /** owner: the process that runs it (host:pid), for interrupted(). */
  start(settings: Record<string, unknown>, baseModelId?: number, owner?: string): TrainingRun {
    const id = writeTransaction(this.db, () =>
      Number(
        this.db
          .prepare("INSERT INTO training_runs (base_model_id, settings, state, started_at, owner) VALUES (?, ?, 'running', ?, ?)")
          .run(baseModelId ?? null, JSON.stringify(settings), Date.now(), owner ?? null).lastInsertRowid,
      ),
    )
    return this.get(id)
  }

  /** Marks 'failed' the runs still 'running' whose owner `alive` says is gone; returns them. */
  failInterrupted(alive: (owner: string | null) => boolean): TrainingRun[] {
    const rows = this.db.prepare("SELECT id, owner FROM training_runs WHERE state = 'running'").all() as { id: number; owner: string | null }[]
    const gone = rows.filter((r) => !alive(r.owner)).map((r) => r.id)
    writeTransaction(this.db, () => {
      const mark = this.db.prepare("UPDATE training_runs SET state = 'failed', metrics = ?, finished_at = ? WHERE id = ? AND state = 'running'")
      for (const id of gone) mark.run(JSON.stringify({ interrupted: 1 }), Date.now(), id)
    })
    return gone.map((id) => this.get(id))
  }

  /** Appends loss points (one short transaction; call it every few steps). */
  appendLoss(runId: number, points: readonly { step: number; loss: number; time?: number }[]): void {
    const insert = this.db.prepare('INSERT INTO training_loss (run_id, step, loss, time) VALUES (?, ?, ?, ?)')
    writeTransaction(this.db, () => {
      this.requireRunning(runId)
      for (const p of points) insert.run(runId, p.step, p.loss, p.time ?? Date.now())
    })
  }

  finish(runId: number, state: Exclude<TrainingRunState, 'running'>, metrics: Record<string, number> = {}): TrainingRun {
    writeTransaction(this.db, () => {
      this.requireRunning(runId)
      this.db.prepare('UPDATE training_runs SET state = ?, metrics = ?, finished_at = ? WHERE id = ?').run(state, JSON.stringify(metrics), Date.now(), runId)
    })
    return this.get(runId)
  }

  get(id: number): TrainingRun {
    const row = this.db.prepare('SELECT * FROM training_runs WHERE id = ?').get(id) as RunRow | undefined
    if (!row) throw new StudioError('not_found', `no training run with id ${id} in this project`)
    return toRun(row)
  }

  list(): TrainingRun[] {
    return (this.db.prepare('SELECT * FROM training_runs ORDER BY id').all() as RunRow[]).map(toRun)
  }

  lossCurve(runId: number): LossPoint[] {
    return this.db.prepare('SELECT step, loss, time FROM training_loss WHERE run_id = ? ORDER BY step').all(runId) as LossPoint[]
  }

  private requireRunning(runId: number): void {
    const run = this.get(runId)
    if (run.state !== 'running') throw new StudioError('conflict', `training run ${runId} has finished (${run.state})`)
  }
}

function toModel(row: ModelRow): ModelVersion {
  return {
    id: row.id,
    name: row.name,
    file: row.file,
    parentId: row.parent_id,
    trainingRunId: row.training_run_id,
    metrics: JSON.parse(row.metrics) as Record<string, number>,
    active: row.active === 1,
    createdAt: row.created_at,
  }
}

function toRun(row: RunRow): TrainingRun {
  return {
    id: row.id,
    baseModelId: row.base_model_id,
    settings: JSON.parse(row.settings) as Record<string, unknown>,
    state: row.state,
    metrics: JSON.parse(row.metrics) as Record<string, number>,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
  }
}
