/**
 * UI speed in Chromium (playwright-core, Debian's /usr/bin/chromium), against browser mode:
 *   - slice change: a wheel event on the XY pane of a 1024 x 1024 slice → the new frame drawn
 *     and finished on the GPU (p50 / p95);
 *   - the drawing alone (Viewer.render with a one-pixel readback);
 *   - merge → repainted view: the recolouring alone (lookup table), and a real merge through the
 *     project store (the bench makes a project whose segmentation is its label volume);
 * each with its ratio to an empty requestAnimationFrame round trip measured in the same run.
 * Run `npm run build` first; then `npx tsx bench/ui/index.ts`.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'
import { createEngine } from '../../src/main/engine/api'
import { ArrayVolume } from '../../src/main/engine/io/volume'
import { appPaths } from '../../src/main/engine/paths'
import { createProject } from '../../src/main/engine/store/project'
import { startServer } from '../../src/main/server'
import type { Vec3 } from '../../src/shared/types'
import { seededRandom } from '../../src/main/engine/random'

const HERE = dirname(fileURLToPath(import.meta.url))
const SHAPE = (process.env.BENCH_SHAPE ?? '48,1024,1024').split(',').map(Number) as Vec3
const VOXEL: Vec3 = [40, 8, 8]
const RUNS = Number(process.env.BENCH_RUNS ?? 120)

/** EM-like test data: cells of about 50 voxels across, dark membranes, noise; labels per cell. */
function makeVolumes(shape: Vec3): { raw: Uint8Array; labels: Uint32Array } {
  const [Z, Y, X] = shape
  const cell = 48
  const raw = new Uint8Array(Z * Y * X)
  const labels = new Uint32Array(Z * Y * X)
  const rnd = seededRandom(7)
  const cy = Math.ceil(Y / cell) + 1
  const cx = Math.ceil(X / cell) + 1
  const plane = new Uint32Array(Y * X)
  const edge = new Float32Array(Y * X)
  for (let block = 0; block * 16 < Z; block++) {
    const seeds = Array.from({ length: cy * cx }, (_, i) => [((i / cx) | 0) * cell + rnd() * cell, (i % cx) * cell + rnd() * cell])
    for (let y = 0; y < Y; y++) {
      for (let x = 0; x < X; x++) {
        let d1 = Infinity
        let d2 = Infinity
        let best = 0
        const gy = (y / cell) | 0
        const gx = (x / cell) | 0
        for (let j = Math.max(0, gy - 1); j <= Math.min(cy - 1, gy + 1); j++) {
          for (let i = Math.max(0, gx - 1); i <= Math.min(cx - 1, gx + 1); i++) {
            const s = seeds[j * cx + i]
            const d = (s[0] - y) ** 2 + (s[1] - x) ** 2
            if (d < d1) {
              d2 = d1
              d1 = d
              best = j * cx + i
            } else if (d < d2) d2 = d
          }
        }
        plane[y * X + x] = 1 + best + block * cy * cx
        edge[y * X + x] = Math.sqrt(d2) - Math.sqrt(d1)
      }
    }
    for (let z = block * 16; z < Math.min(Z, block * 16 + 16); z++) {
      const off = z * Y * X
      for (let i = 0; i < Y * X; i++) {
        const membrane = edge[i] < 2.5
        labels[off + i] = membrane ? 0 : plane[i]
        raw[off + i] = (membrane ? 50 : 175) + ((rnd() * 60) | 0) - 30
      }
    }
  }
  return { raw, labels }
}

function stats(xs: number[]): { p50: number; p95: number } {
  const s = [...xs].sort((a, b) => a - b)
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]
  return { p50: at(0.5), p95: at(0.95) }
}

