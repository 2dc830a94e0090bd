import { gradients } from '../../src/main/engine/autodiff/gradients'
import { Graph, sizeOf, type Shape, type Value } from '../../src/main/engine/graph/builder'
import { Executor } from '../../src/main/engine/train/executor'
import { uniformArray } from '../../src/main/engine/random'

export interface InputSpec {
  shape: Shape
  /** Range of the random values (keep kinks of Relu/Where out of reach of the step). */
  range?: [number, number]
  /** Fixed values instead of random ones. */
  data?: Float32Array
}

export interface GradCheck {
  /** Largest |numeric - analytic| / max(|analytic|, floor) over the inputs. */
  worst: number
  perInput: { name: string; numeric: number; analytic: number }[]
}

/**
 * Finite-difference check of the gradient rules an expression uses: f(x) = sum(R * out) for a
 * random R, compared along random directions with <grad f, v> from the autodiff graph, both run
 * through ONNX Runtime (and the native scan kernels) on the CPU.
 */
export async function checkGradients(
  inputs: Record<string, InputSpec>,
  build: (g: Graph, xs: Record<string, Value>) => Value,
  options: { eps?: number; floor?: number; seed?: number } = {},
): Promise<GradCheck> {
  const eps = options.eps ?? 1e-3
  const g = new Graph()
  const xs = Object.fromEntries(Object.entries(inputs).map(([name, s]) => [name, g.input(name, 'float32', s.shape)]))
  const out = build(g, xs)
  g.output('out', g.op('Mul', [out, g.f32(1)]))
  const seed = g.input('seed', 'float32', out.shape)
  const names = Object.keys(inputs)
  const grads = gradients(g, [[out, seed]], names.map((n) => xs[n]))
  grads.forEach((d, i) => g.output(`d_${names[i]}`, g.op('Mul', [d, g.f32(1)])))
  const exec = await Executor.create(g, { provider: 'cpu', threads: 1 })
  try {
    let s = options.seed ?? 1
    const values = Object.fromEntries(names.map((n) => [n, inputs[n].data ?? uniformArray(sizeOf(inputs[n].shape), ...(inputs[n].range ?? [-1, 1]), s++)]))
    const R = uniformArray(sizeOf(out.shape), -1, 1, 99)
    const f = async (feeds: Record<string, Float32Array>) => {
      const y = (await exec.run({ ...feeds, seed: R })).get('out')!
      let sum = 0
      for (let i = 0; i < y.length; i++) sum += y[i] * R[i]
      return sum
    }
    const analytic = await exec.run({ ...values, seed: R })
    const perInput: GradCheck['perInput'] = []
    let worst = 0
    for (const name of names) {
      const v = uniformArray(values[name].length, -1, 1, 1000 + s++)
      const d = analytic.get(`d_${name}`)!
      const plus = Float32Array.from(values[name], (x, i) => x + eps * v[i])
      const minus = Float32Array.from(values[name], (x, i) => x - eps * v[i])
      // The step actually taken (after rounding to float32), so the comparison is exact to first order.
      let dot = 0
      for (let i = 0; i < v.length; i++) dot += (d[i] * (plus[i] - minus[i])) / (2 * eps)
      const numeric = ((await f({ ...values, [name]: plus })) - (await f({ ...values, [name]: minus }))) / (2 * eps)
      perInput.push({ name, numeric, analytic: dot })
      worst = Math.max(worst, Math.abs(numeric - dot) / Math.max(Math.abs(dot), options.floor ?? 1e-2))
    }
    return { worst, perInput }
  } finally {
    await exec.dispose()
  }
}
