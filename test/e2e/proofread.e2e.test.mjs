// Proofreading in Chromium against `tokenunify serve --demo`: the synthetic demo volume drawn with
// its ground truth, navigation, selection, layouts and the help overlay; then a segmentation run
// and the edits (merge, split with seeds, paint, undo/redo, review, bookmark), persisted across a
// page reload and a server restart. Screenshots go to test-results/.
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { after, before, test } from 'node:test'
import { join } from 'node:path'
import FileSystemStore from '@zarrita/storage/fs'
import * as zarr from 'zarrita'
import { RESULTS, launchBrowser, pixelAt, startApp } from './harness.mjs'

let app
let browser
let page
const errors = []
const work = mkdtempSync(join(tmpdir(), 'tokenunify-e2e-'))
const projectDir = join(work, 'demo')

/**
 * Affinities for the demo from its raw image (the project's Zarr source), the way a membrane
 * detector would see it: a link is as strong as the darker of its two voxels (membranes are
 * dark). Written as (3, z, y, x) uint8 .npy.
 */
async function writeAffinities(rawZarr, out) {
  const { data: raw, shape } = await zarr.get(await zarr.open(new FileSystemStore(rawZarr), { kind: 'array' }))
  const [Z, Y, X] = shape
  const n = Z * Y * X
  const aff = new Uint8Array(3 * n)
  const level = (v) => Math.max(0, Math.min(255, Math.round(((v - 70) / 80) * 255)))
  for (let i = 0; i < n; i++) {
    const x = i % X
    const y = Math.floor(i / X) % Y
    const z = Math.floor(i / (X * Y))
    aff[i] = z > 0 ? level(Math.min(raw[i], raw[i - Y * X])) : 0
    aff[n + i] = y > 0 ? level(Math.min(raw[i], raw[i - X])) : 0
    aff[2 * n + i] = x > 0 ? level(Math.min(raw[i], raw[i - 1])) : 0
  }
  let header = `{'descr': '|u1', 'fortran_order': False, 'shape': (3, ${Z}, ${Y}, ${X}), }`
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n'
  const head = Buffer.alloc(10)
  head.write('\x93NUMPY', 0, 'latin1')
  head.writeUInt8(1, 6)
  head.writeUInt16LE(header.length, 8)
  writeFileSync(out, Buffer.concat([head, Buffer.from(header, 'latin1'), aff]))
}