async function main() {
  const t0 = performance.now()
  const { raw, labels } = makeVolumes(SHAPE)
  const engine = createEngine({ mode: 'browser' })
  engine.addVolume(new ArrayVolume('bench raw', SHAPE, 'uint8', raw, VOXEL))
  engine.addVolume(new ArrayVolume('bench labels', SHAPE, 'uint32', labels, VOXEL))
  // A project whose segmentation is the labels (each its own segment), for real merges.
  const dir = mkdtempSync(join(tmpdir(), 'tokenunify-bench-ui-'))
  const project = createProject(dir)
  const ids = [...new Set(labels)].filter((id) => id !== 0).sort((a, b) => a - b)
  project.setBaseAssignment(project.addSegmentationRun({ thresholds: {}, labelShape: SHAPE }), ids, ids)
  project.close()
  await engine.call('project.open', { dir })
  const server = await startServer({ engine, rendererDir: appPaths().renderer })
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    headless: true,
  })
  try {
    const page = await browser.newPage({ viewport: { width: Number(process.env.BENCH_WIDTH ?? 1600), height: Number(process.env.BENCH_HEIGHT ?? 1200) } })
    const errors: string[] = []
    page.on('pageerror', (e) => errors.push(e.message))
    await page.goto(server.url)
    process.stderr.write(`bench/ui: page open (${((performance.now() - t0) / 1000).toFixed(1)} s)\n`)
    await page.getByTestId('pane-xy').waitFor()
    await page.evaluate(readFileSync(join(HERE, 'page.js'), 'utf8'))
    // One XY view at one voxel per CSS pixel, showing the whole 1024 x 1024 slice.
    await page.waitForFunction(() => (globalThis as unknown as { __studio: { view: { shape: unknown } } }).__studio.view.shape !== null)
    const setup = await page.evaluate(`(async () => {
      const s = window.__studio
      s.view.layout = 'xy'
      await new Promise((r) => setTimeout(r, 100))
      s.view.scale = ${VOXEL[2]}
      s.view.moveTo([0.5, ${SHAPE[1] / 2}, ${SHAPE[2] / 2}])
      await window.__bench.warm('xy', ${SHAPE[0]})
      const pane = document.querySelector('[data-testid="pane-xy"]').getBoundingClientRect()
      return { pane: [Math.round(pane.width), Math.round(pane.height)], dpr: window.devicePixelRatio }
    })()`)
    const ready = performance.now()

    const phase = (name: string) => process.stderr.write(`bench/ui: ${name} (${((performance.now() - t0) / 1000).toFixed(1)} s)\n`)
    phase('measuring')
    const raf = (await page.evaluate(`window.__bench.rafRoundTrip(${RUNS})`)) as number[]
    const slice = (await page.evaluate(`window.__bench.sliceChange('xy', ${RUNS}, ${SHAPE[0]})`)) as number[]
    phase('slice changes done')
    const render = (await page.evaluate(`window.__bench.renderOnly(${RUNS})`)) as number[]
    phase('drawing done')
    const recolour = (await page.evaluate(`window.__bench.recolour(${Math.min(RUNS, 60)})`)) as number[]
    // Merge pairs of segments of the project, from the highest ids down (the recolouring used the lowest).
    const pairs = Array.from({ length: Math.min(RUNS, 60, Math.floor(ids.length / 4)) }, (_, i) => [ids[ids.length - 2 * i - 1], ids[ids.length - 2 * i - 2]])
    phase('recolouring done')
    const merge = (await page.evaluate(`window.__bench.merge(${JSON.stringify(pairs)})`)) as number[]

    const ref = stats(raf)
    const rows: Array<[string, { p50: number; p95: number }]> = [
      ['requestAnimationFrame round trip (reference)', ref],
      [`slice change (wheel) → new frame, ${SHAPE[2]}x${SHAPE[1]}`, stats(slice)],
      ['  of which drawing (render + GPU finish)', stats(render)],
      ['recolour (lookup table only) → new frame', stats(recolour)],
      ['merge (Enter → SQLite edit → event) → new frame', stats(merge)],
    ]
    const pad = (s: string, n: number) => s.padEnd(n)
    const num = (v: number) => v.toFixed(2).padStart(8)
    const info = setup as { pane: [number, number]; dpr: number }
    console.log(`bench/ui: Chromium ${browser.version()}, XY pane ${info.pane.join('x')} CSS px at DPR ${info.dpr}, volume ${SHAPE.join('x')} uint8 + uint32 labels, ${RUNS} runs (setup ${((ready - t0) / 1000).toFixed(1)} s)`)
    console.log(`${pad('measure', 48)} ${'p50 ms'.padStart(8)} ${'p95 ms'.padStart(8)} ${'p50/ref'.padStart(8)} ${'p95/ref'.padStart(8)}`)
    for (const [name, s] of rows) {
      console.log(`${pad(name, 48)} ${num(s.p50)} ${num(s.p95)} ${num(s.p50 / ref.p50)} ${num(s.p95 / ref.p50)}`)
    }
    if (errors.length > 0) throw new Error(`page errors: ${errors.join('; ')}`)
  } finally {
    await browser.close()
    await server.close()
    await engine.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

await main()
