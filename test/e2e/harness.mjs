// Shared pieces of the end-to-end tests: the app in browser mode, and Debian's Chromium.
import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { decode } from 'fast-png'
import { chromium } from 'playwright-core'

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..')
export const RESULTS = join(ROOT, 'test-results')
mkdirSync(RESULTS, { recursive: true })

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
]

/**
 * Starts `tokenunify serve` and resolves once it prints its URL. The app's per-user folder is a
 * new temporary one, marked as past its first run unless `firstRun` (which opens the demo).
 */
export async function startApp(args = [], { firstRun = false } = {}) {
  const data = mkdtempSync(join(tmpdir(), 'tokenunify-e2e-user-'))
  if (!firstRun) writeFileSync(join(data, 'first-run.txt'), 'e2e\n')
  const child = spawn(process.execPath, [join(ROOT, 'bin/tokenunify.js'), 'serve', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, TOKENUNIFY_DATA_DIR: data },
  })
  let stderr = ''
  child.stderr.on('data', (d) => (stderr += d.toString()))
  const url = await new Promise((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => reject(new Error(`serve printed no URL in 60 s\n${out}\n${stderr}`)), 60_000)
    child.stdout.on('data', (d) => {
      out += d.toString()
      const m = /http:\/\/127\.0\.0\.1:\d+\/\?token=\S+/.exec(out)
      if (m) {
        clearTimeout(timer)
        resolve(m[0])
      }
    })
    child.once('exit', (code) => reject(new Error(`serve exited with ${code}\n${stderr}`)))
  })
  return {
    url,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve()
        child.once('exit', () => resolve())
        child.kill('SIGTERM')
      }),
  }
}

export async function launchBrowser() {
  return chromium.launch({ executablePath: CHROMIUM, args: FLAGS, headless: true })
}

/** RGBA of one pixel of a PNG screenshot (decoded here: the app page's CSP refuses data: fetches). */
export function pixelAt(png, x, y) {
  const img = decode(png)
  const channels = img.channels
  const at = (y * img.width + x) * channels
  const px = [...img.data.subarray(at, at + channels)]
  return channels === 4 ? px : [...px, 255]
}
