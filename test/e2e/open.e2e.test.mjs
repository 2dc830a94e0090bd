// Opening data from the UI against a plain `tokenunify serve` started as a user's first run: the
// demo project (the same path as the Open demo button) opens by itself, then a volume by its path
// (a .npy written here).
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { RESULTS, launchBrowser, startApp } from './harness.mjs'

let app
let browser
let page
const errors = []

/** A uint8 .npy (format 1.0) of the given (z, y, x) shape: a gradient along x. */
function writeNpy(file, shape) {
  const [z, y, x] = shape
  let header = `{'descr': '|u1', 'fortran_order': False, 'shape': (${z}, ${y}, ${x}), }`
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n'
  const head = Buffer.alloc(10)
  head.write('\x93NUMPY', 0, 'latin1')
  head.writeUInt8(1, 6)
  head.writeUInt16LE(header.length, 8)
  const data = Buffer.alloc(z * y * x)
  for (let i = 0; i < data.length; i++) data[i] = (i % x) * 4
  writeFileSync(file, Buffer.concat([head, Buffer.from(header, 'latin1'), data]))
}

before(async () => {
  app = await startApp([], { firstRun: true })
  browser = await launchBrowser()
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } })
  page.on('pageerror', (e) => errors.push(e.message))
  await page.goto(app.url)
})
after(async () => {
  await browser?.close()
  await app?.stop()
})

test('a first run opens the demo project', async () => {
  await page.waitForFunction(() => window.__studio.view.shape?.join() === '48,512,512', null, { timeout: 60_000 })
  assert.equal(await page.getByTestId('project-name').textContent(), 'demo-project')
})

test('a volume opens by its path and is drawn', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'tokenunify-e2e-')), 'gradient.npy')
  writeNpy(file, [6, 40, 64])
  await page.getByTestId('volume-path').fill(file)
  await page.getByTestId('open-volume').click()
  await page.waitForFunction(() => window.__studio.view.shape?.join() === '6,40,64')
  assert.match(await page.getByTestId('volume-info').textContent(), /6 × 40 × 64 voxels/)
  assert.match(await page.getByTestId('slice-xy').textContent(), /^z 3 \/ 5$/)
  await page.evaluate(() => window.__studio.viewer.whenIdle())
  // A missing file is refused with its name.
  await page.getByTestId('volume-path').fill(`${file}.missing`)
  await page.getByTestId('open-volume').click()
  await page.waitForFunction(() => document.querySelector('[data-testid="notice"]')?.textContent.includes('.missing'))
  await page.screenshot({ path: join(RESULTS, 'open-volume.png') })
  assert.deepEqual(errors, [])
})
