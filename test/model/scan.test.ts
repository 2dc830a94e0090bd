import { describe, expect, it } from 'vitest'
import { native } from '../../src/main/engine/native'
import { selectiveScan } from '../../src/main/engine/runtime/scan'
import { uniformArray } from '../../src/main/engine/random'

/** The scan as TOKENUNIFY.md 3.1 writes it, in float64. */
function referenceScan(u: Float32Array, delta: Float32Array, A: Float32Array, B: Float32Array, C: Float32Array, b: number, di: number, l: number, n: number) {
  const y = new Float64Array(b * di * l)
  for (let bi = 0; bi < b; bi++) {
    for (let d = 0; d < di; d++) {
      const h = new Float64Array(n)
      for (let t = 0; t < l; t++) {
        const i = (bi * di + d) * l + t
        let acc = 0
        for (let k = 0; k < n; k++) {
          h[k] = Math.exp(delta[i] * A[d * n + k]) * h[k] + delta[i] * u[i] * B[(bi * n + k) * l + t]
          acc += h[k] * C[(bi * n + k) * l + t]
        }
        y[i] = acc
      }
    }
  }
  return y
}

describe('native selective scan', () => {
  const cases = [
    { n: 16, isa: undefined },
    { n: 16, isa: 'avx2' as const },
    { n: 16, isa: 'scalar' as const },
    { n: 5, isa: undefined },
  ]
  for (const { n, isa } of cases) {
    it(`matches the float64 reference (state ${n}, ${isa ?? native().selectiveScanIsa()} kernel)`, async () => {
      const [b, di, l] = [2, 7, 300]
      const u = uniformArray(b * di * l, -2, 2, 1)
      const delta = uniformArray(b * di * l, 0.001, 2, 2)
      const A = uniformArray(di * n, -20, -0.5, 3)
      const B = uniformArray(b * n * l, -1, 1, 4)
      const C = uniformArray(b * n * l, -1, 1, 5)
      const want = referenceScan(u, delta, A, B, C, b, di, l, n)
      const got = await selectiveScan(u, delta, A, B, C, { batch: b, channels: di, tokens: l, state: n }, { workers: 3, isa })
      let worst = 0
      for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]) / (1 + Math.abs(want[i])))
      expect(worst).toBeLessThan(2e-5)
    })
  }

  it('applies softplus to delta itself when asked (the fused CPU inference form)', async () => {
    const [b, di, l, n] = [1, 3, 50, 16]
    const u = uniformArray(b * di * l, -2, 2, 6)
    const pre = uniformArray(b * di * l, -8, 25, 7)
    const A = uniformArray(di * n, -10, -0.5, 8)
    const B = uniformArray(b * n * l, -1, 1, 9)
    const C = uniformArray(b * n * l, -1, 1, 10)
    const soft = pre.map((x) => (x > 20 ? x : Math.log1p(Math.exp(x))))
    const dims = { batch: b, channels: di, tokens: l, state: n }
    const fused = await selectiveScan(u, pre, A, B, C, dims, { deltaSoftplus: true })
    const plain = await selectiveScan(u, soft, A, B, C, dims)
    expect(fused.reduce((m, v, i) => Math.max(m, Math.abs(v - plain[i]) / (1 + Math.abs(plain[i]))), 0)).toBeLessThan(1e-6)
  })

  it('refuses arrays that do not fit the dims, naming the array', () => {
    const a = new Float32Array(4)
    expect(() => native().selectiveScan(a, a, new Float32Array(1), a, a, new Float32Array(3), [1, 1, 4, 1], [0, 1])).toThrow(/y has 3 values/)
  })
})
