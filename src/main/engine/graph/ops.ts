/**
 * The primitive ops of the graph builder: the only things a network (and, later, its gradient)
 * is made of. Each entry says how many inputs the op takes, infers its output types with checks,
 * and estimates its floating-point operations (for the benchmark's FLOP/s). Semantics are ONNX's
 * (opset 17) unless noted; attributes that ONNX passes as tensor inputs (Reshape shape, Slice
 * ranges, ReduceSum axes) are plain attributes here and become constants when emitted.
 *
 *   elementwise (numpy broadcasting): Add Sub Mul Div Greater Where Neg Exp Log Sqrt Sigmoid Relu
 *                                     LeakyRelu{alpha} Erf Softplus
 *   linear algebra:  MatMul (batched, broadcasting), Conv{strides,pads,group},
 *                    ConvTranspose{strides} (no padding: out = (in - 1) * stride + kernel)
 *   reductions:      ReduceSum{axes,keepdims} ReduceMean{axes,keepdims}
 *   layout:          Reshape{shape} Transpose{perm} Slice{starts,ends,axes,steps} Concat{axis}
 *   Mamba:           SelectiveScan (Graph.selectiveScan documents it; custom domain, lowered per
 *                    provider: a native kernel on CPU, a parallel form from the ops above on GPUs;
 *                    deltaSoftplus=1 appears only in CPU inference graphs, lower.ts)
 *   for gradients:   Expand{shape} (numpy broadcast to a shape), SelectiveScanGrad (the scan's
 *                    backward: a reverse-time scan, ../autodiff/rules.ts; custom domain like the scan)
 *
 * Softplus is a primitive (its gradient is a sigmoid) but ORT's CPU kernel is slow, so the CPU
 * lowering writes it as Where(x > 20, x, Log(1 + Exp(x))), the official threshold.
 */
import { sizeOf, type DType, type Shape, type Value } from './builder'

export type AttrValue = number | number[] | string
export type Attrs = Record<string, AttrValue>

export type OpName =
  | 'Add'
  | 'Sub'
  | 'Mul'
  | 'Div'
  | 'Greater'
  | 'Where'
  | 'Neg'
  | 'Exp'
  | 'Log'
  | 'Sqrt'
  | 'Sigmoid'
  | 'Relu'
  | 'LeakyRelu'
  | 'Erf'
  | 'Softplus'
  | 'MatMul'
  | 'Conv'
  | 'ConvTranspose'
  | 'ReduceSum'
  | 'ReduceMean'
  | 'Reshape'
  | 'Transpose'
  | 'Slice'
  | 'Concat'
  | 'SelectiveScan'
  | 'Expand'
  | 'SelectiveScanGrad'

interface OutType {
  dtype: DType
  shape: Shape
}

export interface OpDef {
  /** Fewest and most inputs. */
  arity: [number, number]
  /** Output types; throws an Error with a plain message when the inputs do not fit. */
  infer(inputs: Value[], attrs: Attrs): OutType[]
  /** Floating-point operations for one run (multiply-add = 2). */
  flops(inputs: Value[], outputs: Value[], attrs: Attrs): number
}

const ints = (attrs: Attrs, name: string): number[] => {
  const v = attrs[name]
  if (!Array.isArray(v)) throw new Error(`attribute ${name} is missing`)
  return v
}
const int = (attrs: Attrs, name: string): number => {
  const v = attrs[name]
  if (typeof v !== 'number') throw new Error(`attribute ${name} is missing`)
  return v
}

export function broadcastShapes(...shapes: Shape[]): number[] {
  const rank = Math.max(...shapes.map((s) => s.length))
  const out: number[] = []
  for (let i = 0; i < rank; i++) {
    let d = 1
    for (const s of shapes) {
      const k = s[s.length - rank + i] ?? 1
      if (k !== 1 && d !== 1 && k !== d) throw new Error(`shapes ${shapes.map((x) => `(${x.join(',')})`).join(' and ')} do not broadcast`)
      if (k !== 1) d = k
    }
    out.push(d)
  }
  return out
}

