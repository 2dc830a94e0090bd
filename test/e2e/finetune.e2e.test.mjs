// The fine-tune tab: the live loss curve's place, the versions, and a clear refusal when the
// project has nothing to learn from yet (the previous model stays active).
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { join } from 'node:path'
import { RESULTS, launchBrowser, startApp } from './harness.mjs'

let app
let browser

before(async () => {
  app = await startApp(['--demo'])
  browser = await launchBrowser()
})
after(async () => {
  await browser?.close()
  await app?.stop()
})

test('fine-tuning without reviewed segments is refused with a reason, and the bundled model stays active', async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } })
  await page.goto(app.url)
  await page.getByTestId('tab-train').click()
  await page.getByTestId('loss-curve').waitFor()
  await page.getByTestId('train-start').click()
  const error = page.getByTestId('train-error')
  await error.waitFor({ timeout: 30_000 })
  assert.match(await error.textContent(), /no segmentation yet.*previous model stays active/s)
  const active = page.locator('[data-testid="finetune"] .versions li.active')
  await active.waitFor({ timeout: 30_000 })
  assert.match(await active.textContent(), /bundled default\s*active/)
  await page.screenshot({ path: join(RESULTS, 'finetune-refused.png') })
  await page.close()
})
