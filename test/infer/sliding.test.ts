import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Vec3 } from '../../src/shared/types'
import { CancelledError } from '../../src/shared/errors'
import { inferToFile } from '../../src/main/engine/infer/run'
import { inferVolume } from '../../src/main/engine/infer/sliding'
import { MemorySink } from '../../src/main/engine/infer/sinks'
import { gaussianImportance, planWindows, windowStarts } from '../../src/main/engine/infer/windows'
import { readNpy } from '../../src/main/engine/io/npy'
import { ArrayVolume } from '../../src/main/engine/io/volume'
import { JobRunner } from '../../src/main/engine/jobs/runner'
import { loadModel, type RunnableModel } from '../../src/main/engine/model/runnable'

const TINY_A = join(__dirname, '../../../shared/fixtures/tokenunify/tiny-a')

describe('window placement and weights (MONAI sliding_window_inference)', () => {
  it('places windows like the official path on AC3 and Wafer4', () => {
    // TOKENUNIFY.md 6a: AC3 top-100 (100x1024x1024) -> 8x9x9, Wafer4 (125x1250x1250) -> 11x11x11.
    expect(planWindows([100, 1024, 1024], [16, 160, 160], 0.25).origins).toHaveLength(8 * 9 * 9)
    expect(planWindows([125, 1250, 1250], [16, 160, 160], 0.25).origins).toHaveLength(11 * 11 * 11)
    expect(windowStarts(100, 16, 0.25)).toEqual([0, 12, 24, 36, 48, 60, 72, 84])
    expect(windowStarts(16, 16, 0.25)).toEqual([0])
    expect(windowStarts(20, 16, 0.25)).toEqual([0, 4])
  })

  it('pads a volume smaller than the window evenly, the odd voxel at the end', () => {
    const plan = planWindows([10, 60, 161], [16, 80, 80], 0.25)
    expect(plan.padded).toEqual([16, 80, 161])
    expect(plan.padBefore).toEqual([3, 10, 0])
  })

  it('weights a window with an unnormalised Gaussian of sigma = roi / 8, clamped at 1e-3', () => {
    const map = gaussianImportance([3, 5, 9])
    expect(map[(1 * 5 + 2) * 9 + 4]).toBeCloseTo(1, 6)
    const sigma = 9 * 0.125
    expect(map[(1 * 5 + 2) * 9 + 5]).toBeCloseTo(Math.exp(-1 / (2 * sigma * sigma)), 6)
    expect(map[0]).toBeCloseTo(1e-3, 9)
  })
})

