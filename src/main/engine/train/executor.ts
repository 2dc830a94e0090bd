/**
 * Runs training graphs (forward, loss, backward, optimizer) on one execution provider. Like
 * runtime/program.ts for inference, the CPU graph is split around the ops ONNX Runtime does not
 * have: the native selective scan and its backward (autodiff/scan.ts) run between the ONNX parts on
 * libuv workers. What training needs beyond inference: multi-output native ops, and graph outputs
 * written into arrays the caller owns (weights and moments are swapped in place every step, so
 * no new memory is touched; PLATFORM.md measures ~3 ms per MiB of fresh output).
 */
import * as ort from 'onnxruntime-node'
import { StudioError } from '../../../shared/errors'
import { sizeOf, type Graph, type Node, type Value } from '../graph/builder'
import { emitModel, neededNodes, wholeGraph, type WeightLookup } from '../graph/emit'
import { lower, LOWERINGS, type Provider, type Rule } from '../graph/lower'
import { partition, type Step } from '../graph/partition'
import { selectiveScan } from '../runtime/scan'
import { selectiveScanBackward } from '../autodiff/scan'

export interface ExecutorOptions {
  provider: Provider
  /** Data of the graph's params (initializers); training graphs feed trainable weights as inputs. */
  weights?: WeightLookup
  /** ONNX Runtime intra-op threads and scan workers; default: ONNX Runtime's choice. */
  threads?: number
}

const NATIVE = new Set(['SelectiveScan', 'SelectiveScanGrad'])

interface OnnxStep {
  kind: 'onnx'
  session: ort.InferenceSession
  inputs: string[]
  outputs: string[]
}
interface NativeStep {
  kind: 'native'
  op: 'SelectiveScan' | 'SelectiveScanGrad'
  inputs: string[]
  outputs: string[]
  dims: { batch: number; channels: number; tokens: number; state: number }
}
type ExecStep = OnnxStep | NativeStep

export class Executor {
  private constructor(
    readonly provider: Provider,
    private readonly steps: ExecStep[],
    private readonly freeAfter: string[][],
    readonly inputs: ReadonlyMap<string, readonly number[]>,
    readonly outputs: ReadonlyMap<string, readonly number[]>,
    private readonly threads: number | undefined,
  ) {}

  static async create(graph: Graph, options: ExecutorOptions): Promise<Executor> {
    const lowered = lower(graph, { ...LOWERINGS[options.provider], ReduceSum: blockedReduce, ReduceMean: blockedReduce })
    // Rules may build values nobody reads (and partition() keeps every node): drop them.
    const needed = neededNodes(lowered.nodes, [...lowered.outputs.values()])
    lowered.nodes.splice(0, lowered.nodes.length, ...needed)
    const sessionOptions: ort.InferenceSession.SessionOptions = {
      executionProviders: [options.provider],
      graphOptimizationLevel: 'all',
      ...(options.threads ? { intraOpNumThreads: options.threads, interOpNumThreads: 1 } : {}),
    }
    let planned: Step[]
    if (options.provider === 'cpu') planned = partition(lowered, (n) => NATIVE.has(n.op)).steps
    else {
      const left = lowered.nodes.find((n) => NATIVE.has(n.op))
      if (left) throw new StudioError('unsupported', `training graphs with ${left.op} run on the CPU provider only for now`)
      planned = [{ kind: 'onnx', part: wholeGraph(lowered) }]
    }
    const names = planned.find((s) => s.kind === 'onnx')?.part.names ?? new Map<number, string>()
    const nameOf = (v: Value) => names.get(v.id) ?? String(v.id)
    const steps: ExecStep[] = []
    try {
      for (const step of planned) {
        if (step.kind === 'native') {
          steps.push(nativeStep(step.node, nameOf))
          continue
        }
        const { bytes } = emitModel(step.part, { weights: options.weights })
        const session = await ort.InferenceSession.create(bytes, sessionOptions)
        steps.push({ kind: 'onnx', session, inputs: step.part.inputs.map(nameOf), outputs: step.part.outputs.map(nameOf) })
      }
    } catch (err) {
      await Promise.all(steps.map((s) => (s.kind === 'onnx' ? s.session.release() : undefined)))
      throw err
    }
    const outputs = new Map([...lowered.outputs].map(([name, v]) => [name, v.shape]))
    const inputs = new Map(lowered.inputs.map((v) => [v.name, v.shape]))
    return new Executor(options.provider, steps, lastUses(steps, new Set(outputs.keys())), inputs, outputs, options.threads)
  }

