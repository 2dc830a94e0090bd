/**
 * The gradient rule of every primitive op (graph/ops.ts), one entry per op, written with the same
 * builder ops, so a backward pass is an ordinary graph that ONNX Runtime runs like any other.
 *
 * A rule gets the forward node, the gradient of each of its outputs (already of the output's
 * shape) and which inputs need a gradient, and returns one gradient per input (null where none
 * is needed or defined). A returned gradient may have a shape that broadcasts to the input's
 * shape (ReduceMean returns its keepdims shape): gradients.ts sums contributions with broadcasting
 * and expands a lone one to full shape when it is consumed.
 */
import { StudioError } from '../../../shared/errors'
import { sizeOf, type Graph, type Node, type Shape, type Value } from '../graph/builder'
import { normAxes, sliceLength, type OpName } from '../graph/ops'

export type GradRule = (g: Graph, node: Node, dys: Value[], wants: boolean[]) => (Value | null)[]

const same = (a: Shape, b: Shape) => a.length === b.length && a.every((d, i) => d === b[i])

/** Zeros of a shape, as a broadcast scalar (no constant of that size in the model). */
export function zeros(g: Graph, shape: Shape): Value {
  return g.op('Expand', [g.f32(0)], { shape: [...shape] })
}

/** Sums `dy` over the axes along which `shape` was broadcast to dy's shape. */
export function unbroadcast(g: Graph, dy: Value, shape: Shape): Value {
  if (same(dy.shape, shape)) return dy
  const lead = dy.shape.length - shape.length
  const axes: number[] = []
  dy.shape.forEach((d, i) => {
    if (i < lead || (shape[i - lead] === 1 && d !== 1)) axes.push(i)
  })
  const summed = axes.length ? g.reduceSum(dy, axes, true) : dy
  return same(summed.shape, shape) ? summed : g.reshape(summed, shape)
}

/** Swaps the last two axes. */
function swapLast(g: Graph, v: Value): Value {
  const r = v.shape.length
  return g.transpose(v, [...Array(r - 2).keys(), r - 1, r - 2])
}

/** Swaps axes 0 and 1 (batch and channels). */
function swap01(g: Graph, v: Value): Value {
  return g.transpose(v, [1, 0, ...Array.from({ length: v.shape.length - 2 }, (_, i) => i + 2)])
}

/** Reverses every axis from 2 on whose length is above 1 (a kernel's spatial axes). */
function flipSpatial(g: Graph, w: Value): Value {
  let out = w
  w.shape.forEach((d, axis) => {
    if (axis >= 2 && d > 1) out = g.slice(out, [d - 1], [-d - 1], [axis], [-1])
  })
  return out
}

/** Puts stride - 1 zeros between neighbours along each spatial axis (a strided conv's adjoint). */
function dilate(g: Graph, v: Value, strides: number[]): Value {
  let out = v
  strides.forEach((s, i) => {
    if (s === 1) return
    const axis = i + 2
    const n = out.shape[axis]
    const [before, after] = [out.shape.slice(0, axis), out.shape.slice(axis + 1)]
    const split = g.reshape(out, [...before, n, 1, ...after])
    const spread = g.concat([split, zeros(g, [...before, n, s - 1, ...after])], axis + 1)
    out = g.slice(g.reshape(spread, [...before, n * s, ...after]), [0], [(n - 1) * s + 1], [axis])
  })
  return out
}

/** Zero padding of the spatial axes (from axis 2): `pads` = [begins..., ends...] as ONNX writes them. */
function padSpatial(g: Graph, x: Value, pads: number[]): Value {
  const k = x.shape.length - 2
  let out = x
  for (let i = 0; i < k; i++) {
    const [before, after] = [pads[i], pads[i + k]]
    const parts: Value[] = []
    const side = (n: number) => zeros(g, out.shape.map((d, a) => (a === i + 2 ? n : d)))
    if (before > 0) parts.push(side(before))
    parts.push(out)
    if (after > 0) parts.push(side(after))
    if (parts.length > 1) out = g.concat(parts, i + 2)
  }
  return out
}

