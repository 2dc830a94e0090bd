import * as ort from 'onnxruntime-node'
import { describe, expect, it } from 'vitest'
import { Graph, sizeOf } from '../../src/main/engine/graph/builder'
import { emitModel, wholeGraph } from '../../src/main/engine/graph/emit'
import { lower, LOWERINGS, convTransposeAsConv, reduceInTwoSteps, selectiveScanParallel, softplusAsWhere } from '../../src/main/engine/graph/lower'
import { partition } from '../../src/main/engine/graph/partition'
import { Program } from '../../src/main/engine/runtime/program'
import { selectiveScan } from '../../src/main/engine/runtime/scan'
import { uniformArray } from '../../src/main/engine/random'

async function runOrt(g: Graph, feeds: Record<string, Float32Array>, weights: Record<string, Float32Array> = {}) {
  const session = await ort.InferenceSession.create(emitModel(wholeGraph(g), { weights: (n) => weights[n] }).bytes)
  const out = await session.run(Object.fromEntries(g.inputs.map((v) => [v.name, new ort.Tensor('float32', feeds[v.name], [...v.shape])])))
  return Object.fromEntries(Object.entries(out).map(([k, t]) => [k, t.data as Float32Array]))
}

const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0)

describe('provider lowerings compute what the op computes', () => {
  it('Softplus as Where(x > 20, x, log(1 + exp(x))), without NaN or infinity for large x', async () => {
    const g = new Graph()
    g.output('y', g.softplus(g.input('x', 'float32', [6])))
    const x = Float32Array.from([-30, -1, 0, 3, 25, 500])
    const [plain, lowered] = [await runOrt(g, { x }), await runOrt(lower(g, { Softplus: softplusAsWhere }), { x })]
    expect(maxDiff(plain.y, lowered.y)).toBeLessThan(1e-6)
    expect(lowered.y[5]).toBe(500)
  })

  it('ConvTranspose (kernel = stride) as a 1x1x1 Conv and transposes', async () => {
    const g = new Graph()
    g.output('y', g.convTranspose(g.input('x', 'float32', [2, 3, 2, 3, 4]), g.param('w', [3, 5, 2, 2, 2]), [2, 2, 2]))
    const x = uniformArray(2 * 3 * 24, -1, 1, 7)
    const w = { w: uniformArray(3 * 5 * 8, -1, 1, 8) }
    const plain = await runOrt(g, { x }, w)
    const lowered = await runOrt(lower(g, { ConvTranspose: convTransposeAsConv }), { x }, w)
    expect(plain.y.length).toBe(2 * 5 * 4 * 6 * 8)
    expect(maxDiff(plain.y, lowered.y)).toBeLessThan(1e-5)
  })

  it('long reductions in two steps (means of equal groups, sums)', async () => {
    const g = new Graph()
    const x = g.input('x', 'float32', [2, 3, 4, 40, 50])
    g.output('mean', g.reduceMean(x, [2, 3, 4]))
    g.output('sum', g.reduceSum(x, [3, 4], false))
    g.output('short', g.reduceMean(x, [1]))
    const feeds = { x: uniformArray(2 * 3 * 8000, -1, 1, 9) }
    const plain = await runOrt(g, feeds)
    const lowered = lower(g, { ReduceMean: reduceInTwoSteps, ReduceSum: reduceInTwoSteps })
    expect(lowered.nodes.filter((n) => n.op === 'ReduceMean')).toHaveLength(3)
    const two = await runOrt(lowered, feeds)
    for (const k of ['mean', 'sum', 'short']) expect(maxDiff(plain[k], two[k]), k).toBeLessThan(1e-4)
  })

  for (const tokens of [1, 2, 7, 64, 101]) {
    it(`the parallel selective scan equals the native sequential kernel (${tokens} tokens)`, async () => {
      const [b, di, n] = [2, 3, 16]
      const g = new Graph()
      const ins = {
        u: g.input('u', 'float32', [b, di, tokens]),
        delta: g.input('delta', 'float32', [b, di, tokens]),
        A: g.input('A', 'float32', [di, n]),
        B: g.input('B', 'float32', [b, n, tokens]),
        C: g.input('C', 'float32', [b, n, tokens]),
      }
      g.output('y', g.selectiveScan(ins.u, ins.delta, ins.A, ins.B, ins.C))
      const feeds = {
        u: uniformArray(b * di * tokens, -2, 2, 1),
        delta: uniformArray(b * di * tokens, 0.01, 1.5, 2),
        A: uniformArray(di * n, -16, -1, 3),
        B: uniformArray(b * n * tokens, -1, 1, 4),
        C: uniformArray(b * n * tokens, -1, 1, 5),
      }
      const parallel = await runOrt(lower(g, { SelectiveScan: selectiveScanParallel() }), feeds)
      // The same in channel groups (one channel per group here).
      const grouped = await runOrt(lower(g, { SelectiveScan: selectiveScanParallel(b * n * tokens * 4) }), feeds)
      const sequential = await selectiveScan(feeds.u, feeds.delta, feeds.A, feeds.B, feeds.C, { batch: b, channels: di, tokens, state: n })
      expect(maxDiff(parallel.y, sequential)).toBeLessThan(1e-5)
      expect(maxDiff(grouped.y, sequential)).toBeLessThan(1e-5)
    })
  }
})

