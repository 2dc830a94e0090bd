import { spawn } from 'node:child_process'
import { join } from 'node:path'
import type Database from 'better-sqlite3'
import { afterAll, describe, expect, it } from 'vitest'
import { openProject } from '../../src/main/engine/store/project'
import { makeStreamProject, rng, step } from './edit-stream'
import { REPO, removeTempDirs, snapshot, tempDir } from './helpers'

afterAll(removeTempDirs)

const STREAM_LENGTH = 1000
const KILL_AFTER = 250

const editsVersion = (db: Database.Database) => db.prepare('SELECT edits_version FROM project').pluck().get() as number
const editLog = (db: Database.Database) => db.prepare('SELECT id, kind, state, origin, author, summary, delta FROM edits ORDER BY id').all()

describe('project store: crash safety', () => {
  it('keeps every committed edit, and nothing half-applied, when the process is killed mid-stream', async () => {
    const dir = join(tempDir(), 'p')
    const setup = makeStreamProject(dir)
    const startVersion = editsVersion(setup.db)
    setup.close()

    const child = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'test/store/crash-child.ts'), dir, String(STREAM_LENGTH)], {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const reported: { count: number; id: number }[] = []
    let pending = ''
    let stderr = ''
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    child.stdout.on('data', (d: Buffer) => {
      pending += d.toString()
      const lines = pending.split('\n')
      pending = lines.pop() as string
      for (const line of lines) {
        const [count, id] = line.split(' ').map(Number)
        reported.push({ count, id })
      }
      if (reported.length >= KILL_AFTER && child.exitCode === null) child.kill('SIGKILL')
    })
    const exit = await new Promise<{ code: number | null; signal: string | null }>((resolve) =>
      child.on('exit', (code, signal) => resolve({ code, signal })),
    )
    expect(stderr).toBe('')
    expect(exit.signal).toBe('SIGKILL')
    const last = reported[reported.length - 1].count
    expect(last).toBeGreaterThanOrEqual(KILL_AFTER)
    expect(last).toBeLessThan(STREAM_LENGTH)

    const project = openProject(dir)
    expect(project.db.pragma('integrity_check', { simple: true })).toBe('ok')
    // The kill may land after a commit and before its line was printed: one more, never fewer.
    const committed = editsVersion(project.db) - startVersion
    expect([last, last + 1]).toContain(committed)
    const ids = new Set((editLog(project.db) as { id: number }[]).map((e) => e.id))
    for (const r of reported) expect(ids.has(r.id)).toBe(true)

    // State and log equal exactly `committed` operations of the same stream, run without a crash.
    const reference = makeStreamProject(join(tempDir(), 'reference'))
    const random = rng()
    for (let done = 0; done < committed; ) if (step(reference, random)) done++
    expect(snapshot(project)).toEqual(snapshot(reference))
    expect(editLog(project.db)).toEqual(editLog(reference.db))
    // And the reopened project goes on working: undo the last edit.
    expect(project.undo()).not.toBeNull()
    project.close()
    reference.close()
  })
})
