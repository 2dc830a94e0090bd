// Proofreading in Chromium against `tokenunify serve --demo`: the synthetic demo volume drawn with
// its segmentation, navigation, selection, the layouts and the help overlay. Screenshots go to
// test-results/.
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { join } from 'node:path'
import { RESULTS, launchBrowser, pixelAt, startApp } from './harness.mjs'

let app
let browser
let page
const errors = []

before(async () => {
  app = await startApp(['--demo'])
  browser = await launchBrowser()
  page = await browser.newPage({ viewport: { width: 1440, height: 900 } })
  page.on('pageerror', (e) => errors.push(e.message))
  await page.goto(app.url)
  await page.waitForFunction(() => window.__studio.view.shape !== null, null, { timeout: 60_000 })
  await idle()
})
after(async () => {
  await browser?.close()
  await app?.stop()
})

/** Waits until every chunk the views need is loaded and drawn. */
async function idle() {
  await page.evaluate(() => window.__studio.viewer.whenIdle())
}

async function paneBox(view) {
  return page.getByTestId(`pane-${view}`).boundingBox()
}

/** Moves the mouse over a point of a pane (fractions of its size) and returns what the status bar knows there. */
async function hoverAt(view, fx, fy) {
  const b = await paneBox(view)
  const x = Math.round(b.x + b.width * fx)
  const y = Math.round(b.y + b.height * fy)
  await page.mouse.move(x, y)
  const hover = await page.waitForFunction(() => window.__studio.view.hover).then((h) => h.jsonValue())
  return { x, y, hover }
}

async function sliceText(view) {
  return page.getByTestId(`slice-${view}`).textContent()
}

test('the demo opens: raw data in grey, the segmentation overlay in its segment colours', async () => {
  const info = await page.getByTestId('volume-info').textContent()
  assert.match(info, /48 × 512 × 512 voxels · 40 × 8 × 8 nm/)
  const { x, y, hover } = await hoverAt('xy', 0.43, 0.41)
  assert.ok(hover.label > 0, 'the demo labels every voxel')
  assert.match(await page.getByTestId('hover-segment').textContent(), new RegExp(`segment ${hover.label}`))
  // The crosshair passes through the centre: sample a little away from it.
  await page.mouse.move(0, 0)
  await idle()
  const expected = await page.evaluate(({ voxel, label }) => {
    const s = window.__studio
    const raw = s.viewer.probe(voxel).raw
    const [lo, hi] = s.view.window
    const g = Math.min(1, Math.max(0, (raw - lo) / (hi - lo)))
    const c = s.segments.colorOf(s.segments.segmentOf(label)).map((v) => v / 255)
    const a = s.view.opacity
    return { grey: Math.round(g * 255), blend: c.map((v) => Math.round(255 * (g * (1 - a) + v * a))) }
  }, hover)

  const shot = await page.screenshot({ path: join(RESULTS, 'proofread-demo.png') })
  const [r, g, b] = pixelAt(shot, x, y)
  for (const [got, want] of [[r, expected.blend[0]], [g, expected.blend[1]], [b, expected.blend[2]]]) {
    assert.ok(Math.abs(got - want) <= 8, `overlay pixel (${r}, ${g}, ${b}) is not the segment colour blend (${expected.blend.join(', ')})`)
  }
  assert.ok(Math.max(r, g, b) - Math.min(r, g, b) >= 12, `overlay pixel (${r}, ${g}, ${b}) is grey`)

  // Key 2 hides the segmentation: the same pixel is the raw grey level.
  await page.keyboard.press('2')
  await idle()
  const plain = pixelAt(await page.screenshot({ path: join(RESULTS, 'proofread-raw.png') }), x, y)
  for (const v of plain.slice(0, 3)) assert.ok(Math.abs(v - expected.grey) <= 3, `raw pixel ${plain} is not grey ${expected.grey}`)
  await page.keyboard.press('2')
  await idle()
})