describe('the CPU split around native scans', () => {
  function twoScans(): Graph {
    const g = new Graph()
    const x = g.input('x', 'float32', [1, 4, 30])
    const A = g.neg(g.exp(g.param('A_log', [4, 16])))
    const bc = g.matmul(g.param('proj', [32, 4]), x)
    const Bm = g.slice(bc, [0], [16], [1])
    const Cm = g.slice(bc, [16], [32], [1])
    const delta = g.softplus(x)
    const first = g.selectiveScan(x, delta, A, Bm, Cm)
    const second = g.selectiveScan(g.sigmoid(first), delta, A, Bm, Cm)
    g.output('y', g.addOp(second, first))
    return g
  }
  const weights = { A_log: uniformArray(64, 0, 2, 1), proj: uniformArray(128, -1, 1, 2) }

  it('alternates ONNX parts and native scans by dependency level', () => {
    const steps = partition(lower(twoScans(), LOWERINGS.cpu), (n) => n.op === 'SelectiveScan').steps
    expect(steps.map((s) => s.kind)).toEqual(['onnx', 'native', 'onnx', 'native', 'onnx'])
    const first = steps[0]
    // A, B, C and delta leave the first part; u is the graph input itself.
    expect(first.kind === 'onnx' && first.part.outputs.length).toBe(4)
  })

  it('runs to the same result as the self-contained parallel graph', async () => {
    const x = uniformArray(120, -1, 1, 3)
    const program = await Program.create(twoScans(), { provider: 'cpu', weights: (n) => weights[n as keyof typeof weights] })
    expect(program.shape).toEqual({ sessions: 3, scans: 2 })
    const split = (await program.run({ x })).get('y')!
    const portable = await runOrt(lower(twoScans(), LOWERINGS.portable), { x }, weights)
    expect(split.length).toBe(sizeOf([1, 4, 30]))
    expect(maxDiff(split, portable.y)).toBeLessThan(1e-5)
    await program.dispose()
  })

  it('loads parts over the inline weight limit from model files with external data', async () => {
    const x = uniformArray(120, -1, 1, 3)
    const inline = await Program.create(twoScans(), { provider: 'cpu', weights: (n) => weights[n as keyof typeof weights] })
    const external = await Program.create(twoScans(), { provider: 'cpu', weights: (n) => weights[n as keyof typeof weights], inlineWeightLimit: 0 })
    expect(maxDiff((await external.run({ x })).get('y')!, (await inline.run({ x })).get('y')!)).toBe(0)
    await Promise.all([inline.dispose(), external.dispose()])
  })
})