/** Every index of a kernel's spatial shape, in C order. */
function offsets(kernel: readonly number[]): number[][] {
  let all: number[][] = [[]]
  for (const k of kernel) all = all.flatMap((o) => Array.from({ length: k }, (_, i) => [...o, i]))
  return all
}

/**
 * sum over batch and positions of a[b, i, p] * c[b, j, p] for a (B, I, ...P) and c (B, J, ...P):
 * an (I, J) matrix from one MatMul.
 */
function contract(g: Graph, a: Value, c: Value): Value {
  return g.matmul(channelRows(g, a), g.transpose(channelRows(g, c), [1, 0]))
}

/** (B, C, ...P) as a (C, B * P) matrix (a reshape alone when B is 1). */
function channelRows(g: Graph, v: Value): Value {
  const rows = [v.shape[1], sizeOf(v.shape) / v.shape[1]]
  return g.reshape(v.shape[0] === 1 ? v : swap01(g, v), rows)
}

/**
 * The weight gradient of a convolution or transposed convolution, one (I, J) matrix per kernel
 * offset: `pair(offset)` gives the (B, I, ...P) and (B, J, ...P) tensors that meet at that offset
 * (one of them a strided slice). Returns (I, J, ...kernel).
 */
function perOffset(g: Graph, kernel: readonly number[], pair: (o: number[]) => [Value, Value]): Value {
  const mats = offsets(kernel).map((o) => contract(g, ...pair(o)))
  const [i, j] = mats[0].shape
  return byOffsetLast(
    g,
    mats.map((m) => g.reshape(m, [1, i * j])),
    [i, j, ...kernel],
  )
}

/**
 * The weight gradient of a stride-1, group-1 conv as a few large MatMuls (ONNX Runtime's Conv is
 * 3-6x slower at it with dy as the kernel). Everything lives on the padded input's grid, flattened
 * per channel: dy is widened to that grid with zeros after its end along each axis, so moving a
 * flat index by a kernel offset moves along the grid without wrapping into live values. dy is
 * moved by each offset j of the last kernel axis (rows (j, Cout) of one matrix), the padded input
 * by each offset o of the other axes, and one MatMul per o gives dW[:, :, o, j]. Returns
 * (Cout, Cin, ...kernel).
 */
function convWeightGrad(g: Graph, x: Value, dy: Value, kernel: readonly number[], pads: number[]): Value {
  const k = kernel.length
  const padded = padSpatial(g, x, pads)
  const grid = padded.shape.slice(2)
  const [b, ci] = x.shape
  const co = dy.shape[1]
  let widened = dy
  grid.forEach((size, i) => {
    const have = widened.shape[i + 2]
    if (size > have) widened = g.concat([widened, zeros(g, widened.shape.map((d, a) => (a === i + 2 ? size - have : d)))], i + 2)
  })
  // Per item (batch stays in front, so no transposes): (B, Co, M) and (B, Ci, M).
  const m = sizeOf(grid)
  const dyFlat = g.reshape(widened, [b, co, m])
  const kl = kernel[k - 1]
  const early = kl > 1 ? g.concat([zeros(g, [b, co, kl - 1]), dyFlat], 2) : dyFlat
  const dyRows = kl > 1 ? g.concat(Array.from({ length: kl }, (_, j) => g.slice(early, [kl - 1 - j], [kl - 1 - j + m], [2])), 1) : dyFlat
  // Flat distance of one step along each spatial axis of the padded grid.
  const step = grid.map((_, i) => grid.slice(i + 1).reduce((p, d) => p * d, 1))
  const lead = kernel.slice(0, -1)
  const reach = lead.reduce((sum, kd, i) => sum + (kd - 1) * step[i], 0)
  const xFlat = g.reshape(padded, [b, ci, m])
  const xLong = reach > 0 ? g.concat([xFlat, zeros(g, [b, ci, reach])], 2) : xFlat
  const mats = offsets(lead).map((o) => {
    const shift = o.reduce((sum, d, i) => sum + d * step[i], 0)
    const xs = reach > 0 ? g.slice(xLong, [shift], [shift + m], [2]) : xFlat
    // (B, kl * Co, Ci) summed over the items: rows (j, co), columns ci, one row block per offset (o, j).
    const perItem = g.matmul(dyRows, g.transpose(xs, [0, 2, 1]))
    return g.reshape(b === 1 ? perItem : g.reduceSum(perItem, [0], false), [kl, co * ci])
  })
  // (offsets, Co * Ci) -> (Co * Ci, offsets): a plain 2-D transpose.
  return byOffsetLast(g, mats, [co, ci, ...kernel])
}

