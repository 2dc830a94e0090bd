import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { makeStreamProject, rng, step } from './edit-stream'
import { REPO, removeTempDirs, tempDir } from './helpers'

afterAll(removeTempDirs)

const EDITS = 150

describe('project store: concurrency', () => {
  it('edits never fail with a locked database while a background job writes', async () => {
    const project = makeStreamProject(join(tempDir(), 'p'))
    const child = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'test/store/writer-child.ts'), project.dir], {
      cwd: REPO,
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
    while (!stdout.includes('ready') && child.exitCode === null) await new Promise((r) => setTimeout(r, 5))

    // Edit while the job writes, yielding now and then as the UI's event loop would.
    const random = rng(99)
    const pointsBefore = () => project.db.prepare('SELECT count(*) FROM training_loss').pluck().get() as number
    const atStart = pointsBefore()
    for (let edits = 0; edits < EDITS; ) {
      if (step(project, random)) edits++
      if (edits % 5 === 0) await new Promise((r) => setImmediate(r))
    }
    const duringEdits = pointsBefore() - atStart
    child.stdin.end()
    expect(await exited).toBe(0)
    expect(stderr).toBe('')

    const [runId, points, runs] = (/done (\d+) (\d+) (\d+)/.exec(stdout) ?? []).slice(1).map(Number)
    expect(duringEdits).toBeGreaterThan(10)
    expect(project.training.get(runId).state).toBe('done')
    expect(project.training.lossCurve(runId).length).toBe(points)
    expect(project.db.prepare('SELECT count(*) FROM segmentation_runs').pluck().get()).toBe(1 + runs)
    expect(project.db.prepare("SELECT count(*) FROM edits WHERE author = 'stream'").pluck().get()).toBeGreaterThan(EDITS / 2)
    project.close()
  })
})
