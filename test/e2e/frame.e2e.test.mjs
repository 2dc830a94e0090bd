// The app frame in Chromium against browser mode: the four panes, the panels, the status bar,
// one API round trip shown in the UI, and the refusal of a request without the token.
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { join } from 'node:path'
import { RESULTS, launchBrowser, startApp } from './harness.mjs'

let app
let browser

before(async () => {
  app = await startApp()
  browser = await launchBrowser()
})
after(async () => {
  await browser?.close()
  await app?.stop()
})

test('the frame opens with four panes, side panels and a status bar', async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } })
  const errors = []
  page.on('pageerror', (e) => errors.push(e.message))
  await page.goto(app.url)
  for (const pane of ['xy', 'xz', 'yz', '3d']) await page.getByTestId(`pane-${pane}`).waitFor()
  await page.getByTestId('panel-left').waitFor()
  await page.getByTestId('panel-right').waitFor()
  // app.info went to the engine over the WebSocket and came back.
  const version = await page.getByTestId('app-version').textContent()
  assert.match(version, /^v\d+\.\d+\.\d+ · browser$/)
  assert.match(await page.getByTestId('statusbar').textContent(), /providers: .*cpu/)
  // Space switches to a single view and back.
  await page.keyboard.press('Space')
  assert.equal(await page.locator('[data-testid^="pane-"]').count(), 1)
  await page.keyboard.press('Space')
  assert.equal(await page.locator('[data-testid^="pane-"]').count(), 4)
  await page.screenshot({ path: join(RESULTS, 'frame.png') })
  assert.deepEqual(errors, [])
  await page.close()
})

test('a page opened without the token is refused', async () => {
  const page = await browser.newPage()
  const response = await page.goto(new URL('/', app.url).href)
  assert.equal(response.status(), 401)
  await page.close()
})