describe('sliding-window inference with the tiny-a network', () => {
  let model: RunnableModel
  beforeAll(async () => {
    model = await loadModel(join(TINY_A, 'checkpoint.pth'), { provider: 'cpu', patch: [16, 80, 80], batch: 2 })
  })
  afterAll(() => model?.dispose())

  it('returns the network output itself when the volume is exactly one window', async () => {
    const input = readNpy(join(TINY_A, 'input.npy'))
    const u8 = Uint8Array.from(input.data as Float32Array, (v) => Math.round(v * 255))
    const sink = new MemorySink([16, 80, 80])
    const stats = await inferVolume(new ArrayVolume('a', [16, 80, 80], 'uint8', u8), model, sink)
    expect(stats).toMatchObject({ windows: 1, runs: 1 })
    const expected = readNpy(join(TINY_A, 'output.npy')).data as Float32Array
    expect(sink.data.reduce((m, v, i) => Math.max(m, Math.abs(v - expected[i])), 0)).toBeLessThanOrEqual(1e-4)
  })

  it('blends overlapping windows (batched) exactly as the weighted mean of the per-window outputs, padding small axes', async () => {
    const shape: Vec3 = [20, 70, 100] // y is smaller than the window: padded to 80
    const voxels = Uint8Array.from({ length: shape[0] * shape[1] * shape[2] }, (_, i) => (i * 2654435761) % 251)
    const sink = new MemorySink(shape)
    const progress: number[] = []
    const runner = new JobRunner()
    runner.onUpdate((j) => j.state === 'running' && progress.push(j.progress))
    const job = runner.start({ kind: 'infer', title: 't', run: (ctx) => inferVolume(new ArrayVolume('v', shape, 'uint8', voxels), model, sink, { overlap: 0.25 }, ctx) })
    const stats = await job.result
    expect(stats).toMatchObject({ windows: 4, runs: 2 }) // z starts 0, 4; x starts 0, 20

    // Reference: every window through the network alone, blended in float64.
    const plan = planWindows(shape, [16, 80, 80], 0.25)
    const w = gaussianImportance([16, 80, 80])
    const [sz, sy, sx] = shape
    const num = new Float64Array(3 * sz * sy * sx)
    const den = new Float64Array(sz * sy * sx)
    // The model runs two windows at a time: feed the windows in pairs.
    const win = new Float32Array(2 * 16 * 80 * 80)
    for (let pair = 0; pair < plan.origins.length; pair += 2) {
      const origins = plan.origins.slice(pair, pair + 2)
      win.fill(0)
      origins.forEach(([oz, oy, ox], b) => {
        for (let z = 0; z < 16; z++) for (let y = 0; y < 80; y++) for (let x = 0; x < 80; x++) {
          const [vz, vy, vx] = [oz + z - plan.padBefore[0], oy + y - plan.padBefore[1], ox + x - plan.padBefore[2]]
          if (vy >= 0 && vy < sy) win[b * 16 * 80 * 80 + (z * 80 + y) * 80 + x] = voxels[(vz * sy + vy) * sx + vx] / 255
        }
      })
      const out = await model.run(win)
      origins.forEach(([oz, oy, ox], b) => {
        for (let z = 0; z < 16; z++) for (let y = 0; y < 80; y++) for (let x = 0; x < 80; x++) {
          const [vz, vy, vx] = [oz + z - plan.padBefore[0], oy + y - plan.padBefore[1], ox + x - plan.padBefore[2]]
          if (vy < 0 || vy >= sy) continue
          const v = (vz * sy + vy) * sx + vx
          const wi = w[(z * 80 + y) * 80 + x]
          den[v] += wi
          for (let c = 0; c < 3; c++) num[c * sz * sy * sx + v] += wi * out[(((b * 3 + c) * 16 + z) * 80 + y) * 80 + x]
        }
      })
    }
    let worst = 0
    for (let i = 0; i < num.length; i++) worst = Math.max(worst, Math.abs(sink.data[i] - num[i] / den[i % den.length]))
    expect(worst).toBeLessThan(1e-5)
    expect(progress.at(-1)).toBe(1)
    expect(progress.every((p, i) => i === 0 || p >= progress[i - 1])).toBe(true)
  })

  it('stops between runs when cancelled', async () => {
    const shape: Vec3 = [40, 80, 160]
    const sink = new MemorySink(shape)
    const runner = new JobRunner()
    let runs = 0
    const counting: RunnableModel = { ...model, run: (x) => (runs++, model.run(x)) }
    const job = runner.start({ kind: 'infer', title: 't', run: (ctx) => inferVolume(new ArrayVolume('v', shape, 'uint8', new Uint8Array(40 * 80 * 160)), counting, sink, {}, ctx) })
    runner.onUpdate((j) => j.progress > 0 && runner.cancel(j.id))
    await expect(job.result).rejects.toBeInstanceOf(CancelledError)
    expect(runs).toBeLessThan(4) // 4 z starts x 3 x starts = 12 windows = 6 runs
  })

  it('leaves no partial output file when a run to a file is cancelled', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tu-infer-'))
    const out = join(dir, 'aff.zarr')
    const runner = new JobRunner()
    const source = new ArrayVolume('v', [40, 80, 160], 'uint8', new Uint8Array(40 * 80 * 160))
    const job = runner.start({ kind: 'infer', title: 't', run: (ctx) => inferToFile(source, out, { provider: 'cpu', patch: [16, 80, 80] }, ctx) })
    runner.onUpdate((j) => j.progress > 0 && runner.cancel(j.id))
    await expect(job.result).rejects.toBeInstanceOf(CancelledError)
    expect(existsSync(out)).toBe(false)
    rmSync(dir, { recursive: true, force: true })
  })
})
