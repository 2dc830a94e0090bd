// Shared pieces of the end-to-end tests: the app in browser mode, and Debian's Chromium.
import { spawn } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
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

/** Starts `tokenunify serve` and resolves once it prints its URL. */
export async function startApp(args = []) {
  const child = spawn(process.execPath, [join(ROOT, 'bin/tokenunify.js'), 'serve', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
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

/** RGBA of one pixel of a PNG screenshot, decoded in the page's own canvas. */
export async function pixelAt(page, png, x, y) {
  return page.evaluate(
    async ({ b64, x, y }) => {
      const img = await createImageBitmap(await (await fetch(`data:image/png;base64,${b64}`)).blob())
      const c = new OffscreenCanvas(img.width, img.height)
      const ctx = c.getContext('2d')
      ctx.drawImage(img, 0, 0)
      return [...ctx.getImageData(x, y, 1, 1).data]
    },
    { b64: png.toString('base64'), x, y },
  )
}