/** Normalises possibly negative axes against a rank, refusing out-of-range ones. */
export function normAxes(axes: number[], rank: number): number[] {
  return axes.map((a) => {
    const n = a < 0 ? a + rank : a
    if (!Number.isInteger(n) || n < 0 || n >= rank) throw new Error(`axis ${a} is out of range for rank ${rank}`)
    return n
  })
}

const sameFloat = (v: Value, what: string) => {
  if (v.dtype !== 'float32') throw new Error(`${what} must be float32, not ${v.dtype}`)
}

const elementwise = (inputsMustBeFloat: boolean, outDtype?: DType): OpDef => ({
  arity: [1, 1],
  infer(inputs) {
    if (inputsMustBeFloat) inputs.forEach((v, i) => sameFloat(v, `input ${i}`))
    return [{ dtype: outDtype ?? inputs[0].dtype, shape: inputs[0].shape }]
  },
  flops: (_i, outputs) => sizeOf(outputs[0].shape),
})

const binary = (outDtype?: DType): OpDef => ({
  arity: [2, 2],
  infer([a, b]) {
    if (a.dtype !== b.dtype) throw new Error(`element types differ: ${a.dtype} and ${b.dtype}`)
    return [{ dtype: outDtype ?? a.dtype, shape: broadcastShapes(a.shape, b.shape) }]
  },
  flops: (_i, outputs) => sizeOf(outputs[0].shape),
})

const reduce: OpDef = {
  arity: [1, 1],
  infer([x], attrs) {
    const axes = normAxes(ints(attrs, 'axes'), x.shape.length)
    const keep = int(attrs, 'keepdims') === 1
    const shape = x.shape.flatMap((d, i) => (axes.includes(i) ? (keep ? [1] : []) : [d]))
    return [{ dtype: x.dtype, shape }]
  },
  flops: (inputs) => sizeOf(inputs[0].shape),
}

function convOut(x: Shape, kernel: Shape, attrs: Attrs): number[] {
  const k = kernel.length
  const strides = ints(attrs, 'strides')
  const pads = ints(attrs, 'pads')
  if (strides.length !== k || pads.length !== 2 * k) throw new Error(`need ${k} strides and ${2 * k} pads`)
  return kernel.map((kd, i) => {
    const span = x[i] + pads[i] + pads[i + k] - kd
    if (span < 0) throw new Error(`kernel ${kd} is larger than the padded input ${x[i] + pads[i] + pads[i + k]} on spatial axis ${i}`)
    return Math.floor(span / strides[i]) + 1
  })
}

