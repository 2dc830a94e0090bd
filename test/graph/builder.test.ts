import { mkdtempSync, rmSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as ort from 'onnxruntime-node'
import { afterAll, describe, expect, it } from 'vitest'
import { Graph } from '../../src/main/engine/graph/builder'
import { decodeModel } from '../../src/main/engine/graph/onnx-proto'
import { emitModel, wholeGraph, writeModel } from '../../src/main/engine/graph/emit'
import { sliceLength } from '../../src/main/engine/graph/ops'

const dir = mkdtempSync(join(tmpdir(), 'tu-graph-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

async function run(g: Graph, feeds: Record<string, Float32Array>, weights: Record<string, Float32Array> = {}) {
  const { bytes } = emitModel(wholeGraph(g), { weights: (n) => weights[n] })
  const session = await ort.InferenceSession.create(bytes)
  const tensors = Object.fromEntries(g.inputs.map((v) => [v.name, new ort.Tensor('float32', feeds[v.name], [...v.shape])]))
  const out = await session.run(tensors)
  return Object.fromEntries(Object.entries(out).map(([k, t]) => [k, { dims: t.dims, data: t.data as Float32Array }]))
}

describe('graph builder: shape checks while building', () => {
  it('names the scope and the shapes when a conv weight does not fit', () => {
    const g = new Graph()
    const x = g.input('x', 'float32', [1, 4, 2, 8, 8])
    const w = g.param('w', [8, 3, 1, 3, 3])
    expect(() => g.scope('encoder1.layer', () => g.conv(x, w, null))).toThrow(
      /graph at encoder1\.layer: Conv: input has 4 channels; weight \(8,3,1,3,3\) with group 1 expects 3 \(inputs \(1,4,2,8,8\), \(8,3,1,3,3\)\)/,
    )
  })

  it('refuses shapes that do not broadcast, reshape or concatenate', () => {
    const g = new Graph()
    const a = g.input('a', 'float32', [2, 3])
    const b = g.input('b', 'float32', [4, 3])
    expect(() => g.addOp(a, b)).toThrow(/do not broadcast/)
    expect(() => g.reshape(a, [4, 2])).toThrow(/cannot reshape \(2,3\) to \(4,2\)/)
    expect(() => g.concat([a, g.input('c', 'float32', [2, 4])], 0)).toThrow(/inputs differ off axis 0/)
    expect(() => g.matmul(a, a)).toThrow(/inner dimensions 3 and 2 differ/)
    expect(() => g.param('a', [1])).toThrow(/name a is used twice/)
  })

  it('infers output shapes of convs, transposed convs, reductions and slices', () => {
    const g = new Graph()
    const x = g.input('x', 'float32', [2, 1, 16, 80, 80])
    const stem = g.conv(x, g.param('w', [8, 1, 1, 7, 7]), g.param('b', [8]), { strides: [2, 2, 2], pads: [0, 3, 3, 0, 3, 3] })
    expect(stem.shape).toEqual([2, 8, 8, 40, 40])
    expect(g.convTranspose(stem, g.param('t', [8, 4, 2, 2, 2]), [2, 2, 2]).shape).toEqual([2, 4, 16, 80, 80])
    expect(g.reduceMean(stem, [2, 3, 4]).shape).toEqual([2, 8, 1, 1, 1])
    expect(g.reduceSum(stem, [-1], false).shape).toEqual([2, 8, 8, 40])
    expect(g.reshape(stem, [2, 8, -1]).shape).toEqual([2, 8, 12800])
    expect(g.slice(stem, [39], [-41], [4], [-1]).shape).toEqual([2, 8, 8, 40, 40])
    expect(sliceLength(10, 2, 100, 3)).toBe(3)
    expect(sliceLength(10, -1, -11, -2)).toBe(5)
  })
})

describe('graph builder: emitted ONNX runs in ONNX Runtime', () => {
  it('computes convs, matmuls, flips, interleaves, reductions and Where like a plain loop', async () => {
    const g = new Graph()
    const x = g.input('x', 'float32', [1, 2, 10])
    const w = g.param('w', [2, 1, 3])
    // Causal depthwise conv: pad 2 in front only.
    const conv = g.conv(x, w, g.param('b', [2]), { group: 2, pads: [2, 0] })
    const flipped = g.slice(conv, [9], [-11], [2], [-1])
    const inter = g.reshape(g.transpose(g.reshape(flipped, [1, 2, 5, 2]), [0, 1, 3, 2]), [1, 2, 10])
    const mixed = g.matmul(g.param('m', [3, 2]), inter)
    g.output('mixed', mixed)
    g.output('mean', g.reduceMean(mixed, [2], false))
    g.output('soft', g.softplus(mixed))
    g.output('where', g.where(g.greater(mixed, g.f32(0)), mixed, g.neg(mixed)))
    const xs = Float32Array.from({ length: 20 }, (_, i) => Math.sin(i))
    const wts = { w: Float32Array.from([0.5, -1, 2, 1, 0.25, -0.5]), b: Float32Array.from([0.1, -0.2]), m: Float32Array.from([1, 2, -1, 0.5, 0, 3]) }
    const out = await run(g, { x: xs }, wts)

    const convRef = (c: number, t: number) => wts.b[c] + [0, 1, 2].reduce((s, k) => s + wts.w[c * 3 + k] * (t - 2 + k >= 0 ? xs[c * 10 + t - 2 + k] : 0), 0)
    const interRef = (c: number, j: number) => convRef(c, 9 - ((j % 5) * 2 + Math.floor(j / 5)))
    for (let r = 0; r < 3; r++) {
      for (let t = 0; t < 10; t++) {
        const want = wts.m[r * 2] * interRef(0, t) + wts.m[r * 2 + 1] * interRef(1, t)
        expect(out.mixed.data[r * 10 + t]).toBeCloseTo(want, 5)
        expect(out.soft.data[r * 10 + t]).toBeCloseTo(Math.log1p(Math.exp(want)), 5)
        expect(out.where.data[r * 10 + t]).toBeCloseTo(Math.abs(want), 5)
      }
    }
    expect(out.mean.dims).toEqual([1, 3])
  })

  it('writes weights as external data that ONNX Runtime loads from beside the model', async () => {
    const g = new Graph()
    const x = g.input('x', 'float32', [1, 4])
    g.output('y', g.matmul(x, g.param('big', [4, 512])))
    const big = Float32Array.from({ length: 2048 }, (_, i) => i % 7)
    const file = join(dir, 'ext.onnx')
    const files = writeModel(file, wholeGraph(g), { weights: () => big, external: true })
    expect(files).toEqual([file, `${file}.data`])
    expect(existsSync(`${file}.data`)).toBe(true)
    const init = decodeModel(emitModel(wholeGraph(g), { weights: () => big, externalData: { location: 'ext.onnx.data' } }).bytes).graph.initializer
    expect(init.find((t) => t.name === 'big')?.data_location).toBe(1)
    const session = await ort.InferenceSession.create(file)
    const out = await session.run({ x: new ort.Tensor('float32', Float32Array.from([1, 0, 0, 2]), [1, 4]) })
    const y = out.y.data as Float32Array
    expect(y[5]).toBe(big[5] + 2 * big[3 * 512 + 5])
  })

  it('leaves params as graph inputs when asked (training graphs feed weights)', () => {
    const g = new Graph()
    g.output('y', g.matmul(g.input('x', 'float32', [1, 2]), g.param('w', [2, 2])))
    const model = decodeModel(emitModel(wholeGraph(g), { paramsAsInputs: true }).bytes)
    expect(model.graph.input.map((v) => v.name)).toEqual(['x', 'w'])
    expect(model.graph.initializer ?? []).toHaveLength(0)
  })

  it('says which weight is missing', () => {
    const g = new Graph()
    g.output('y', g.matmul(g.input('x', 'float32', [1, 2]), g.param('decoder1.w', [2, 2])))
    expect(() => emitModel(wholeGraph(g), { weights: () => undefined })).toThrow(/no weights for decoder1\.w \(2,2\)/)
  })
})
