/**
 * The typed graph builder. A network is written once as calls on a `Graph`; each call appends one
 * primitive op as a plain record (`Node`: op name, input values, output values, attributes) after
 * checking shapes, so a wrong shape fails where it is made, with the scope that made it.
 *
 * Shapes are static: every dimension is a number known while building (patch and batch are build
 * parameters). Weights are `param`s: named values whose data is bound when the graph is emitted
 * (initializers for inference) or fed as inputs (training graphs). The op set is small and listed
 * in ops.ts; lowerings (lower.ts) rewrite ops per execution provider, and emit.ts writes ONNX.
 */
import { StudioError } from '../../../shared/errors'
import { OPS, type Attrs, type OpName } from './ops'

export type DType = 'float32' | 'int64' | 'bool'
export type Shape = readonly number[]

export type TensorArray = Float32Array | BigInt64Array | Uint8Array

/** A tensor's data with its element type and shape. */
export interface TensorData {
  dtype: DType
  shape: Shape
  data: TensorArray
}

export type ValueSource =
  | { kind: 'input' }
  | { kind: 'param' }
  | { kind: 'const'; data: TensorData }
  | { kind: 'node'; node: Node; index: number }

export interface Value {
  readonly id: number
  /** Graph inputs and params keep their given name; other values are named by the emitter. */
  readonly name: string
  readonly dtype: DType
  readonly shape: Shape
  readonly source: ValueSource
}

export interface Node {
  readonly id: number
  readonly op: OpName
  readonly inputs: readonly Value[]
  readonly outputs: readonly Value[]
  readonly attrs: Readonly<Attrs>
  /** Where in the network the node was made, e.g. `vit.stages.0.0.mamba`; for names and errors. */
  readonly scope: string
}

export function sizeOf(shape: Shape): number {
  let n = 1
  for (const d of shape) n *= d
  return n
}

export function shapeText(shape: Shape): string {
  return `(${shape.join(',')})`
}

export class Graph {
  readonly inputs: Value[] = []
  readonly params = new Map<string, Value>()
  readonly nodes: Node[] = []
  readonly outputs = new Map<string, Value>()
  private nextId = 0
  private scopes: string[] = []

  /** A graph input: data fed at run time. */
  input(name: string, dtype: DType, shape: Shape): Value {
    this.checkName(name)
    const v = this.value(name, dtype, shape, { kind: 'input' })
    this.inputs.push(v)
    return v
  }

  /** A named weight (official checkpoint key); asking twice for one name returns the same value. */
  param(name: string, shape: Shape): Value {
    const known = this.params.get(name)
    if (known) {
      if (known.shape.join(',') !== shape.join(',')) {
        throw this.error(`param ${name}: asked for ${shapeText(shape)} but it is ${shapeText(known.shape)}`)
      }
      return known
    }
    this.checkName(name)
    const v = this.value(name, 'float32', shape, { kind: 'param' })
    this.params.set(name, v)
    return v
  }

  /** A constant tensor, stored with the graph. */
  constant(data: TensorData): Value {
    if (data.data.length !== sizeOf(data.shape)) {
      throw this.error(`constant: ${data.data.length} values do not fill ${shapeText(data.shape)}`)
    }
    return this.value('', data.dtype, data.shape, { kind: 'const', data })
  }

  /** A float32 constant; a number gives a scalar. */
  f32(values: number | ArrayLike<number>, shape?: Shape): Value {
    const data = typeof values === 'number' ? Float32Array.of(values) : Float32Array.from(values)
    return this.constant({ dtype: 'float32', shape: shape ?? (typeof values === 'number' ? [] : [data.length]), data })
  }

  /** Marks `v` as a graph output under `name`. */
  output(name: string, v: Value): void {
    if (this.outputs.has(name)) throw this.error(`output ${name} is already defined`)
    this.outputs.set(name, v)
  }

  /** Runs `build` with `name` appended to the scope that names nodes and errors. */
  scope<T>(name: string, build: () => T): T {
    this.scopes.push(name)
    try {
      return build()
    } finally {
      this.scopes.pop()
    }
  }

  get currentScope(): string {
    return this.scopes.join('.')
  }

  /** Floating-point operations of one run, from each op's estimate (ops.ts). */
  flops(): number {
    return this.nodes.reduce((sum, n) => sum + OPS[n.op].flops([...n.inputs], [...n.outputs], n.attrs), 0)
  }