export const OPS: Record<OpName, OpDef> = {
  Add: binary(),
  Sub: binary(),
  Mul: binary(),
  Div: binary(),
  Greater: binary('bool'),
  Where: {
    arity: [3, 3],
    infer([c, a, b]) {
      if (c.dtype !== 'bool') throw new Error('the condition must be bool')
      if (a.dtype !== b.dtype) throw new Error(`branches differ: ${a.dtype} and ${b.dtype}`)
      return [{ dtype: a.dtype, shape: broadcastShapes(c.shape, a.shape, b.shape) }]
    },
    flops: (_i, outputs) => sizeOf(outputs[0].shape),
  },
  Neg: elementwise(true),
  Exp: elementwise(true),
  Log: elementwise(true),
  Sqrt: elementwise(true),
  Sigmoid: elementwise(true),
  Relu: elementwise(true),
  LeakyRelu: elementwise(true),
  Erf: elementwise(true),
  Softplus: elementwise(true),
  MatMul: {
    arity: [2, 2],
    infer([a, b]) {
      sameFloat(a, 'A')
      sameFloat(b, 'B')
      if (a.shape.length < 2 || b.shape.length < 2) throw new Error('both operands need rank >= 2')
      const [m, k] = a.shape.slice(-2)
      const [k2, n] = b.shape.slice(-2)
      if (k !== k2) throw new Error(`inner dimensions ${k} and ${k2} differ`)
      return [{ dtype: 'float32', shape: [...broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2)), m, n] }]
    },
    flops: ([a], [y]) => 2 * sizeOf(y.shape) * a.shape[a.shape.length - 1],
  },
  Conv: {
    arity: [2, 3],
    infer([x, w, b], attrs) {
      sameFloat(x, 'input')
      if (x.shape.length < 3 || w.shape.length !== x.shape.length) throw new Error('input and weight need the same rank >= 3')
      const group = int(attrs, 'group')
      const [cout, cinPerGroup] = w.shape
      if (x.shape[1] !== cinPerGroup * group || cout % group !== 0) {
        throw new Error(`input has ${x.shape[1]} channels; weight (${w.shape.join(',')}) with group ${group} expects ${cinPerGroup * group}`)
      }
      if (b && (b.shape.length !== 1 || b.shape[0] !== cout)) throw new Error(`bias must be (${cout})`)
      return [{ dtype: 'float32', shape: [x.shape[0], cout, ...convOut(x.shape.slice(2), w.shape.slice(2), attrs)] }]
    },
    flops: ([, w], [y]) => 2 * sizeOf(y.shape) * sizeOf(w.shape.slice(1)),
  },
  ConvTranspose: {
    arity: [2, 2],
    infer([x, w], attrs) {
      sameFloat(x, 'input')
      if (x.shape.length < 3 || w.shape.length !== x.shape.length) throw new Error('input and weight need the same rank >= 3')
      if (x.shape[1] !== w.shape[0]) throw new Error(`input has ${x.shape[1]} channels, weight (${w.shape.join(',')}) expects ${w.shape[0]}`)
      const strides = ints(attrs, 'strides')
      const kernel = w.shape.slice(2)
      if (strides.length !== kernel.length) throw new Error(`need ${kernel.length} strides`)
      const spatial = x.shape.slice(2).map((d, i) => (d - 1) * strides[i] + kernel[i])
      return [{ dtype: 'float32', shape: [x.shape[0], w.shape[1], ...spatial] }]
    },
    flops: ([x, w]) => 2 * sizeOf(x.shape) * sizeOf(w.shape.slice(1)),
  },
  ReduceSum: reduce,
  ReduceMean: reduce,
  Reshape: {
    arity: [1, 1],
    infer([x], attrs) {
      const shape = ints(attrs, 'shape')
      const known = shape.filter((d) => d !== -1)
      if (shape.some((d) => !Number.isInteger(d) || d < -1) || shape.length - known.length > 1) {
        throw new Error(`target shape (${shape.join(',')}) may hold one -1 and otherwise sizes`)
      }
      const rest = sizeOf(x.shape) / sizeOf(known)
      const out = shape.map((d) => (d === -1 ? rest : d))
      if (sizeOf(out) !== sizeOf(x.shape) || !Number.isInteger(rest)) {
        throw new Error(`cannot reshape (${x.shape.join(',')}) to (${shape.join(',')})`)
      }
      return [{ dtype: x.dtype, shape: out }]
    },
    flops: () => 0,
  },
  Transpose: {
    arity: [1, 1],
    infer([x], attrs) {
      const perm = ints(attrs, 'perm')
      const sorted = [...perm].sort((a, b) => a - b)
      if (perm.length !== x.shape.length || sorted.some((p, i) => p !== i)) throw new Error(`perm [${perm}] is not a permutation of rank ${x.shape.length}`)
      return [{ dtype: x.dtype, shape: perm.map((p) => x.shape[p]) }]
    },
    flops: () => 0,
  },
  Slice: {
    arity: [1, 1],
    infer([x], attrs) {
      const starts = ints(attrs, 'starts')
      const ends = ints(attrs, 'ends')
      const axes = normAxes(ints(attrs, 'axes'), x.shape.length)
      const steps = ints(attrs, 'steps')
      if (starts.length !== axes.length || ends.length !== axes.length || steps.length !== axes.length) {
        throw new Error('starts, ends, axes and steps need the same length')
      }
      const shape = [...x.shape]
      axes.forEach((axis, i) => shape.splice(axis, 1, sliceLength(x.shape[axis], starts[i], ends[i], steps[i])))
      return [{ dtype: x.dtype, shape }]
    },
    flops: () => 0,
  },
  Concat: {
    arity: [1, Infinity],
    infer(inputs, attrs) {
      const [first] = inputs
      const [axis] = normAxes([int(attrs, 'axis')], first.shape.length)
      for (const v of inputs) {
        if (v.dtype !== first.dtype || v.shape.length !== first.shape.length || v.shape.some((d, i) => i !== axis && d !== first.shape[i])) {
          throw new Error(`inputs differ off axis ${axis}`)
        }
      }
      const shape = [...first.shape]
      shape[axis] = inputs.reduce((s, v) => s + v.shape[axis], 0)
      return [{ dtype: first.dtype, shape }]
    },
    flops: () => 0,
  },
  SelectiveScan: {
    arity: [5, 5],
    infer([u, delta, A, Bm, Cm]) {
      for (const [v, what] of [[u, 'u'], [delta, 'delta'], [A, 'A'], [Bm, 'B'], [Cm, 'C']] as const) sameFloat(v, what)
      if (u.shape.length !== 3) throw new Error('u must be (batch, channels, tokens)')
      const [b, di, l] = u.shape
      const n = A.shape[1]
      const fits = (v: Value, s: number[]) => v.shape.length === s.length && v.shape.every((d, i) => d === s[i])
      if (!fits(delta, [b, di, l])) throw new Error(`delta must be (${b},${di},${l})`)
      if (A.shape.length !== 2 || A.shape[0] !== di) throw new Error(`A must be (${di}, state)`)
      if (!fits(Bm, [b, n, l]) || !fits(Cm, [b, n, l])) throw new Error(`B and C must be (${b},${n},${l})`)
      return [{ dtype: 'float32', shape: [b, di, l] }]
    },
    // Per token, channel and state: exp, 3 multiplies and 2 adds.
    flops: ([u, , A]) => 6 * sizeOf(u.shape) * A.shape[1],
  },
  Expand: {
    arity: [1, 1],
    infer([x], attrs) {
      const shape = ints(attrs, 'shape')
      const out = broadcastShapes(x.shape, shape)
      if (out.length !== shape.length || out.some((d, i) => d !== shape[i])) throw new Error(`cannot expand (${x.shape.join(',')}) to (${shape.join(',')})`)
      return [{ dtype: x.dtype, shape: out }]
    },
    flops: () => 0,
  },
  SelectiveScanGrad: {
    // u, delta, A, B, C, dy -> du, ddelta, dA, dB, dC (each shaped like its input).
    arity: [6, 6],
    infer(inputs, attrs) {
      const [y] = OPS.SelectiveScan.infer(inputs.slice(0, 5), attrs)
      const dy = inputs[5]
      if (dy.dtype !== 'float32' || dy.shape.join(',') !== y.shape.join(',')) throw new Error(`dy must be float32 (${y.shape.join(',')})`)
      return inputs.slice(0, 5).map((v) => ({ dtype: 'float32' as const, shape: v.shape }))
    },
    // The forward recurrence again, then the reverse one with its products: about three scans.
    flops: ([u, , A]) => 18 * sizeOf(u.shape) * A.shape[1],
  },
}

/** ONNX Slice length of one axis (starts/ends clamped, negative values counted from the end). */
export function sliceLength(dim: number, start: number, end: number, step: number): number {
  if (!Number.isInteger(step) || step === 0) throw new Error('slice steps must be non-zero integers')
  let s = start < 0 ? start + dim : start
  let e = end < 0 ? end + dim : end
  if (step > 0) {
    s = Math.min(Math.max(s, 0), dim)
    e = Math.min(Math.max(e, 0), dim)
    return Math.max(0, Math.ceil((e - s) / step))
  }
  s = Math.min(Math.max(s, 0), dim - 1)
  e = Math.min(Math.max(e, -1), dim - 1)
  return Math.max(0, Math.ceil((e - s) / step))
}
