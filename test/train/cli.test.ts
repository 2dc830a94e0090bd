import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { removeTempDirs, reviewedProjectDir } from './helpers'

const BIN = join(import.meta.dirname, '../../bin/tokenunify.js')
const run = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 300_000 })

afterAll(removeTempDirs)

describe('tokenunify train (built CLI)', () => {
  it('fine-tunes a project and prints the new active version', { timeout: 300_000 }, async () => {
    const dir = await reviewedProjectDir(8, 3)
    const r = run('train', '--project', dir, '--scope', 'head', '--steps', '2', '--held-out', '0', '--patch', '16,80,80')
    expect(r.stderr).toMatch(/step 2\/2 loss \d/)
    expect(r.stdout).toMatch(/held-out before: no held-out segments/)
    expect(r.stdout).toMatch(/new active version 2: .*run-1-head\.safetensors/)
    expect(r.status).toBe(0)
  })

  it('refuses a missing project or a bad scope', () => {
    expect(run('train').stderr).toMatch(/--project is required/)
    const bad = run('train', '--project', '/nowhere', '--scope', 'everything')
    expect(bad.status).not.toBe(0)
    expect(bad.stderr).toMatch(/--scope must be one of head, decoder, all/)
  })
})
