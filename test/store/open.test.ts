import { spawnSync } from 'node:child_process'
import { chmodSync, cpSync, existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, describe, expect, it } from 'vitest'
import { StudioError } from '../../src/shared/errors'
import { createProject, openProject } from '../../src/main/engine/store/project'
import { SCHEMA_VERSION } from '../../src/main/engine/store/schema'
import { folderDigest, makeProject, REPO, removeTempDirs, tempDir } from './helpers'

afterAll(removeTempDirs)

const FIXTURE = join(REPO, 'test/fixtures/store/v1-project')
const T0 = 1_750_000_000_000

function openError(path: string): StudioError {
  try {
    openProject(path).close()
  } catch (err) {
    expect(err).toBeInstanceOf(StudioError)
    return err as StudioError
  }
  throw new Error(`opening ${path} should have failed`)
}

describe('project store: schema versions', () => {
  it('upgrades a project made by schema version 1, keeping every edit, and backs the old file up', async () => {
    const fixtureBefore = folderDigest(FIXTURE)
    const dir = join(tempDir(), 'v1')
    cpSync(FIXTURE, dir, { recursive: true })
    const p = openProject(dir)
    expect(p.info().schemaVersion).toBe(SCHEMA_VERSION)
    expect(p.db.pragma('integrity_check', { simple: true })).toBe('ok')
    expect(existsSync(join(dir, 'cache'))).toBe(true)
    expect(existsSync(join(dir, 'models'))).toBe(true)

    // The edit log replays into the state v1 left: merge 2 into 1, split 21-22 off 3, review 1, paint.
    expect(p.segmentState(1)).toEqual({ segment: 1, fragments: 20, reviewed: true, locked: false })
    expect([...p.fragmentsOf(21)]).toEqual([21, 22])
    expect(p.voxelEdits({ start: [0, 3, 0], stop: [1, 4, 32] })).toEqual({ indices: Float64Array.of(100, 101, 102), labels: Float64Array.of(5, 5, 5) })
    expect(p.history().map((e) => [e.kind, e.state, e.author])).toEqual([
      ['note', 'applied', 'bob'],
      ['lock', 'undone', 'bob'],
      ['paint', 'applied', 'bob'],
      ['review', 'applied', 'ann'],
      ['split', 'applied', 'ann'],
      ['merge', 'applied', 'ann'],
    ])
    expect(p.history()[0].note).toBe('checked against the raw data')
    // The undone lock can still be redone; new ids continue after v1's.
    expect(p.redo()?.kind).toBe('lock')
    expect(p.segmentState(4).locked).toBe(true)
    expect(p.split(5, [41]).segments[1]).toBe(22)

    // v2 moved loss curves into rows (a point without a time takes the run's start) ...
    expect(p.training.lossCurve(1)).toEqual([
      { step: 0, loss: 0.9, time: T0 + 1000 },
      { step: 10, loss: 0.5, time: T0 + 2000 },
      { step: 20, loss: 0.25, time: T0 },
    ])
    const columns = (p.db.prepare('PRAGMA table_info(training_runs)').all() as { name: string }[]).map((c) => c.name)
    expect(columns).not.toContain('loss_curve')
    // ... and keeps one active model version: v1 had two.
    expect(p.models.list().map((m) => [m.name, m.active, m.parentId])).toEqual([
      ['default', false, null],
      ['tuned', true, 1],
    ])
    expect(p.bookmarks.list()).toMatchObject([{ title: 'odd branch', position: [2, 16, 16], segment: 1 }])
    expect((await p.sources.check()).map((s) => s.status)).toEqual(['missing'])
    p.close()

    const backup = new Database(join(dir, 'project.v1.backup.sqlite'), { readonly: true })
    expect(backup.pragma('user_version', { simple: true })).toBe(1)
    expect(backup.prepare('SELECT count(*) FROM edits').pluck().get()).toBe(6)
    backup.close()
    // Opening again migrates nothing and makes no second backup.
    openProject(dir).close()
    expect(Object.keys(folderDigest(dir)).filter((f) => f.includes('backup'))).toEqual(['project.v1.backup.sqlite'])
    expect(folderDigest(FIXTURE)).toEqual(fixtureBefore)
  })

  it('refuses a project made by a newer version and changes nothing', () => {
    const dir = join(tempDir(), 'newer')
    makeProject(dir, { fragments: 10, segmentSize: 2, labelShape: [2, 2, 2] }).close()
    const db = new Database(join(dir, 'project.sqlite'))
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`)
    db.close()
    const before = folderDigest(dir)
    const err = openError(dir)
    expect(err.code).toBe('unsupported')
    expect(err.message).toMatch(new RegExp(`project\\.sqlite: made by a newer TokenUnify Studio \\(project schema v${SCHEMA_VERSION + 1}`))
    expect(err.file).toBe(join(dir, 'project.sqlite'))
    expect(folderDigest(dir)).toEqual(before)
  })
})

describe('project store: refusing what is not a project', () => {
  it('names the file and the problem, and changes nothing', () => {
    const root = tempDir()
    const empty = join(root, 'empty')
    mkdirSync(empty)
    expect(openError(empty).message).toBe(`${empty}: not a TokenUnify project (no project.sqlite in the folder)`)

    const text = join(root, 'text')
    mkdirSync(text)
    writeFileSync(join(text, 'project.sqlite'), 'just some notes, not a database\n'.repeat(10))
    const textBefore = folderDigest(text)
    expect(openError(text).message).toBe(`${join(text, 'project.sqlite')}: not a TokenUnify project (not an SQLite database)`)
    expect(folderDigest(text)).toEqual(textBefore)

    const other = join(root, 'other')
    mkdirSync(other)
    const db = new Database(join(other, 'project.sqlite'))
    db.exec('CREATE TABLE photos (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO photos (name) VALUES (\'cat\')')
    db.close()
    const otherBefore = folderDigest(other)
    const err = openError(join(other, 'project.sqlite'))
    expect(err.code).toBe('bad_format')
    expect(err.message).toBe(`${join(other, 'project.sqlite')}: an SQLite database, but not a TokenUnify project`)
    expect(folderDigest(other)).toEqual(otherBefore)

    const file = join(root, 'volume.tif')
    writeFileSync(file, 'II*\0')
    expect(openError(file).message).toMatch(/volume\.tif: not a TokenUnify project \(a project is a folder with a project\.sqlite\)/)
    expect(openError(join(root, 'nowhere')).code).toBe('not_found')
    expect(() => createProject(other)).toThrow(/exists and is not an empty folder/)
  })

  it('refuses a read-only folder and changes nothing', () => {
    const root = tempDir()
    chmodSync(root, 0o755)
    const dir = join(root, 'p')
    makeProject(dir, { fragments: 10, segmentSize: 2, labelShape: [2, 2, 2] }).close()
    const before = folderDigest(dir)
    chmodSync(dir, 0o555)
    try {
      // root writes through permission bits, so the attempt runs as "nobody" when the tests run as root.
      const asRoot = process.getuid?.() === 0
      const child = spawnSync(process.execPath, ['--import', 'tsx', join(REPO, 'test/store/open-child.ts'), dir], {
        cwd: REPO,
        encoding: 'utf8',
        ...(asRoot ? { uid: 65534, gid: 65534 } : {}),
      })
      expect(child.stderr).toBe('')
      expect(JSON.parse(child.stdout)).toEqual({
        code: 'bad_input',
        message: `${dir}: the project folder is read-only; copy it to a writable folder to work on it`,
      })
    } finally {
      chmodSync(dir, 0o755)
    }
    expect(folderDigest(dir)).toEqual(before)
  })
})
