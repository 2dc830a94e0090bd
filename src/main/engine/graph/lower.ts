/**
 * Provider lowerings: rewrite a graph op by op, replacing ops a provider lacks or runs slowly
 * with equivalent subgraphs of other primitives. The network is defined once; each provider gets
 * the graph `lower(network, LOWERINGS[provider])` (../shared/design/PLATFORM.md has the reasons).
 */
import { StudioError } from '../../../shared/errors'
import { Graph, type Node, type Value } from './builder'
import type { OpName } from './ops'

/** Builds the replacement of one node in `g` from its (already rewritten) inputs. */
export type Rule = (g: Graph, node: Node, inputs: Value[]) => Value[]
export type Lowering = Partial<Record<OpName, Rule>>

/** A copy of `graph` with each node whose op has a rule replaced by what the rule builds. */
export function lower(graph: Graph, rules: Lowering): Graph {
  const g = new Graph()
  const map = new Map<number, Value>()
  for (const v of graph.inputs) map.set(v.id, g.input(v.name, v.dtype, v.shape))
  const get = (v: Value): Value => {
    const known = map.get(v.id)
    if (known) return known
    let made: Value
    if (v.source.kind === 'param') made = g.param(v.name, v.shape)
    else if (v.source.kind === 'const') made = g.constant(v.source.data)
    else throw new StudioError('internal', `lower: value ${v.id} is used before it is made`)
    map.set(v.id, made)
    return made
  }
  for (const node of graph.nodes) {
    const inputs = node.inputs.map(get)
    const rule = rules[node.op]
    const outputs = g.scope(node.scope, () => (rule ? rule(g, node, inputs) : g.add(node.op, inputs, { ...node.attrs })))
    outputs.forEach((v, i) => {
      const want = node.outputs[i]
      if (v.shape.join(',') !== want.shape.join(',')) {
        throw new StudioError('internal', `lower: the ${node.op} rule made (${v.shape}) instead of (${want.shape})`)
      }
      map.set(want.id, v)
    })
  }
  for (const [name, v] of graph.outputs) g.output(name, get(v))
  return g
}

/** Softplus as Where(x > 20, x, Log(1 + Exp(x))): ORT's CPU Softplus is 35-50x slower than Exp. */
export const softplusAsWhere: Rule = (g, _node, [x]) => [g.where(g.greater(x, g.f32(20)), x, g.log(g.addOp(g.exp(x), g.f32(1))))]

/**
 * ConvTranspose with kernel = stride and no padding (the U-Net's upsampling) as a 1x1x1 Conv to
 * Co * prod(kernel) channels, then reshapes/transposes that put each kernel offset in place.
 * WebGPU has no 3D ConvTranspose; on CPU this is 1.5-2.5x faster than ORT's ConvTranspose.
 */
export const convTransposeAsConv: Rule = (g, node, [x, w]) => {
  const strides = node.attrs.strides as number[]
  const kernel = w.shape.slice(2)
  if (kernel.length !== 3 || kernel.some((k, i) => k !== strides[i])) {
    throw new StudioError('unsupported', `ConvTranspose lowering needs a 3D kernel equal to its stride, got kernel (${kernel}) stride (${strides})`)
  }
  const [ci, co] = w.shape
  const [b, , dz, dy, dx] = x.shape
  const [kz, ky, kx] = kernel
  const w1 = g.reshape(g.transpose(w, [1, 2, 3, 4, 0]), [co * kz * ky * kx, ci, 1, 1, 1])
  const y = g.conv(x, w1, null)
  // (b*co, kz, ky, kx, z, y, x) -> (b*co, z, kz, y, ky, x, kx), one kernel axis at a time.
  const n = b * co
  const xs = g.transpose(g.reshape(y, [n * kz * ky, kx, dz * dy, dx]), [0, 2, 3, 1])
  const ys = g.transpose(g.reshape(xs, [n * kz, ky, dz, dy, dx * kx]), [0, 2, 3, 1, 4])
  const zs = g.transpose(g.reshape(ys, [n, kz, dz, dy * ky * dx * kx]), [0, 2, 1, 3])
  return [g.reshape(zs, [b, co, dz * kz, dy * ky, dx * kx])]
}

/**
 * The selective scan from standard ops, for GPU providers: the per-token transitions
 * (a_t = exp(delta_t A), b_t = delta_t u_t B_t, as (B, Di, N, L) tensors, tokens last so B and C
 * need no transpose) are combined by a work-efficient parallel prefix (pairs, then recursion on
 * half the length, then the even positions): about log2(L) levels of a few ops each.
 * y_t = sum_n C_t[n] h_t[n]. Channels are scanned in groups whose (B, Di, N, L) tensors stay under
 * `maxBytes`, which bounds GPU buffer sizes and memory.
 */