  /**
   * Runs the graph. Outputs named in `into` are written into those arrays (they must not be
   * fed in the same run); the others come back as new arrays.
   */
  async run(feeds: Record<string, Float32Array>, into: Record<string, Float32Array> = {}): Promise<Map<string, Float32Array>> {
    const values = new Map<string, ort.Tensor>()
    for (const [name, shape] of this.inputs) {
      const data = feeds[name]
      if (!data || data.length !== sizeOf(shape)) {
        throw new StudioError('bad_input', `input ${name} needs ${sizeOf(shape)} float32 values (${shape.join('x')}), got ${data?.length ?? 'none'}`)
      }
      values.set(name, new ort.Tensor('float32', data, [...shape]))
    }
    for (const [name, data] of Object.entries(into)) {
      const shape = this.outputs.get(name)
      if (!shape || data.length !== sizeOf(shape)) throw new StudioError('internal', `executor: no output ${name} of ${data.length} values`)
    }
    const get = (name: string) => {
      const t = values.get(name)
      if (!t) throw new StudioError('internal', `executor: value ${name} is not computed yet`)
      return t
    }
    for (let i = 0; i < this.steps.length; i++) {
      const step = this.steps[i]
      if (step.kind === 'onnx') {
        const fetches = Object.fromEntries(step.outputs.map((n) => [n, n in into ? new ort.Tensor('float32', into[n], [...this.outputs.get(n)!]) : null]))
        const result = await step.session.run(Object.fromEntries(step.inputs.map((n) => [n, get(n)])), fetches as ort.InferenceSession.FetchesType)
        for (const n of step.outputs) values.set(n, result[n] as ort.Tensor)
        for (const n of this.freeAfter[i]) values.delete(n)
        continue
      }
      // Native steps that follow each other are independent (same level): run them together.
      let j = i
      while (j < this.steps.length && this.steps[j].kind === 'native') j++
      const batch = this.steps.slice(i, j) as NativeStep[]
      await Promise.all(batch.map((s) => this.runNative(s, get, values)))
      for (let k = i; k < j; k++) for (const n of this.freeAfter[k]) values.delete(n)
      i = j - 1
    }
    return new Map([...this.outputs.keys()].map((n) => {
      const data = get(n).data as Float32Array
      if (n in into && data !== into[n]) into[n].set(data)
      return [n, n in into ? into[n] : data]
    }))
  }

  async dispose(): Promise<void> {
    await Promise.all(this.steps.map((s) => (s.kind === 'onnx' ? s.session.release() : undefined)))
  }

  private async runNative(s: NativeStep, get: (n: string) => ort.Tensor, values: Map<string, ort.Tensor>): Promise<void> {
    const [u, delta, A, B, C, dy] = s.inputs.map((n) => get(n).data as Float32Array)
    const { batch, channels, tokens, state } = s.dims
    const seq = [batch, channels, tokens]
    if (s.op === 'SelectiveScan') {
      const y = await selectiveScan(u, delta, A, B, C, s.dims, { workers: this.threads })
      values.set(s.outputs[0], new ort.Tensor('float32', y, seq))
      return
    }
    const d = await selectiveScanBackward(u, delta, A, B, C, dy, s.dims, { workers: this.threads })
    const shapes = [seq, seq, [channels, state], [batch, state, tokens], [batch, state, tokens]]
    ;[d.du, d.ddelta, d.dA, d.dB, d.dC].forEach((data, k) => values.set(s.outputs[k], new ort.Tensor('float32', data, shapes[k])))
  }
}

/**
 * A long reduction as two shorter ones: ONNX Runtime's CPU reductions add sequentially in float32,
 * and a gradient's sums over 10^4-10^5 positions (instance norms, biases) then lose 3-4 digits.
 * When the reduced axes (ignoring those of length 1) are adjacent, their S elements are viewed as
 * S1 x S2 (S2 the largest divisor of S up to sqrt(S)) and reduced in two passes.
 */
export const blockedReduce: Rule = (g, node, [x]) => {
  const rank = x.shape.length
  const axes = (node.attrs.axes as number[]).map((a) => (a < 0 ? a + rank : a)).filter((a) => x.shape[a] > 1).sort((p, q) => p - q)
  const size = axes.reduce((p, a) => p * x.shape[a], 1)
  let s2 = Math.floor(Math.sqrt(size))
  while (s2 > 1 && size % s2 !== 0) s2--
  const adjacent = axes.every((a, i) => i === 0 || a === axes[i - 1] + 1)
  if (size < 4096 || s2 < 16 || !adjacent) return [g.op(node.op, [x], { ...node.attrs })]
  const [first, last] = [axes[0], axes[axes.length - 1]]
  const count = (from: number, to: number) => x.shape.slice(from, to).reduce((p, d) => p * d, 1)
  const split = g.reshape(x, [count(0, first), size / s2, s2, count(last + 1, rank)])
  const twice = g.op(node.op, [g.op(node.op, [split], { axes: [2], keepdims: 0 })], { axes: [1], keepdims: 0 })
  return [g.reshape(twice, node.outputs[0].shape)]
}

function nativeStep(node: Node, nameOf: (v: Value) => string): NativeStep {
  const [u, , A] = node.inputs
  const [batch, channels, tokens] = u.shape
  return {
    kind: 'native',
    op: node.op as NativeStep['op'],
    inputs: node.inputs.map(nameOf),
    outputs: node.outputs.map(nameOf),
    dims: { batch, channels, tokens, state: A.shape[1] },
  }
}

/** After step i, the values no later step reads (graph outputs are kept). */
function lastUses(steps: ExecStep[], keep: Set<string>): string[][] {
  const last = new Map<string, number>()
  steps.forEach((s, i) => {
    for (const n of s.inputs) last.set(n, i)
  })
  const free: string[][] = steps.map(() => [])
  for (const [n, i] of last) if (!keep.has(n)) free[i].push(n)
  return free
}