/** Stacks (n, M) rows, one per kernel offset in C order, as (M, offsets) reshaped to `shape`. */
function byOffsetLast(g: Graph, rows: Value[], shape: number[]): Value {
  const stacked = rows.length === 1 ? rows[0] : g.concat(rows, 0)
  return g.reshape(g.transpose(stacked, [1, 0]), shape)
}

/** Elements at `o + stride * p` for p over `size`, along the spatial axes of x. */
function stridedFrom(g: Graph, x: Value, o: number[], strides: number[], size: readonly number[]): Value {
  const axes = o.map((_, i) => i + 2)
  return g.slice(
    x,
    o,
    o.map((s, i) => s + strides[i] * (size[i] - 1) + 1),
    axes,
    strides,
  )
}

const convGrad: GradRule = (g, node, [dy], wants) => {
  const [x, w, b] = node.inputs
  const strides = node.attrs.strides as number[]
  const pads = node.attrs.pads as number[]
  const group = node.attrs.group as number
  const kernel = w.shape.slice(2)
  const k = kernel.length
  const unit = strides.every((s) => s === 1)
  const [cout, cinPerGroup] = w.shape
  const cin = x.shape[1]
  const unsupported = (what: string) =>
    new StudioError('unsupported', `autodiff: Conv ${what} (kernel ${kernel}, strides ${strides}, group ${group}) at ${node.scope}`)
  const out: (Value | null)[] = [null, null, null]

  if (wants[0]) {
    // The input gradient is the full correlation of dy, spread out by the strides (zeros between
    // its elements), with the flipped kernel whose in and out channels are swapped per group;
    // the conv's pads choose the window of it that lies over the unpadded input.
    if (pads.some((p, i) => p > kernel[i % k] - 1)) throw unsupported('with padding wider than its kernel')
    const perGroup = g.reshape(w, [group, cout / group, cinPerGroup, ...kernel])
    const wt = g.reshape(g.transpose(perGroup, [0, 2, 1, ...kernel.map((_, i) => i + 3)]), [cin, cout / group, ...kernel])
    const spread = dilate(g, dy, strides)
    const begin = kernel.map((kd, i) => kd - 1 - pads[i])
    const end = kernel.map((_, i) => x.shape[i + 2] - spread.shape[i + 2] + pads[i])
    out[0] = g.conv(spread, flipSpatial(g, wt), null, { group, pads: [...begin, ...end] })
  }
  if (wants[1]) {
    if (group === 1 && unit) {
      out[1] = convWeightGrad(g, x, dy, kernel, pads)
    } else if (group === cin && cinPerGroup === 1 && cout === cin && unit) {
      // Depthwise: batch folded into the channels, one group per (item, channel), summed over items.
      const bs = x.shape[0]
      const xs = g.reshape(x, [1, bs * cin, ...x.shape.slice(2)])
      const ks = g.reshape(dy, [bs * cin, 1, ...dy.shape.slice(2)])
      const per = g.reshape(g.conv(xs, ks, null, { group: bs * cin, pads }), [bs, cin, 1, ...kernel])
      out[1] = g.reshape(g.reduceSum(per, [0], false), w.shape)
    } else if (group === 1) {
      // Strided: one MatMul per kernel offset over the strided slice of the padded input.
      const padded = padSpatial(g, x, pads)
      out[1] = swap01(g, perOffset(g, kernel, (o) => [stridedFrom(g, padded, o, strides, dy.shape.slice(2)), dy]))
    } else {
      throw unsupported('weight gradient')
    }
  }
  if (b && wants[2]) out[2] = g.reduceSum(dy, [0, ...kernel.map((_, i) => i + 2)], false)
  return out
}

