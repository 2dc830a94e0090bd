/**
 * Fresh weights for a config, as the official model initialises them (../shared/design/
 * TOKENUNIFY.md 2.5): PyTorch's defaults (kaiming-uniform with a = sqrt(5), i.e. U(+-1/sqrt(fan_in))
 * for weights and biases; LayerNorm 1 and 0), Mamba's dt init for the forward dt_proj only,
 * A_log = log(1..N) and D = 1 for all three directions. Seeded, so a model can be remade exactly.
 */
import type { Tensor } from './checkpoint'
import type { NetworkConfig } from './config'
import { paramSpecs } from './params'
import { seededRandom } from '../random'


export function initialWeights(config: NetworkConfig, seed = 0): Map<string, Tensor> {
  const next = seededRandom(seed)
  const uniform = (n: number, bound: number) => Float32Array.from({ length: n }, () => (2 * next() - 1) * bound)
  const specs = paramSpecs(config)
  const shapes = new Map(specs.map((s) => [s.name, s.shape]))
  // PyTorch's fan_in: dim 1 times the kernel (for ConvTranspose weights (in, out, k...) that is out * k).
  const fanIn = (weight: string) => {
    const s = shapes.get(weight)!
    return s.slice(1).reduce((a, b) => a * b, 1)
  }
  const weights = new Map<string, Tensor>()
  for (const { name, shape } of specs) {
    const n = shape.reduce((a, b) => a * b, 1)
    const leaf = name.slice(name.lastIndexOf('.') + 1)
    let data: Float32Array
    if (/\.norm\.weight$/.test(name)) data = new Float32Array(n).fill(1)
    else if (/\.norm\.bias$/.test(name)) data = new Float32Array(n)
    else if (/^A(_b|_s)?_log$/.test(leaf)) {
      const [, N] = shape
      data = Float32Array.from({ length: n }, (_, i) => Math.log((i % N) + 1))
    } else if (/^D(_b|_s)?$/.test(leaf)) data = new Float32Array(n).fill(1)
    else if (/\.mamba\.dt_proj\.weight$/.test(name)) data = uniform(n, shape[1] ** -0.5)
    else if (/\.mamba\.dt_proj\.bias$/.test(name)) {
      // dt log-uniform in [1e-3, 0.1], floored at 1e-4; bias = softplus^-1(dt).
      data = Float32Array.from({ length: n }, () => {
        const dt = Math.max(1e-4, Math.exp(next() * (Math.log(0.1) - Math.log(1e-3)) + Math.log(1e-3)))
        return dt + Math.log(-Math.expm1(-dt))
      })
    } else if (leaf === 'bias') data = uniform(n, 1 / Math.sqrt(fanIn(name.replace(/bias$/, 'weight'))))
    else data = uniform(n, 1 / Math.sqrt(fanIn(name)))
    weights.set(name, { shape, data })
  }
  return weights
}