before(async () => {
  app = await startApp(['--demo', projectDir])
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
  await page.mouse.move(2, 2)
  await page.waitForFunction(() => window.__studio.view.hover === null)
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
  assert.match(await sliceText('xy'), /^z 24 \/ 47$/)
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

/** The segment under a point of the XY pane, through the project's assignment. */
async function segmentAt(fx, fy) {
  const { x, y, hover } = await hoverAt('xy', fx, fy)
  const segment = await page.evaluate((label) => window.__studio.segments.segmentOf(label), hover.label)
  return { x, y, voxel: hover.voxel, label: hover.label, segment }
}

/** The segment of a voxel now (labels as loaded, after edits), once the views are up to date. */
async function segmentOfVoxel(voxel) {
  await idle()
  return page.evaluate((v) => window.__studio.segments.segmentOf(window.__studio.viewer.probe(v).label), voxel)
}

async function applied(kind, count = 1) {
  await page
    .waitForFunction(
      ([k, n]) => window.__studio.project.history.filter((e) => e.kind === k && e.state === 'applied').length >= n,
      [kind, count],
      { timeout: 30_000 },
    )
    .catch(async (err) => {
      const notice = await page.evaluate(() => window.__studio.notices.current?.text)
      throw new Error(`no applied ${kind} edit${notice ? `; the app said: ${notice}` : ''}`, { cause: err })
    })
}

async function ctrlClick(x, y, shift = false) {
  await page.keyboard.down('Control')
  if (shift) await page.keyboard.down('Shift')
  await page.mouse.click(x, y)
  if (shift) await page.keyboard.up('Shift')
  await page.keyboard.up('Control')
}

let a
let b

test('Run segmentation (affinities from a file) makes the project segmentation; the threshold re-agglomerates', async () => {
  await page.keyboard.press('z')
  await page.keyboard.press('z')
  const affinities = join(work, 'affinities.npy')
  await writeAffinities(join(projectDir, 'demo-raw.zarr'), affinities)
  await page.getByTestId('segment-source').selectOption('file')
  await page.getByTestId('affinities-path').fill(affinities)
  await page.getByTestId('run-segmentation').click()
  await page.getByTestId('segmentation-summary').waitFor({ timeout: 120_000 })
  const summary = await page.evaluate(() => window.__studio.segmentation.summary)
  assert.ok(summary.fragmentCount > summary.segmentCount && summary.segmentCount > 50, JSON.stringify(summary))
  // The segmentation layer is now the project's fragments, coloured by its assignment.
  assert.equal(await page.evaluate(() => window.__studio.volumes.labelsId), summary.fragments.id)
  await idle()
  await page.screenshot({ path: join(RESULTS, 'proofread-segmented.png') })

  const segmentsBefore = summary.segmentCount
  await page.getByTestId('threshold').fill('0.7')
  await applied('reassign')
  await page.waitForFunction(() => !window.__studio.segmentation.thresholdBusy)
  const after = await page.evaluate(() => window.__studio.segmentation.summary)
  assert.ok(after.segmentCount < segmentsBefore, `threshold 0.7 merges more: ${after.segmentCount} segments, ${segmentsBefore} before`)
})

test('merge mode: Ctrl+click source, then target, Enter merges them', async () => {
  // Two touching segments along a line through the XY view.
  let prev = await segmentAt(0.3, 0.36)
  for (let fx = 0.31; fx < 0.75 && !b; fx += 0.01) {
    const next = await segmentAt(fx, 0.36)
    if (next.segment !== prev.segment && prev.segment > 0 && next.segment > 0) [a, b] = [prev, next]
    prev = next
  }
  assert.ok(a && b, 'found two touching segments')
  await page.keyboard.press('m')
  assert.match(await page.getByTestId('mode-hint').textContent(), /Merge mode/)
  await ctrlClick(a.x, a.y)
  await ctrlClick(b.x, b.y)
  await idle()
  await page.screenshot({ path: join(RESULTS, 'proofread-merge-mode.png') })
  await page.keyboard.press('Enter')
  await applied('merge')
  assert.equal(await segmentOfVoxel(a.voxel), await segmentOfVoxel(b.voxel))
  await page.keyboard.press('Escape')
})

test('split mode: red and blue seeds, a preview, Enter splits', async () => {
  await page.keyboard.press('s')
  await ctrlClick(a.x, a.y)
  await ctrlClick(b.x, b.y, true)
  await page.waitForFunction(() => window.__studio.segmentation.preview !== null, null, { timeout: 30_000 })
  const preview = await page.evaluate(() => window.__studio.segmentation.preview)
  assert.ok(preview.red.length > 0 && preview.blue.length > 0, 'both sides have fragments')
  await idle()
  await page.screenshot({ path: join(RESULTS, 'proofread-split-preview.png') })
  await page.keyboard.press('Enter')
  await applied('split')
  assert.notEqual(await segmentOfVoxel(a.voxel), await segmentOfVoxel(b.voxel))
  await page.keyboard.press('Escape')
})

test('paint with the brush, undo and redo it', async () => {
  const segA = await segmentOfVoxel(a.voxel)
  // The split selected both its parts; paint with A alone.
  await page.keyboard.press('Shift+X')
  await page.mouse.dblclick(a.x, a.y)
  await page.waitForFunction((s) => window.__studio.segments.selected.join() === String(s), segA)
  await page.keyboard.press('b')
  await page.mouse.move(a.x, a.y)
  await page.mouse.down()
  await page.mouse.move(b.x, b.y, { steps: 8 })
  await page.mouse.up()
  await applied('paint')
  // The end of the stroke lay in the other segment: it is segment A now.
  await page.waitForFunction(([v, s]) => window.__studio.segments.segmentOf(window.__studio.viewer.probe(v)?.label) === s, [b.voxel, segA])
  await idle()
  await page.screenshot({ path: join(RESULTS, 'proofread-painted.png') })
  await page.keyboard.press('Escape')
  await page.keyboard.press('Control+z')
  await page.waitForFunction(() => window.__studio.project.history.some((e) => e.kind === 'paint' && e.state === 'undone'))
  await page.waitForFunction(([v, s]) => window.__studio.segments.segmentOf(window.__studio.viewer.probe(v)?.label) !== s, [b.voxel, segA])
  await page.keyboard.press('Control+Shift+z')
  await applied('paint')
  await page.waitForFunction(([v, s]) => window.__studio.segments.segmentOf(window.__studio.viewer.probe(v)?.label) === s, [b.voxel, segA])
})

test('F fills the region under the mouse, in the slice, with the selected segment', async () => {
  const segA = await segmentOfVoxel(a.voxel)
  let c
  for (let fy = 0.55; fy < 0.9 && !c; fy += 0.05) {
    const at = await segmentAt(0.55, fy)
    if (at.segment !== segA && at.label > 0) c = at
  }
  assert.ok(c, 'found a region of another segment')
  await page.keyboard.press('f')
  await applied('paint', 2)
  await page.waitForFunction(([v, s]) => window.__studio.segments.segmentOf(window.__studio.viewer.probe(v)?.label) === s, [c.voxel, segA])
  // Only in this slice: the voxel above (z - 1) keeps its segment.
  const above = [c.voxel[0] - 1, c.voxel[1], c.voxel[2]]
  assert.notEqual(await segmentOfVoxel(above), segA)
  await page.screenshot({ path: join(RESULTS, 'proofread-filled.png') })
})

test('R marks the selected segment reviewed; K bookmarks the place with a note', async () => {
  const segA = await segmentOfVoxel(a.voxel)
  await page.keyboard.press('r')
  await applied('review')
  await page.getByTestId('badge-reviewed').waitFor()
  assert.ok(await page.evaluate((s) => window.__studio.project.reviewed.has(s), segA))
  await page.keyboard.press('k')
  await page.getByTestId('bookmark-note').fill('check the boundary here')
  await page.keyboard.press('Enter')
  await page.waitForFunction(() => window.__studio.project.bookmarks.length === 1)
  await page.getByTestId('tab-history').click()
  await page.screenshot({ path: join(RESULTS, 'proofread-history.png') })
})

/** What must survive: the edits, the review, the bookmark, and what they did to a and b. */
async function persisted() {
  return page.evaluate(
    async ([va, vb]) => {
      const s = window.__studio
      await s.viewer.whenIdle()
      const seg = (v) => s.segments.segmentOf(s.viewer.probe(v).label)
      return {
        kinds: s.project.history.filter((e) => e.state === 'applied').map((e) => e.kind).sort(),
        reviewed: s.project.reviewed.has(seg(va)),
        bookmarks: s.project.bookmarks.map((bm) => bm.title),
        splitApart: seg(va) !== seg(vb),
      }
    },
    [a.voxel, b.voxel],
  )
}

let saved

test('after a page reload every edit is still there', async () => {
  saved = await persisted()
  assert.deepEqual(saved.kinds, ['merge', 'paint', 'paint', 'reassign', 'review', 'split'])
  await page.reload()
  await page.waitForFunction(() => window.__studio.segmentation.summary !== null && window.__studio.view.shape !== null, null, { timeout: 60_000 })
  await page.waitForFunction(() => window.__studio.project.history.length > 0)
  assert.deepEqual(await persisted(), saved)
  assert.equal(saved.reviewed, true)
  assert.deepEqual(saved.bookmarks, ['check the boundary here'])
  await page.screenshot({ path: join(RESULTS, 'proofread-reloaded.png') })
})

test('after a server restart the project folder holds every edit', async () => {
  await app.stop()
  app = await startApp([projectDir])
  await page.goto(app.url)
  await page.waitForFunction(() => window.__studio.project.info !== null, null, { timeout: 60_000 })
  await page.getByTestId('tab-history').click()
  await page.waitForFunction(() => window.__studio.project.history.length >= 6)
  assert.match(await page.getByTestId('project-stats').textContent(), /1 reviewed/)
  // The project's own volumes come back: its raw source and the fragments in its cache.
  await page.waitForFunction(() => window.__studio.segmentation.summary !== null && window.__studio.view.shape !== null, null, { timeout: 60_000 })
  assert.match(await page.getByTestId('volume-info').textContent(), /48 × 512 × 512 voxels · 40 × 8 × 8 nm/)
  assert.match(await page.getByTestId('image-layer').inputValue(), /.+/)
  assert.deepEqual(await persisted(), saved)
  await page.screenshot({ path: join(RESULTS, 'proofread-restarted.png') })
  assert.deepEqual(errors, [])
})