const convTransposeGrad: GradRule = (g, node, [dy], wants) => {
  const [x, w] = node.inputs
  const strides = node.attrs.strides as number[]
  return [
    // Without padding, the conv with the same weight (read as Cout = Ci, Cin = Co) is the adjoint.
    wants[0] ? g.conv(dy, w, null, { strides }) : null,
    // dW[ci, co, o] = sum over items and positions p of x[b, ci, p] dy[b, co, o + s p]
    wants[1] ? perOffset(g, w.shape.slice(2), (o) => [x, stridedFrom(g, dy, o, strides, x.shape.slice(2))]) : null,
  ]
}

const reduceGrad =
  (mean: boolean): GradRule =>
  (g, node, [dy]) => {
    const [x] = node.inputs
    const axes = normAxes(node.attrs.axes as number[], x.shape.length)
    const keep = x.shape.map((d, i) => (axes.includes(i) ? 1 : d))
    const kept = same(dy.shape, keep) ? dy : g.reshape(dy, keep)
    const n = axes.reduce((p, a) => p * x.shape[a], 1)
    return [mean ? g.mul(kept, g.f32(1 / n)) : kept]
  }

const sliceGrad: GradRule = (g, node, [dy]) => {
  const [x] = node.inputs
  const { starts, ends, steps } = node.attrs as { starts: number[]; ends: number[]; steps: number[] }
  const axes = normAxes(node.attrs.axes as number[], x.shape.length)
  let grad = dy
  axes.forEach((axis, i) => {
    const dim = x.shape[axis]
    const len = sliceLength(dim, starts[i], ends[i], steps[i])
    if (Math.abs(steps[i]) !== 1) throw new StudioError('unsupported', `autodiff: Slice with step ${steps[i]} at ${node.scope}`)
    // First index the slice covers in x, walking forwards.
    let first: number
    if (steps[i] > 0) first = Math.min(Math.max(starts[i] < 0 ? starts[i] + dim : starts[i], 0), dim)
    else {
      const s = Math.min(Math.max(starts[i] < 0 ? starts[i] + dim : starts[i], 0), dim - 1)
      first = s - len + 1
      grad = g.slice(grad, [len - 1], [-len - 1], [axis], [-1])
    }
    const parts: Value[] = []
    const side = (n: number) => zeros(g, grad.shape.map((d, a) => (a === axis ? n : d)))
    if (first > 0) parts.push(side(first))
    parts.push(grad)
    if (dim - first - len > 0) parts.push(side(dim - first - len))
    if (parts.length > 1) grad = g.concat(parts, axis)
  })
  return [grad]
}

const matmulGrad: GradRule = (g, node, [dy], wants) => {
  const [a, b] = node.inputs
  return [
    wants[0] ? unbroadcast(g, g.matmul(dy, swapLast(g, b)), a.shape) : null,
    wants[1] ? unbroadcast(g, g.matmul(swapLast(g, a), dy), b.shape) : null,
  ]
}

const elementwise =
  (local: (g: Graph, x: Value, y: Value, node: Node) => Value): GradRule =>
  (g, node, [dy]) => [g.mul(dy, local(g, node.inputs[0], node.outputs[0], node))]

