/**
 * Finding, checking and connecting to project.sqlite. Every refusal (not a project, a newer
 * schema, a read-only folder) happens before anything is written.
 *
 * Durability: WAL with synchronous=FULL. In WAL mode a commit is written to the -wal file before
 * it returns, so a killed process (SIGKILL, crash) loses nothing with either NORMAL or FULL;
 * NORMAL skips the fsync at commit, so a power cut or OS crash could drop the last few edits.
 * Edits come at human pace and an fsync costs well under the 20 ms an edit may take, so the
 * user's corrections get FULL.
 *
 * Concurrency: one writer at a time (SQLite), readers never wait (WAL). Every write transaction
 * is BEGIN IMMEDIATE, taking the write lock up front, so a busy writer makes others wait up to
 * BUSY_TIMEOUT_MS instead of failing; writers keep transactions short.
 */
import { accessSync, constants, closeSync, existsSync, openSync, readSync, statSync } from 'node:fs'
import { basename, dirname, join, resolve } from 'node:path'
import Database from 'better-sqlite3'
import { StudioError } from '../../../shared/errors'
import { APPLICATION_ID, SCHEMA_VERSION, schemaVersion } from './schema'

export const PROJECT_FILE = 'project.sqlite'
export const BUSY_TIMEOUT_MS = 10_000

export interface ProjectLocation {
  dir: string
  file: string
  /** Schema version read from the file header. */
  version: number
}

/** Resolves a project folder (or its project.sqlite) and checks it can be opened, writing nothing. */
export function locateProject(path: string): ProjectLocation {
  const target = resolve(path)
  if (!existsSync(target)) throw new StudioError('not_found', `${target}: no such project folder`, { file: target })
  const dir = statSync(target).isDirectory() ? target : dirname(target)
  const file = join(dir, PROJECT_FILE)
  if (!statSync(target).isDirectory() && basename(target) !== PROJECT_FILE) {
    throw new StudioError('bad_format', `${target}: not a TokenUnify project (a project is a folder with a ${PROJECT_FILE})`, { file: target })
  }
  if (!existsSync(file)) {
    throw new StudioError('bad_format', `${dir}: not a TokenUnify project (no ${PROJECT_FILE} in the folder)`, { file: dir })
  }
  const header = readHeader(file)
  if (header.magic !== 'SQLite format 3\0') {
    throw new StudioError('bad_format', `${file}: not a TokenUnify project (not an SQLite database)`, { file })
  }
  // While another connection has it open, the newest header may still be in the -wal file.
  const ids = existsSync(`${file}-wal`) && statSync(`${file}-wal`).size > 0 ? readIdsThroughSqlite(file) : header
  if (ids.applicationId !== APPLICATION_ID) {
    throw new StudioError('bad_format', `${file}: an SQLite database, but not a TokenUnify project`, { file })
  }
  checkNewer(ids.userVersion, file)
  for (const p of [dir, file]) {
    try {
      accessSync(p, constants.W_OK)
    } catch {
      throw new StudioError('bad_input', `${dir}: the project folder is read-only; copy it to a writable folder to work on it`, { file: dir })
    }
  }
  return { dir, file, version: ids.userVersion }
}

/**
 * A read-write connection with the project pragmas. It re-reads the schema version the header
 * showed: a -wal file left by a crash may hold a newer one.
 */
export function connect(file: string): Database.Database {
  const db = new Database(file, { fileMustExist: true, timeout: BUSY_TIMEOUT_MS })
  try {
    checkNewer(schemaVersion(db), file)
    db.pragma('journal_mode = WAL')
    db.pragma('synchronous = FULL')
    db.pragma('foreign_keys = ON')
    return db
  } catch (err) {
    db.close()
    throw err
  }
}

/** A new, empty project.sqlite (schema version 0) in WAL mode; the caller migrates it. */
export function createDatabase(file: string): Database.Database {
  const db = new Database(file, { timeout: BUSY_TIMEOUT_MS })
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = FULL')
  db.pragma('foreign_keys = ON')
  return db
}

/** Runs `fn` as one BEGIN IMMEDIATE transaction (see the concurrency note above). */
export function writeTransaction<T>(db: Database.Database, fn: () => T): T {
  return db.transaction(fn).immediate()
}

function checkNewer(version: number, file: string): void {
  if (version > SCHEMA_VERSION) {
    throw new StudioError(
      'unsupported',
      `${file}: made by a newer TokenUnify Studio (project schema v${version}; this version reads up to v${SCHEMA_VERSION}). Nothing was changed.`,
      { file },
    )
  }
}

function readIdsThroughSqlite(file: string): { userVersion: number; applicationId: number } {
  const db = new Database(file, { readonly: true, fileMustExist: true, timeout: BUSY_TIMEOUT_MS })
  try {
    return { userVersion: schemaVersion(db), applicationId: db.pragma('application_id', { simple: true }) as number }
  } finally {
    db.close()
  }
}

/** The fields of the 100-byte SQLite header we need (https://sqlite.org/fileformat.html). */
function readHeader(file: string): { magic: string; userVersion: number; applicationId: number } {
  const bytes = new Uint8Array(100)
  const fd = openSync(file, 'r')
  let n: number
  try {
    n = readSync(fd, bytes, 0, 100, 0)
  } finally {
    closeSync(fd)
  }
  if (n < 100) return { magic: '', userVersion: 0, applicationId: 0 }
  const view = new DataView(bytes.buffer)
  return {
    magic: new TextDecoder('latin1').decode(bytes.subarray(0, 16)),
    userVersion: view.getUint32(60),
    applicationId: view.getUint32(68),
  }
}
