import * as ort from 'onnxruntime-node'
import { describe, expect, it } from 'vitest'
import { selectiveScanBackward } from '../../src/main/engine/autodiff/scan'
import { Graph } from '../../src/main/engine/graph/builder'
import { emitModel, wholeGraph } from '../../src/main/engine/graph/emit'
import { lower, selectiveScanGradParallel } from '../../src/main/engine/graph/lower'
import { checkGradients } from './helpers'
import { uniformArray } from '../../src/main/engine/random'

const spec = (b: number, di: number, l: number, n: number) => ({
  u: { shape: [b, di, l] },
  delta: { shape: [b, di, l], range: [0.02, 1.2] as [number, number] },
  A: { shape: [di, n], range: [-3, -0.2] as [number, number] },
  B: { shape: [b, n, l] },
  C: { shape: [b, n, l] },
})

describe('selective scan backward (native reverse-time kernel)', () => {
  for (const n of [16, 5]) {
    it(`matches finite differences for u, delta, A, B and C (state ${n}${n === 16 ? ', SIMD' : ', scalar'} kernel)`, async () => {
      const { worst, perInput } = await checkGradients(spec(2, 5, 45, n), (g, x) => g.selectiveScan(x.u, x.delta, x.A, x.B, x.C))
      expect(worst, JSON.stringify(perInput)).toBeLessThan(5e-3)
    })
  }

  it('gives the same gradients with every instruction set and any number of workers', async () => {
    const [b, di, l, n] = [2, 7, 130, 16]
    const u = uniformArray(b * di * l, -1, 1, 1)
    const delta = uniformArray(b * di * l, 0.01, 1.5, 2)
    const A = uniformArray(di * n, -8, -0.1, 3)
    const B = uniformArray(b * n * l, -1, 1, 4)
    const C = uniformArray(b * n * l, -1, 1, 5)
    const dy = uniformArray(b * di * l, -1, 1, 6)
    const dims = { batch: b, channels: di, tokens: l, state: n }
    const reference = await selectiveScanBackward(u, delta, A, B, C, dy, dims, { workers: 1, isa: 'scalar' })
    for (const [isa, workers] of [['avx2', 3], ['avx512', 2], ['scalar', 4]] as const) {
      const got = await selectiveScanBackward(u, delta, A, B, C, dy, dims, { workers, isa })
      for (const key of ['du', 'ddelta', 'dA', 'dB', 'dC'] as const) {
        const scale = reference[key].reduce((m, v) => Math.max(m, Math.abs(v)), 0)
        const diff = reference[key].reduce((m, v, i) => Math.max(m, Math.abs(v - got[key][i])), 0)
        expect(scale, key).toBeGreaterThan(0)
        expect(diff / scale, `${key} ${isa} x${workers}`).toBeLessThan(1e-5)
      }
    }
  })

  for (const [tokens, maxBytes] of [[37, undefined], [64, 20_000], [1, undefined]] as const) {
    it(`the standard-op form for GPU providers equals the native kernel (${tokens} tokens${maxBytes ? ', in channel groups' : ''})`, async () => {
      const [b, di, n] = [2, 5, 16]
      const g = new Graph()
      const names = ['u', 'delta', 'A', 'B', 'C', 'dy'] as const
      const shapes = { u: [b, di, tokens], delta: [b, di, tokens], A: [di, n], B: [b, n, tokens], C: [b, n, tokens], dy: [b, di, tokens] }
      const ins = names.map((k) => g.input(k, 'float32', shapes[k]))
      g.add('SelectiveScanGrad', ins).forEach((v, i) => g.output(['du', 'ddelta', 'dA', 'dB', 'dC'][i], g.op('Mul', [v, g.f32(1)])))
      const lowered = lower(g, { SelectiveScanGrad: selectiveScanGradParallel(maxBytes) })
      expect(lowered.nodes.some((x) => x.op === 'SelectiveScanGrad')).toBe(false)
      const ranges: Record<string, [number, number]> = { u: [-1, 1], delta: [0.01, 1.5], A: [-6, -0.1], B: [-1, 1], C: [-1, 1], dy: [-1, 1] }
      const feeds = Object.fromEntries(names.map((k, i) => [k, uniformArray(shapes[k].reduce((p, d) => p * d, 1), ...ranges[k], 40 + i)]))
      const session = await ort.InferenceSession.create(emitModel(wholeGraph(lowered)).bytes)
      const out = await session.run(Object.fromEntries(names.map((k) => [k, new ort.Tensor('float32', feeds[k], shapes[k])])))
      const want = await selectiveScanBackward(feeds.u, feeds.delta, feeds.A, feeds.B, feeds.C, feeds.dy, { batch: b, channels: di, tokens, state: n })
      for (const key of ['du', 'ddelta', 'dA', 'dB', 'dC'] as const) {
        const got = out[key].data as Float32Array
        const scale = want[key].reduce((m, v) => Math.max(m, Math.abs(v)), 0)
        const diff = want[key].reduce((m, v, i) => Math.max(m, Math.abs(v - got[i])), 0)
        expect(diff, key).toBeLessThanOrEqual(1e-4 * scale + 1e-7)
      }
      await session.release()
    })
  }

  it('refuses arrays that do not fit the dims', async () => {
    const { native } = await import('../../src/main/engine/native')
    // batch 1, 2 channels, 4 tokens, state 2: sequences and B/C hold 8 values, A and dA 4.
    const f = () => new Float32Array(8)
    const a = () => new Float32Array(4)
    expect(() => native().selectiveScanBackward(f(), f(), a(), f(), f(), f(), f(), f(), a(), f(), new Float32Array(3), [1, 2, 4, 2], [0, 2])).toThrow(
      /selectiveScanBackward: dC has 3 values, the dims need 8/,
    )
    expect(() => native().selectiveScanBackward(f(), f(), a(), f(), f(), f(), f(), f(), a(), f(), f(), [1, 2, 4, 2], [1, 3])).toThrow(/channel range/)
  })
})