  /** Appends one op after inferring and checking its output shapes. */
  add(op: OpName, inputs: Value[], attrs: Attrs = {}): Value[] {
    const def = OPS[op]
    if (inputs.length < def.arity[0] || inputs.length > def.arity[1]) {
      throw this.error(`${op}: takes ${def.arity.join('..')} inputs, got ${inputs.length}`)
    }
    let types: { dtype: DType; shape: Shape }[]
    try {
      types = def.infer(inputs, attrs)
    } catch (err) {
      const ins = inputs.map((v) => shapeText(v.shape)).join(', ')
      throw this.error(`${op}: ${(err as Error).message} (inputs ${ins})`)
    }
    const outputs: Value[] = []
    const node: Node = { id: this.nextId++, op, inputs, outputs, attrs, scope: this.currentScope }
    types.forEach((t, index) => outputs.push(this.value('', t.dtype, t.shape, { kind: 'node', node, index })))
    this.nodes.push(node)
    return outputs
  }

  /** Appends a single-output op. */
  op(op: OpName, inputs: Value[], attrs: Attrs = {}): Value {
    return this.add(op, inputs, attrs)[0]
  }

  // Readable names for the ops; each is one primitive (see ops.ts for the semantics).
  addOp = (a: Value, b: Value) => this.op('Add', [a, b])
  sub = (a: Value, b: Value) => this.op('Sub', [a, b])
  mul = (a: Value, b: Value) => this.op('Mul', [a, b])
  div = (a: Value, b: Value) => this.op('Div', [a, b])
  greater = (a: Value, b: Value) => this.op('Greater', [a, b])
  where = (cond: Value, a: Value, b: Value) => this.op('Where', [cond, a, b])
  neg = (x: Value) => this.op('Neg', [x])
  exp = (x: Value) => this.op('Exp', [x])
  log = (x: Value) => this.op('Log', [x])
  sqrt = (x: Value) => this.op('Sqrt', [x])
  sigmoid = (x: Value) => this.op('Sigmoid', [x])
  relu = (x: Value) => this.op('Relu', [x])
  leakyRelu = (x: Value, alpha: number) => this.op('LeakyRelu', [x], { alpha })
  erf = (x: Value) => this.op('Erf', [x])
  softplus = (x: Value) => this.op('Softplus', [x])
  matmul = (a: Value, b: Value) => this.op('MatMul', [a, b])
  reshape = (x: Value, shape: Shape) => this.op('Reshape', [x], { shape: [...shape] })
  transpose = (x: Value, perm: number[]) => this.op('Transpose', [x], { perm })
  concat = (xs: Value[], axis: number) => this.op('Concat', xs, { axis })
  reduceSum = (x: Value, axes: number[], keepdims = true) => this.op('ReduceSum', [x], { axes, keepdims: keepdims ? 1 : 0 })
  reduceMean = (x: Value, axes: number[], keepdims = true) => this.op('ReduceMean', [x], { axes, keepdims: keepdims ? 1 : 0 })

  /** Elements [start, end) with `step` along each of `axes` (negative steps walk backwards). */
  slice(x: Value, starts: number[], ends: number[], axes: number[], steps?: number[]): Value {
    return this.op('Slice', [x], { starts, ends, axes, steps: steps ?? axes.map(() => 1) })
  }

  conv(x: Value, w: Value, b: Value | null, o: { strides?: number[]; pads?: number[]; group?: number } = {}): Value {
    const k = w.shape.length - 2
    const attrs = { strides: o.strides ?? Array(k).fill(1), pads: o.pads ?? Array(2 * k).fill(0), group: o.group ?? 1 }
    return this.op('Conv', b ? [x, w, b] : [x, w], attrs)
  }

  /** Transposed convolution without padding (the U-Net's kernel = stride upsampling). */
  convTranspose(x: Value, w: Value, strides: number[]): Value {
    return this.op('ConvTranspose', [x, w], { strides })
  }

  /**
   * The Mamba selective scan (TOKENUNIFY.md 3.1, without the D skip and the z gate, which are
   * ordinary ops): u, delta (B,Di,L); A (Di,N); Bm, Cm (B,N,L) -> y (B,Di,L) with
   * h_t = exp(delta_t A) h_{t-1} + delta_t Bm_t u_t, h_{-1} = 0, y_t = sum_n Cm_t[n] h_t[n].
   */
  selectiveScan(u: Value, delta: Value, A: Value, Bm: Value, Cm: Value): Value {
    return this.op('SelectiveScan', [u, delta, A, Bm, Cm])
  }

  /** An error naming the current scope. */
  error(message: string): StudioError {
    const where = this.currentScope ? ` at ${this.currentScope}` : ''
    return new StudioError('bad_input', `graph${where}: ${message}`)
  }

  private value(name: string, dtype: DType, shape: Shape, source: ValueSource): Value {
    if (!shape.every((d) => Number.isInteger(d) && d >= 0)) throw this.error(`bad shape ${shapeText(shape)}`)
    return { id: this.nextId++, name, dtype, shape: [...shape], source }
  }

  private checkName(name: string): void {
    if (!name) throw this.error('inputs and params need a name')
    if (this.inputs.some((v) => v.name === name) || this.params.has(name)) throw this.error(`name ${name} is used twice`)
  }
}
