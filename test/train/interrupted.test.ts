import { spawn, spawnSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { createEngine } from '../../src/main/engine/api'
import { MODELS_DIR, openProject } from '../../src/main/engine/store/project'
import { recoverInterruptedRuns } from '../../src/main/engine/train/job'
import { removeTempDirs, reviewedProjectDir, syntheticProject, tempDir } from './helpers'

const BIN = join(import.meta.dirname, '../../bin/tokenunify.js')

afterAll(removeTempDirs)

describe('a training process that dies', () => {
  it('leaves the previous model active; opening the project marks the run failed and removes its weight files', { timeout: 300_000 }, async () => {
    const dir = await reviewedProjectDir(8, 3)
    // Killed (SIGKILL: no cleanup runs) after its first periodic checkpoint (every 50 steps).
    const child = spawn(process.execPath, [BIN, 'train', '--project', dir, '--scope', 'head', '--steps', '100000', '--held-out', '0', '--patch', '16,80,80'], { stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    await new Promise<void>((resolve, reject) => {
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString()
        if (/step 60\//.test(stderr)) child.kill('SIGKILL')
      })
      child.once('exit', (_code, signal) => (signal === 'SIGKILL' ? resolve() : reject(new Error(`train ended by itself: ${stderr}`))))
    })
    const models = join(dir, MODELS_DIR)
    expect(readdirSync(models)).toContain('run-1.partial.safetensors')
    const before = openProject(dir)
    expect(before.training.get(1).state).toBe('running')
    expect(before.models.active()!.name).toBe('bundled default')
    before.close()

    const engine = createEngine({ mode: 'cli' })
    await engine.call('project.open', { dir, author: 'ann' })
    const runs = await engine.call('train.runs', {})
    expect(runs.map((r) => [r.id, r.state, r.metrics.interrupted])).toEqual([[1, 'failed', 1]])
    const versions = await engine.call('train.versions', {})
    expect(versions.map((v) => [v.name, v.active])).toEqual([['bundled default', true]])
    expect(readdirSync(models)).toEqual([versions[0].file])
    await engine.close()
  })

  it('leaves alone runs whose process is alive or on another machine', async () => {
    const dir = join(tempDir(), 'alive')
    const t = await syntheticProject(dir, { shape: [16, 64, 64], seed: 3 })
    const dead = spawnSync(process.execPath, ['-e', '0']).pid
    const mine = t.project.training.start({}, undefined, `${hostname()}:${process.pid}`)
    const elsewhere = t.project.training.start({}, undefined, `another-machine:${dead}`)
    const orphan = t.project.training.start({}, undefined, `${hostname()}:${dead}`)
    const unowned = t.project.training.start({})
    expect(recoverInterruptedRuns(t.project).map((r) => r.id)).toEqual([orphan.id, unowned.id])
    expect([mine, elsewhere].map((r) => t.project.training.get(r.id).state)).toEqual(['running', 'running'])
    t.project.close()
  })
})
