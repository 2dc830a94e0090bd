/**
 * The project schema as a list of migrations; PRAGMA user_version is the number applied.
 * Migrations are append-only: a released one is never edited (test/fixtures/store holds a
 * project made by version 1, which the tests upgrade).
 */
import type Database from 'better-sqlite3'

/** Marks project.sqlite as ours (PRAGMA application_id): "TUST". */
export const APPLICATION_ID = 0x54555354

export interface Migration {
  version: number
  /** What the step changes, for the log and for readers of this file. */
  summary: string
  sql: string
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    summary: 'first schema: sources, models, training runs, segmentation runs, base assignment, edit log, bookmarks',
    sql: `
      PRAGMA application_id = ${APPLICATION_ID};

      -- Volumes the project reads, referenced by path and recognised by size, mtime and a
      -- content hash of a few chunks.
      CREATE TABLE volume_sources (
        id INTEGER PRIMARY KEY,
        role TEXT NOT NULL,
        name TEXT NOT NULL,
        path TEXT NOT NULL,
        -- How to open it (io/open.ts OpenOptions: dataset, channel), JSON.
        open_options TEXT NOT NULL DEFAULT '{}',
        shape TEXT NOT NULL,
        dtype TEXT NOT NULL,
        size INTEGER NOT NULL,
        mtime_ms INTEGER NOT NULL,
        content_hash TEXT NOT NULL,
        added_at INTEGER NOT NULL
      );

      CREATE TABLE training_runs (
        id INTEGER PRIMARY KEY,
        base_model_id INTEGER REFERENCES model_versions(id),
        settings TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('running', 'done', 'failed', 'cancelled')),
        loss_curve TEXT NOT NULL DEFAULT '[]',
        metrics TEXT NOT NULL DEFAULT '{}',
        started_at INTEGER NOT NULL,
        finished_at INTEGER
      );

      CREATE TABLE model_versions (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        file TEXT NOT NULL,
        parent_id INTEGER REFERENCES model_versions(id),
        training_run_id INTEGER REFERENCES training_runs(id),
        metrics TEXT NOT NULL DEFAULT '{}',
        active INTEGER NOT NULL DEFAULT 0 CHECK (active IN (0, 1)),
        created_at INTEGER NOT NULL
      );

      CREATE TABLE segmentation_runs (
        id INTEGER PRIMARY KEY,
        model_version_id INTEGER REFERENCES model_versions(id),
        thresholds TEXT NOT NULL,
        params TEXT NOT NULL DEFAULT '{}',
        label_shape TEXT NOT NULL,
        created_at INTEGER NOT NULL
      );

      -- The fragment -> segment assignment of the base run, in blocks of sorted fragments
      -- (codec.ts columns: fragment ids, segment ids). Written once; edits are deltas on top.
      CREATE TABLE base_assignment (
        block INTEGER PRIMARY KEY,
        fragments INTEGER NOT NULL,
        data BLOB NOT NULL
      );

      -- Every edit, in order. Current state = base assignment + applied edits replayed by id.
      CREATE TABLE edits (
        id INTEGER PRIMARY KEY,
        time INTEGER NOT NULL,
        author TEXT NOT NULL,
        origin TEXT NOT NULL CHECK (origin IN ('user', 'auto', 'import')),
        kind TEXT NOT NULL CHECK (kind IN ('merge', 'split', 'paint', 'erase', 'review', 'lock', 'note', 'reassign')),
        state TEXT NOT NULL CHECK (state IN ('applied', 'undone', 'discarded')),
        run_id INTEGER REFERENCES segmentation_runs(id),
        summary TEXT NOT NULL,
        delta BLOB
      );
      CREATE INDEX edits_by_state ON edits (state, id);

      CREATE TABLE bookmarks (
        id INTEGER PRIMARY KEY,
        z INTEGER NOT NULL,
        y INTEGER NOT NULL,
        x INTEGER NOT NULL,
        segment INTEGER,
        title TEXT NOT NULL,
        author TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        removed_at INTEGER
      );

      -- One row: counters every connection shares.
      CREATE TABLE project (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        created_at INTEGER NOT NULL,
        base_run_id INTEGER REFERENCES segmentation_runs(id),
        -- Ids for new fragments (painting a new object) and segments (split); never reused.
        next_fragment INTEGER NOT NULL DEFAULT 1,
        next_segment INTEGER NOT NULL DEFAULT 1,
        -- Bumped by every edit, undo and redo: a connection whose in-memory state saw another
        -- value reloads it.
        edits_version INTEGER NOT NULL DEFAULT 0
      );
      INSERT INTO project (id, created_at) VALUES (1, CAST(unixepoch('subsec') * 1000 AS INTEGER));
    `,
  },
  {
    version: 2,
    summary: 'loss curves as rows (a training job appends a point per step), at most one active model version',
    sql: `
      CREATE TABLE training_loss (
        run_id INTEGER NOT NULL REFERENCES training_runs(id),
        step INTEGER NOT NULL,
        loss REAL NOT NULL,
        time INTEGER NOT NULL,
        PRIMARY KEY (run_id, step)
      ) WITHOUT ROWID;
      INSERT INTO training_loss (run_id, step, loss, time)
        SELECT r.id, json_extract(p.value, '$.step'), json_extract(p.value, '$.loss'),
               COALESCE(json_extract(p.value, '$.time'), r.started_at)
        FROM training_runs r, json_each(r.loss_curve) p;
      ALTER TABLE training_runs DROP COLUMN loss_curve;

      UPDATE model_versions SET active = 0
        WHERE active = 1 AND id <> (SELECT max(id) FROM model_versions WHERE active = 1);
      CREATE UNIQUE INDEX model_versions_one_active ON model_versions (active) WHERE active = 1;
    `,
  },
  {
    version: 3,
    summary: "a training run records the process running it (host:pid), so a run whose process died is found",
    sql: `ALTER TABLE training_runs ADD COLUMN owner TEXT;`,
  },
]

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version

export function schemaVersion(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number
}

/** Applies the migrations after the current version up to `target`, each in its own transaction. */
export function migrate(db: Database.Database, target = SCHEMA_VERSION): void {
  for (const m of MIGRATIONS) {
    if (m.version <= schemaVersion(db) || m.version > target) continue
    db.transaction(() => {
      db.exec(m.sql)
      db.pragma(`user_version = ${m.version}`)
    }).immediate()
  }
}