export function selectiveScanParallel(maxBytes = 256 * 2 ** 20): Rule {
  return (g, _node, [u, delta, A, Bm, Cm]) => {
    const [b, di, l] = u.shape
    const n = A.shape[1]
    const groups = Math.min(di, Math.ceil((b * di * n * l * 4) / maxBytes))
    const per = Math.ceil(di / groups)
    const perState = (v: Value) => g.reshape(v, [b, 1, n, l])
    const ys: Value[] = []
    for (let d0 = 0; d0 < di; d0 += per) {
      const d1 = Math.min(di, d0 + per)
      const part = (v: Value, axis: number) => (groups === 1 ? v : g.slice(v, [d0], [d1], [axis]))
      const [uu, dd, AA] = [part(u, 1), part(delta, 1), part(A, 0)]
      const a = g.exp(g.mul(g.reshape(dd, [b, d1 - d0, 1, l]), g.reshape(AA, [d1 - d0, n, 1])))
      const bu = g.mul(g.reshape(g.mul(dd, uu), [b, d1 - d0, 1, l]), perState(Bm))
      ys.push(g.reduceSum(g.mul(linearRecurrence(g, a, bu), perState(Cm)), [2], false))
    }
    return [ys.length === 1 ? ys[0] : g.concat(ys, 1)]
  }
}

/**
 * The selective scan's backward (SelectiveScanGrad, autodiff/rules.ts) from standard ops, for GPU
 * providers: the states h from the parallel prefix as in the forward, the state adjoint
 * g_t = dy_t C_t + a_{t+1} g_{t+1} from the same prefix run on the reversed sequence, then
 * du, ddelta, dA, dB, dC as products and sums of them (native/src/scan_backward.cc has the math).
 * Channels go in groups as in the forward; dB and dC add up over the groups.
 */
export function selectiveScanGradParallel(maxBytes = 256 * 2 ** 20): Rule {
  return (g, _node, [u, delta, A, Bm, Cm, dy]) => {
    const [b, di, l] = u.shape
    const n = A.shape[1]
    const groups = Math.min(di, Math.ceil((b * di * n * l * 4 * 3) / maxBytes))
    const per = Math.ceil(di / groups)
    const perState = (v: Value) => g.reshape(v, [b, 1, n, l])
    const reverse = (v: Value) => g.slice(v, [l - 1], [-l - 1], [3], [-1])
    const du: Value[] = []
    const ddelta: Value[] = []
    const dA: Value[] = []
    let dB: Value | null = null
    let dC: Value | null = null
    for (let d0 = 0; d0 < di; d0 += per) {
      const d1 = Math.min(di, d0 + per)
      const c = d1 - d0
      const part = (v: Value, axis: number) => (groups === 1 ? v : g.slice(v, [d0], [d1], [axis]))
      const [uu, dd, AA, gy] = [part(u, 1), part(delta, 1), part(A, 0), part(dy, 1)]
      const tokens = (v: Value) => g.reshape(v, [b, c, 1, l])
      const Ac = g.reshape(AA, [c, n, 1])
      const a = g.exp(g.mul(tokens(dd), Ac))
      const h = linearRecurrence(g, a, g.mul(tokens(g.mul(dd, uu)), perState(Bm)))
      // a_{t+1}, with anything at the last token (no successor to carry from).
      const next = l === 1 ? a : g.concat([g.slice(a, [1], [l], [3]), g.slice(a, [l - 1], [l], [3])], 3)
      const adj = reverse(linearRecurrence(g, reverse(next), reverse(g.mul(tokens(gy), perState(Cm)))))
      const zero = g.op('Expand', [g.f32(0)], { shape: [b, c, n, 1] })
      const before = l === 1 ? zero : g.concat([zero, g.slice(h, [0], [l - 1], [3])], 3)
      const gah = g.mul(g.mul(adj, before), a)
      const gB = g.reduceSum(g.mul(adj, perState(Bm)), [2], false)
      du.push(g.mul(dd, gB))
      ddelta.push(g.addOp(g.reduceSum(g.mul(gah, Ac), [2], false), g.mul(uu, gB)))
      dA.push(g.reduceSum(g.mul(gah, tokens(dd)), [0, 3], false))
      const pB = g.reduceSum(g.mul(adj, tokens(g.mul(dd, uu))), [1], false)
      const pC = g.reduceSum(g.mul(h, tokens(gy)), [1], false)
      dB = dB ? g.addOp(dB, pB) : pB
      dC = dC ? g.addOp(dC, pC) : pC
    }
    const join = (vs: Value[], axis: number) => (vs.length === 1 ? vs[0] : g.concat(vs, axis))
    return [join(du, 1), join(ddelta, 1), join(dA, 0), dB!, dC!]
  }
}

