import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { StudioError } from '../../src/shared/errors'
import { uniformArray } from '../../src/main/engine/random'
import { loadModelOffThread } from '../../src/main/engine/model/offthread'
import { defaultModelPath, loadModel } from '../../src/main/engine/model/runnable'

const FIXTURES = join(import.meta.dirname, '../../../shared/fixtures/tokenunify')

describe('a model on its own thread', () => {
  it('computes what the model computes in-process, and leaves the engine thread free meanwhile', { timeout: 120_000 }, async () => {
    const options = { provider: 'cpu' as const, patch: [16, 160, 160] as [number, number, number] }
    const windows = uniformArray(16 * 160 * 160, 0, 1, 3)
    const local = await loadModel(defaultModelPath(), options)
    const expected = await local.run(windows)
    await local.dispose()

    const model = await loadModelOffThread(defaultModelPath(), options)
    expect(model.info.path).toBe(defaultModelPath())
    expect(model.provider).toBe('cpu')
    let last = performance.now()
    let longest = 0
    const ticks = setInterval(() => {
      const now = performance.now()
      longest = Math.max(longest, now - last)
      last = now
    }, 5)
    const t0 = performance.now()
    let out: Float32Array = new Float32Array()
    for (let i = 0; i < 3; i++) out = await model.run(windows)
    const perWindow = (performance.now() - t0) / 3
    clearInterval(ticks)
    await model.dispose()
    expect(out).toEqual(expected)
    // In-process, ONNX Runtime holds the thread for whole graph parts; here only copies do.
    expect(longest).toBeLessThan(perWindow / 4)
    await expect(model.run(windows)).rejects.toThrow(/thread for model .* ended/)
  })

  it('reports a missing or unreadable checkpoint as the in-process loader does, naming the file', async () => {
    for (const file of [join(FIXTURES, 'missing.pth'), join(FIXTURES, 'tiny-a', 'input.npy')]) {
      const err = await loadModelOffThread(file).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(StudioError)
      expect((err as StudioError).message).toContain(file)
      expect((err as StudioError).message).toBe(await loadModel(file).catch((e: Error) => e.message))
    }
  })
})