test('wheel and , . step slices; Shift+wheel steps 10; right-click moves every view there', async () => {
  const b = await paneBox('xy')
  const before = await sliceText('xy')
  assert.match(before, /^z 24 \/ 47$/)
  await page.mouse.move(b.x + b.width * 0.3, b.y + b.height * 0.3)
  await page.mouse.wheel(0, 100)
  await page.waitForFunction(() => document.querySelector('[data-testid="slice-xy"]').textContent.startsWith('z 25 '))
  await page.keyboard.down('Shift')
  await page.mouse.wheel(0, 100)
  await page.keyboard.up('Shift')
  await page.waitForFunction(() => document.querySelector('[data-testid="slice-xy"]').textContent.startsWith('z 35 '))
  await page.keyboard.press(',')
  await page.waitForFunction(() => document.querySelector('[data-testid="slice-xy"]').textContent.startsWith('z 34 '))
  // Right-click: the crosshair jumps to the point, so the XZ and YZ views change their slice.
  const xzBefore = await sliceText('xz')
  await page.mouse.click(b.x + b.width * 0.3, b.y + b.height * 0.3, { button: 'right' })
  const [, y] = (await page.evaluate(() => window.__studio.view.slice))
  assert.notEqual(await sliceText('xz'), xzBefore)
  assert.equal(await sliceText('xz'), `y ${y} / 511`)
  await idle()
  await page.screenshot({ path: join(RESULTS, 'proofread-scrolled.png') })
})

test('double-click selects the segment under the mouse and meshes it in 3D; Shift+X clears the selection', async () => {
  const { x, y, hover } = await hoverAt('xy', 0.62, 0.4)
  await page.mouse.dblclick(x, y)
  await page.getByTestId(`selected-${hover.label}`).waitFor()
  assert.deepEqual(await page.evaluate(() => window.__studio.segments.selected), [hover.label])
  await page.waitForFunction((id) => window.__studio.viewer.segmentMeshIds().includes(id), hover.label, { timeout: 30_000 })
  // Show selected only hides every other segment: a neighbouring pixel of another segment turns grey.
  await page.getByTestId('selected-only').check()
  await idle()
  await page.screenshot({ path: join(RESULTS, 'proofread-selected.png') })
  await page.getByTestId('selected-only').uncheck()
  await page.keyboard.press('Shift+X')
  await page.waitForFunction(() => window.__studio.segments.selected.length === 0)
  await page.waitForFunction(() => window.__studio.viewer.segmentMeshIds().length === 0)
})

test('layouts: z, y, x maximise a view, Space toggles four panes', async () => {
  const panes = () => page.locator('[data-testid^="pane-"]').count()
  await page.keyboard.press('z')
  assert.equal(await panes(), 1)
  await page.getByTestId('pane-xy').waitFor()
  await page.keyboard.press('x')
  await page.getByTestId('pane-yz').waitFor()
  await idle()
  await page.screenshot({ path: join(RESULTS, 'proofread-yz.png') })
  await page.keyboard.press('x')
  assert.equal(await panes(), 4)
  await page.keyboard.press('Space')
  assert.equal(await panes(), 1)
  await page.keyboard.press('Space')
  assert.equal(await panes(), 4)
})

test('h shows every binding; a binding can be changed there and works at once', async () => {
  await page.keyboard.press('h')
  await page.getByTestId('help').waitFor()
  const text = await page.getByTestId('help').textContent()
  for (const label of ['Merge mode', 'Undo', 'Redo', 'Mark selected segments reviewed', 'Fill in 3D', 'Right-click']) {
    assert.ok(text.includes(label), `help lists ${label}`)
  }
  await page.screenshot({ path: join(RESULTS, 'proofread-help.png') })
  // Next slice on 'n' instead of '.'.
  await page.locator('[data-action="slice.next"]').click()
  await page.keyboard.press('n')
  await page.keyboard.press('Escape')
  await page.getByTestId('help').waitFor({ state: 'detached' })
  const z = (await page.evaluate(() => window.__studio.view.slice))[0]
  await page.mouse.move(...(await (async () => { const b = await paneBox('xy'); return [b.x + 50, b.y + 80] })()))
  await page.keyboard.press('n')
  await page.waitForFunction((z) => window.__studio.view.slice[0] === z + 1, z)
  await page.evaluate(() => localStorage.removeItem('tokenunify.keymap'))
  assert.deepEqual(errors, [])
})