/** h_t = a_t * h_{t-1} + b_t along the last axis of (B, Di, N, T), h_{-1} = 0. */
function linearRecurrence(g: Graph, a: Value, b: Value): Value {
  const lead = a.shape.slice(0, -1)
  const t = a.shape[a.shape.length - 1]
  if (t === 1) return b
  const axis = lead.length
  const fill = (value: number) => g.f32(new Float32Array(lead.reduce((p, d) => p * d, 1)).fill(value), [...lead, 1])
  const even = t % 2 === 0
  const aa = even ? a : g.concat([a, fill(1)], axis)
  const bb = even ? b : g.concat([b, fill(0)], axis)
  const half = (t + (even ? 0 : 1)) / 2
  const pick = (v: Value, i: number) => g.slice(g.reshape(v, [...lead, half, 2]), [i], [i + 1], [axis + 1])
  const [a0, a1, b0, b1] = [pick(aa, 0), pick(aa, 1), pick(bb, 0), pick(bb, 1)]
  const squash = (v: Value) => g.reshape(v, [...lead, half])
  // States at the odd positions 2k+1, from the recurrence over pairs.
  const odd = linearRecurrence(g, squash(g.mul(a1, a0)), squash(g.addOp(g.mul(a1, b0), b1)))
  const before = half === 1 ? fill(0) : g.concat([fill(0), g.slice(odd, [0], [half - 1], [axis])], axis)
  const evenStates = g.addOp(g.mul(a0, g.reshape(before, [...lead, half, 1])), b0)
  const all = g.reshape(g.concat([evenStates, g.reshape(odd, [...lead, half, 1])], axis + 1), [...lead, 2 * half])
  return even ? all : g.slice(all, [0], [t], [axis])
}

/**
 * A reduction over many elements as two reductions (GPU reductions run one thread per output,
 * so one long reduction per channel leaves the GPU idle): the reduced axes, flattened to S, are
 * split as S1 x S2 with S2 the largest divisor of S not above sqrt(S), and each is reduced in turn.
 */
export const reduceInTwoSteps: Rule = (g, node, [x]) => {
  const rank = x.shape.length
  const axes = (node.attrs.axes as number[]).map((a) => (a < 0 ? a + rank : a)).sort((p, q) => p - q)
  const keep = node.attrs.keepdims === 1
  const trailing = axes.every((a, i) => a === rank - axes.length + i)
  const size = axes.reduce((p, a) => p * x.shape[a], 1)
  let s2 = Math.floor(Math.sqrt(size))
  while (s2 > 1 && size % s2 !== 0) s2--
  const one = (v: Value, ax: number[], k: boolean) => g.op(node.op, [v], { axes: ax, keepdims: k ? 1 : 0 })
  if (!trailing || size < 4096 || s2 < 16) return [one(x, axes, keep)]
  const lead = x.shape.slice(0, rank - axes.length)
  const twice = one(one(g.reshape(x, [...lead, size / s2, s2]), [-1], false), [-1], false)
  return [keep ? g.reshape(twice, [...lead, ...axes.map(() => 1)]) : twice]
}

/**
 * For the CPU's native scan (inference only): a Softplus whose only reader is a scan's delta is
 * left out, and that scan gets deltaSoftplus = 1 so the kernel applies it while scanning (one
 * pass over delta instead of five ONNX Runtime ops). Other Softplus nodes get the Where form.
 */
export function fuseSoftplusIntoScan(graph: Graph): Lowering {
  const readers = new Map<number, number>()
  for (const node of graph.nodes) for (const v of node.inputs) readers.set(v.id, (readers.get(v.id) ?? 0) + 1)
  const fused = new Set<number>()
  for (const node of graph.nodes) {
    const delta = node.inputs[1]
    if (node.op === 'SelectiveScan' && delta.source.kind === 'node' && delta.source.node.op === 'Softplus' && readers.get(delta.id) === 1) {
      fused.add(delta.source.node.id)
    }
  }
  const isFused = (v: Value) => v.source.kind === 'node' && fused.has(v.source.node.id)
  return {
    Softplus: (g, node, inputs) => (fused.has(node.id) ? [inputs[0]] : softplusAsWhere(g, node, inputs)),
    SelectiveScan: (g, node, inputs) => [g.op('SelectiveScan', inputs, isFused(node.inputs[1]) ? { deltaSoftplus: 1 } : {})],
  }
}

export type Provider = 'cpu' | 'webgpu' | 'cuda'

/**
 * Per provider. CPU keeps SelectiveScan for the native kernel (runtime/program.ts splits the
 * graph around it). 'portable' is a self-contained graph for other runtimes (export-onnx).
 */
export const LOWERINGS: Record<Provider | 'portable', Lowering> = {
  cpu: { Softplus: softplusAsWhere, ConvTranspose: convTransposeAsConv },
  webgpu: {
    SelectiveScan: selectiveScanParallel(),
    ConvTranspose: convTransposeAsConv,
    ReduceMean: reduceInTwoSteps,
    ReduceSum: reduceInTwoSteps,
    SelectiveScanGrad: selectiveScanGradParallel(),
  },
  cuda: { SelectiveScan: selectiveScanParallel(), SelectiveScanGrad: selectiveScanGradParallel() },
  portable: { SelectiveScan: selectiveScanParallel(), Softplus: softplusAsWhere, SelectiveScanGrad: selectiveScanGradParallel() },
}
