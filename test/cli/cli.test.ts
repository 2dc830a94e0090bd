import { spawnSync, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

const ROOT = join(import.meta.dirname, '../..')
const BIN = join(ROOT, 'bin/tokenunify.js')

function run(...args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 30_000 })
}

describe('tokenunify CLI (built)', () => {
  it('prints help listing serve, and the package version', () => {
    const help = run('--help')
    expect(help.status).toBe(0)
    expect(help.stdout).toMatch(/Usage: tokenunify <command>/)
    expect(help.stdout).toMatch(/^\s+serve\s+/m)
    const version = run('--version')
    expect(version.stdout.trim()).toBe(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version)
  })

  it('refuses an unknown command with exit code 2', () => {
    const r = run('frobnicate')
    expect(r.status).toBe(2)
    expect(r.stderr).toContain("unknown command 'frobnicate'")
  })

  it('serve prints a tokened 127.0.0.1 URL that serves the app and refuses requests without the token', async () => {
    const child = spawn(process.execPath, [BIN, 'serve'], { stdio: ['ignore', 'pipe', 'pipe'] })
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = ''
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString()
          const m = /http:\/\/127\.0\.0\.1:\d+\/\?token=\S+/.exec(out)
          if (m) resolve(m[0])
        })
        child.once('exit', (code) => reject(new Error(`serve exited with ${code}`)))
      })
      const page = await fetch(url)
      expect(page.status).toBe(200)
      expect(await page.text()).toContain('<div id="app">')
      expect((await fetch(new URL('/', url))).status).toBe(401)
    } finally {
      child.kill('SIGTERM')
    }
  })
})