export const RULES: Record<OpName, GradRule | null> = {
  Add: (g, { inputs: [a, b] }, [dy]) => [unbroadcast(g, dy, a.shape), unbroadcast(g, dy, b.shape)],
  // Negated after the sum, on the smaller tensor.
  Sub: (g, { inputs: [a, b] }, [dy], wants) => [unbroadcast(g, dy, a.shape), wants[1] ? g.neg(unbroadcast(g, dy, b.shape)) : null],
  Mul: (g, { inputs: [a, b] }, [dy], wants) => {
    // x * x (a variance): one product instead of two summed.
    if (a === b) return [g.mul(g.mul(dy, a), g.f32(2)), null]
    return [wants[0] ? unbroadcast(g, g.mul(dy, b), a.shape) : null, wants[1] ? unbroadcast(g, g.mul(dy, a), b.shape) : null]
  },
  // d(a/b)/db = -a/b^2 = -y/b
  Div: (g, { inputs: [a, b], outputs: [y] }, [dy], wants) => [
    wants[0] ? unbroadcast(g, g.div(dy, b), a.shape) : null,
    wants[1] ? unbroadcast(g, g.neg(g.mul(dy, g.div(y, b))), b.shape) : null,
  ],
  Greater: null,
  Where: (g, { inputs: [c, a, b] }, [dy], wants) => [
    null,
    wants[1] ? unbroadcast(g, g.where(c, dy, g.f32(0)), a.shape) : null,
    wants[2] ? unbroadcast(g, g.where(c, g.f32(0), dy), b.shape) : null,
  ],
  Neg: (g, _n, [dy]) => [g.neg(dy)],
  Exp: elementwise((_g, _x, y) => y),
  Log: (g, { inputs: [x] }, [dy]) => [g.div(dy, x)],
  Sqrt: (g, { outputs: [y] }, [dy]) => [g.div(g.mul(dy, g.f32(0.5)), y)],
  Sigmoid: elementwise((g, _x, y) => g.mul(y, g.sub(g.f32(1), y))),
  Relu: (g, { inputs: [x] }, [dy]) => [g.where(g.greater(x, g.f32(0)), dy, g.f32(0))],
  LeakyRelu: (g, { inputs: [x], attrs }, [dy]) => [g.where(g.greater(x, g.f32(0)), dy, g.mul(dy, g.f32(attrs.alpha as number)))],
  // d erf(x)/dx = 2/sqrt(pi) exp(-x^2)
  Erf: elementwise((g, x) => g.mul(g.exp(g.neg(g.mul(x, x))), g.f32(2 / Math.sqrt(Math.PI)))),
  Softplus: elementwise((g, x) => g.sigmoid(x)),
  MatMul: matmulGrad,
  Conv: convGrad,
  ConvTranspose: convTransposeGrad,
  ReduceSum: reduceGrad(false),
  ReduceMean: reduceGrad(true),
  Reshape: (g, { inputs: [x] }, [dy]) => [g.reshape(dy, x.shape)],
  Transpose: (g, { attrs }, [dy]) => {
    const perm = attrs.perm as number[]
    const inverse = perm.map((_, i) => perm.indexOf(i))
    return [g.transpose(dy, inverse)]
  },
  Slice: sliceGrad,
  Concat: (g, { inputs, attrs }, [dy]) => {
    const [axis] = normAxes([attrs.axis as number], dy.shape.length)
    let at = 0
    return inputs.map((v) => {
      const part = g.slice(dy, [at], [at + v.shape[axis]], [axis])
      at += v.shape[axis]
      return part
    })
  },
  Expand: (g, { inputs: [x] }, [dy]) => [unbroadcast(g, dy, x.shape)],
  // The scan's backward is a reverse-time scan of its own (native on CPU, parallel form on GPUs).
  SelectiveScan: (g, { inputs }, [dy]) => g.add('SelectiveScanGrad', [...inputs, dy]),
  SelectiveScanGrad: null,
}
