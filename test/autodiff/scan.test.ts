import { describe, expect, it } from 'vitest'
import { selectiveScanBackward } from '../../src/main/engine/autodiff/scan'
import { checkGradients, random } from './helpers'

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
    const u = random(b * di * l, -1, 1, 1)
    const delta = random(b * di * l, 0.01, 1.5, 2)
    const A = random(di * n, -8, -0.1, 3)
    const B = random(b * n * l, -1, 1, 4)
    const C = random(b * n * l, -1, 1, 5)
    const dy = random(b * di * l, -1, 1, 6)
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
