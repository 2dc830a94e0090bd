import { describe, expect, it } from 'vitest'
import { RULES } from '../../src/main/engine/autodiff/rules'
import type { Graph, Value } from '../../src/main/engine/graph/builder'
import type { OpName } from '../../src/main/engine/graph/ops'
import { checkGradients, type InputSpec } from './helpers'

interface Case {
  op: OpName
  title: string
  inputs: Record<string, InputSpec>
  build: (g: Graph, x: Record<string, Value>) => Value
  eps?: number
}

const away: [number, number] = [0.2, 1.5]
const cases: Case[] = [
  { op: 'Add', title: 'with broadcasting on both sides', inputs: { a: { shape: [2, 3, 4] }, b: { shape: [3, 1] } }, build: (g, x) => g.addOp(x.a, x.b) },
  { op: 'Sub', title: 'with broadcasting', inputs: { a: { shape: [2, 1, 4] }, b: { shape: [2, 3, 4] } }, build: (g, x) => g.sub(x.a, x.b) },
  { op: 'Mul', title: 'with broadcasting', inputs: { a: { shape: [2, 3, 4] }, b: { shape: [4] } }, build: (g, x) => g.mul(x.a, x.b) },
  { op: 'Div', title: 'with broadcasting', inputs: { a: { shape: [2, 3] }, b: { shape: [2, 1], range: away } }, build: (g, x) => g.div(x.a, x.b) },
  {
    op: 'Where',
    title: 'both branches, condition from Greater',
    inputs: { c: { shape: [3, 4] }, a: { shape: [3, 4] }, b: { shape: [4] } },
    build: (g, x) => g.where(g.greater(x.c, g.f32(0)), g.mul(x.a, x.a), x.b),
  },
  { op: 'Neg', title: '', inputs: { x: { shape: [5] } }, build: (g, x) => g.neg(x.x) },
  { op: 'Exp', title: '', inputs: { x: { shape: [5] } }, build: (g, x) => g.exp(x.x) },
  { op: 'Log', title: '', inputs: { x: { shape: [5], range: away } }, build: (g, x) => g.log(x.x) },
  { op: 'Sqrt', title: '', inputs: { x: { shape: [5], range: away } }, build: (g, x) => g.sqrt(x.x) },
  { op: 'Sigmoid', title: '', inputs: { x: { shape: [5], range: [-3, 3] } }, build: (g, x) => g.sigmoid(x.x) },
  { op: 'Relu', title: 'away from the kink', inputs: { x: { shape: [6], data: Float32Array.from([-1, -0.5, 0.3, 0.7, 1.2, -2]) } }, build: (g, x) => g.relu(x.x) },
  { op: 'LeakyRelu', title: 'away from the kink', inputs: { x: { shape: [6], data: Float32Array.from([-1, -0.5, 0.3, 0.7, 1.2, -2]) } }, build: (g, x) => g.leakyRelu(x.x, 0.01) },
  { op: 'Erf', title: '', inputs: { x: { shape: [5], range: [-2, 2] } }, build: (g, x) => g.erf(x.x) },
  { op: 'Softplus', title: 'including the x > 20 branch of the CPU lowering', inputs: { x: { shape: [5], data: Float32Array.from([-3, -0.5, 1, 4, 25]) } }, build: (g, x) => g.softplus(x.x) },
  { op: 'MatMul', title: 'matrix times batched sequence (weights x tokens)', inputs: { a: { shape: [4, 3] }, b: { shape: [2, 3, 5] } }, build: (g, x) => g.matmul(x.a, x.b) },
  { op: 'MatMul', title: 'batched both sides with batch broadcasting', inputs: { a: { shape: [2, 1, 3, 4] }, b: { shape: [3, 4, 2] } }, build: (g, x) => g.matmul(x.a, x.b) },
  {
    op: 'Conv',
    title: '3D, stride 1, (1,3,3) kernel, padding, bias',
    inputs: { x: { shape: [2, 3, 2, 5, 4] }, w: { shape: [4, 3, 1, 3, 3] }, b: { shape: [4] } },
    build: (g, x) => g.conv(x.x, x.w, x.b, { pads: [0, 1, 1, 0, 1, 1] }),
  },
  {
    op: 'Conv',
    title: '3D, 3x3x3 kernel, padding 1 (the GSC conv)',
    inputs: { x: { shape: [1, 2, 3, 4, 3] }, w: { shape: [2, 2, 3, 3, 3] }, b: { shape: [2] } },
    build: (g, x) => g.conv(x.x, x.w, x.b, { pads: [1, 1, 1, 1, 1, 1] }),
  },
  {
    op: 'Conv',
    title: '3D, stride 2 in all axes, (1,7,7) kernel, padding (0,3,3) (the stem)',
    inputs: { x: { shape: [1, 1, 4, 9, 8] }, w: { shape: [3, 1, 1, 7, 7] }, b: { shape: [3] } },
    build: (g, x) => g.conv(x.x, x.w, x.b, { strides: [2, 2, 2], pads: [0, 3, 3, 0, 3, 3] }),
  },
  {
    op: 'Conv',
    title: '3D, stride 2, (1,2,2) kernel, no padding (downsampling)',
    inputs: { x: { shape: [2, 2, 2, 4, 6] }, w: { shape: [3, 2, 1, 2, 2] }, b: { shape: [3] } },
    build: (g, x) => g.conv(x.x, x.w, x.b, { strides: [2, 2, 2], pads: [0, 0, 0, 0, 0, 0] }),
  },
  {
    op: 'Conv',
    title: '1D depthwise causal (Mamba conv1d: group = channels, left padding)',
    inputs: { x: { shape: [2, 3, 7] }, w: { shape: [3, 1, 4] }, b: { shape: [3] } },
    build: (g, x) => g.conv(x.x, x.w, x.b, { group: 3, pads: [3, 0] }),
  },
  {
    op: 'ConvTranspose',
    title: 'kernel = stride = 2 (U-Net upsampling)',
    inputs: { x: { shape: [2, 3, 2, 2, 3] }, w: { shape: [3, 2, 2, 2, 2] } },
    build: (g, x) => g.convTranspose(x.x, x.w, [2, 2, 2]),
  },
  { op: 'ReduceSum', title: 'keepdims 0', inputs: { x: { shape: [2, 3, 4] } }, build: (g, x) => g.reduceSum(x.x, [0, 2], false) },
  { op: 'ReduceMean', title: 'keepdims 1, then broadcast back (a norm)', inputs: { x: { shape: [2, 3, 4] } }, build: (g, x) => g.mul(x.x, g.reduceMean(x.x, [1, 2])) },
  { op: 'Reshape', title: '', inputs: { x: { shape: [2, 6] } }, build: (g, x) => g.mul(g.reshape(x.x, [3, 4]), g.f32(Float32Array.from({ length: 4 }, (_, i) => i + 1), [4])) },
  { op: 'Transpose', title: '', inputs: { x: { shape: [2, 3, 4] } }, build: (g, x) => g.mul(g.transpose(x.x, [2, 0, 1]), g.f32(Float32Array.from({ length: 3 }, (_, i) => i - 1), [3])) },
  { op: 'Slice', title: 'a middle part along two axes', inputs: { x: { shape: [4, 5, 3] } }, build: (g, x) => g.slice(x.x, [1, -4], [3, 4], [0, 1]) },
  { op: 'Slice', title: 'step -1 (a flip, as the backward Mamba branch does)', inputs: { x: { shape: [2, 6] } }, build: (g, x) => g.mul(g.slice(x.x, [5], [-7], [1], [-1]), g.f32(Float32Array.from({ length: 6 }, (_, i) => i), [6])) },
  { op: 'Concat', title: '', inputs: { a: { shape: [2, 3] }, b: { shape: [2, 2] } }, build: (g, x) => g.mul(g.concat([x.a, x.b], 1), g.f32(Float32Array.from({ length: 5 }, (_, i) => i + 1), [5])) },
  { op: 'Expand', title: '', inputs: { x: { shape: [3, 1] } }, build: (g, x) => g.op('Expand', [x.x], { shape: [2, 3, 4] }) },
]

describe('every differentiable primitive has a gradient rule that matches finite differences', () => {
  it('covers each op of graph/ops.ts (or says it has no gradient)', () => {
    const tested = new Set<string>([...cases.map((c) => c.op), 'Greater', 'SelectiveScan', 'SelectiveScanGrad'])
    for (const op of Object.keys(RULES)) expect(tested.has(op), op).toBe(true)
    expect(RULES.Greater).toBeNull()
    expect(RULES.SelectiveScanGrad).toBeNull()
  })

  for (const c of cases) {
    it(`${c.op}${c.title ? `: ${c.title}` : ''}`, async () => {
      const { worst, perInput } = await checkGradients(c.inputs, c.build, { eps: c.eps })
      expect(worst, JSON.stringify(perInput)).toBeLessThan(5e-3)
    })
  }
})
