/**
 * The TokenUnify segmentation network (the official SegMamba, ../shared/design/TOKENUNIFY.md
 * section 2), defined once against the graph builder for any config (all five sizes, any
 * feat_size / hidden_size), patch and batch. Params carry the official state_dict names and the
 * shapes of params.ts; their values are bound when the graph is emitted.
 */
import type { Vec3 } from '../../../shared/types'
import { Graph, type Value } from '../graph/builder'
import { checkPatch, type NetworkConfig } from './config'
import { channelLayerNorm, conv3d, flip, gelu, instanceNorm, meanOver, normalize, perChannel, samePads, silu } from './layers'
import { paramSpecs } from './params'

export interface NetworkOptions {
  /** (z, y, x) of one window. */
  patch: Vec3
  /** Windows per run. */
  batch: number
  /**
   * Module outputs to expose as extra graph outputs, by the names of the fixtures'
   * intermediates/ (e.g. 'vit.outs0', 'encoder1', 'vit.stages.0.0').
   */
  taps?: readonly string[]
}

/** Name of the graph's input: (batch, 1, z, y, x) float32, raw intensity / 255. */
export const INPUT = 'input'
/** Name of the graph's output: (batch, 3, z, y, x) affinities (z, y, x) after the sigmoid. */
export const OUTPUT = 'affinities'

export function buildNetwork(config: NetworkConfig, options: NetworkOptions): Graph {
  checkPatch(options.patch, config)
  const g = new Graph()
  const shapes = new Map(paramSpecs(config).map((s) => [s.name, s.shape]))
  const p = (name: string) => {
    const shape = shapes.get(name)
    if (!shape) throw g.error(`the network asks for ${name}, which params.ts does not list`)
    return g.param(name, shape)
  }
  const taps = new Set(options.taps ?? [])
  const tap = (name: string, v: Value) => {
    if (taps.delete(name)) g.output(name, v)
    return v
  }
  const net = { g, p, config, tap, batch: options.batch }

  const x = g.input(INPUT, 'float32', [options.batch, config.inChannels, ...options.patch])
  const outs = g.scope('vit', () => mambaEncoder(net, x))
  // The U-Net side runs on planes (section "planes" below): its convs are 2D, which ONNX
  // Runtime's CPU runs 1.3-1.6x faster than the same convs in 3D.
  const planes = (v: Value) => toPlanes(g, v)
  const volume = (name: string, v: Value) => (taps.has(name) ? tap(name, fromPlanes(g, v, options.batch)) : undefined, v)
  const C = config.featSize
  const enc1 = volume('encoder1', g.scope('encoder1.layer', () => resBlock(net, planes(x), config.inChannels, C[0])))
  const enc2 = g.scope('encoder2.layer', () => resBlock(net, planes(outs[0]), C[0], C[1]))
  const enc3 = g.scope('encoder3.layer', () => resBlock(net, planes(outs[1]), C[1], C[2]))
  const enc4 = g.scope('encoder4.layer', () => resBlock(net, planes(outs[2]), C[2], C[3]))
  const hidden = volume('encoder5', g.scope('encoder5.layer', () => resBlock(net, planes(outs[3]), C[3], config.hiddenSize)))
  const dec3 = g.scope('decoder5', () => upBlock(net, hidden, enc4))
  const dec2 = g.scope('decoder4', () => upBlock(net, dec3, enc3))
  const dec1 = g.scope('decoder3', () => upBlock(net, dec2, enc2))
  const dec0 = volume('decoder2', g.scope('decoder2', () => upBlock(net, dec1, enc1)))
  const top = volume('decoder1', g.scope('decoder1.layer', () => resBlock(net, dec0, C[0], C[0])))
  const logits = g.scope('out.conv.conv', () => planeConv(net, top, 'out.conv.conv.weight', p('out.conv.conv.bias')))
  g.output(OUTPUT, fromPlanes(g, g.sigmoid(logits), options.batch))
  if (taps.size) throw g.error(`unknown taps: ${[...taps].join(', ')}`)
  return g
}

interface Net {
  g: Graph
  p: (name: string) => Value
  config: NetworkConfig
  tap: (name: string, v: Value) => Value
  batch: number
}

/** MambaEncoder (section 2.2): returns the four stage outputs for the U-Net skips. */
function mambaEncoder(net: Net, input: Value): Value[] {
  const { g, p, config, tap } = net
  const outs: Value[] = []
  let x = input
  for (let i = 0; i < 4; i++) {
    x = g.scope(`downsample_layers.${i}`, () => {
      if (i === 0) return conv3d(g, x, p('vit.downsample_layers.0.0.weight'), p('vit.downsample_layers.0.0.bias'), { strides: [2, 2, 2], pads: [0, 3, 3, 0, 3, 3] })
      const w = p(`vit.downsample_layers.${i}.1.weight`)
      return conv3d(g, instanceNorm(g, x), w, p(`vit.downsample_layers.${i}.1.bias`), { strides: [2, 2, 2], pads: [0, 0, 0, 0, 0, 0] })
    })
    if (i === 0) tap('vit.downsample_layers.0', x)
    x = g.scope(`gscs.${i}`, () => gsc(net, x, `vit.gscs.${i}`))
    if (i === 0) tap('vit.gscs.0', x)
    for (let j = 0; j < config.depths[i]; j++) {
      x = g.scope(`stages.${i}.${j}`, () => mambaLayer(net, x, `vit.stages.${i}.${j}`))
      tap(`vit.stages.${i}.${j}`, x)
    }
    const y = g.scope(`mlps.${i}`, () => {
      const hidden = gelu(g, conv3d(g, instanceNorm(g, x), p(`vit.mlps.${i}.fc1.weight`), p(`vit.mlps.${i}.fc1.bias`)))
      return conv3d(g, hidden, p(`vit.mlps.${i}.fc2.weight`), p(`vit.mlps.${i}.fc2.bias`))
    })
    outs.push(tap(`vit.outs${i}`, y))
  }
  return outs
}

/** Gated spatial convolution: two 3x3x3 convs in parallel with a 1x1x1, merged, plus the input. */
function gsc(net: Net, x: Value, prefix: string): Value {
  const { g, p } = net
  const block = (v: Value, name: string) => g.relu(instanceNorm(g, conv3d(g, v, p(`${prefix}.${name}.weight`), p(`${prefix}.${name}.bias`))))
  const a = block(block(x, 'proj'), 'proj2')
  const b = block(x, 'proj3')
  return g.addOp(block(g.addOp(a, b), 'proj4'), x)
}

/**
 * MambaLayer with the 3-direction "v3" Mamba (section 2.3): LayerNorm over channels, then
 * forward, reversed and 5-way interleaved scans sharing in_proj and the gate, out_proj; no
 * residual. The z gate is elementwise, so it is applied once to the sum of the three branches
 * in the original token order (the same function as gating inside each branch).
 */
function mambaLayer(net: Net, x: Value, prefix: string): Value {
  const { g, p, config } = net
  const [b, c, ...grid] = x.shape
  const L = grid[0] * grid[1] * grid[2]
  const m = `${prefix}.mamba`
  const tokens = channelLayerNorm(g, g.reshape(x, [b, c, L]), p(`${prefix}.norm.weight`), p(`${prefix}.norm.bias`))
  const inProj = p(`${m}.in_proj.weight`)
  const di = inProj.shape[0] / 2
  const xs = g.matmul(g.slice(inProj, [0], [di], [0]), tokens)
  const z = g.matmul(g.slice(inProj, [di], [2 * di], [0]), tokens)

  const n = config.nSlices
  const interleave = (v: Value) => g.reshape(g.transpose(g.reshape(v, [b, di, n, L / n]), [0, 1, 3, 2]), [b, di, L])
  const deinterleave = (v: Value) => g.reshape(g.transpose(g.reshape(v, [b, di, L / n, n]), [0, 1, 3, 2]), [b, di, L])
  const forward = g.scope('forward', () => mambaBranch(net, xs, m, ''))
  const backward = g.scope('backward', () => flip(g, mambaBranch(net, flip(g, xs, 2), m, '_b'), 2))
  const sliced = g.scope('interleaved', () => deinterleave(mambaBranch(net, interleave(xs), m, '_s')))
  const gated = g.mul(g.addOp(g.addOp(forward, backward), sliced), silu(g, z))
  const out = g.matmul(p(`${m}.out_proj.weight`), gated)
  return g.reshape(out, [b, c, ...grid])
}

/** One scan direction (mamba_inner_fn_no_out_proj without the gate): returns scan(u) + u * D. */
function mambaBranch(net: Net, x: Value, m: string, suffix: string): Value {
  const { g, p, config } = net
  const [, di] = x.shape
  const N = config.dState
  const convW = p(`${m}.conv1d${suffix}.weight`)
  // Causal depthwise conv1d: pad dConv - 1 tokens in front only.
  const u = silu(g, g.conv(x, convW, p(`${m}.conv1d${suffix}.bias`), { group: di, pads: [config.dConv - 1, 0] }))
  const xProj = p(`${m}.x_proj${suffix}.weight`)
  const R = xProj.shape[0] - 2 * N
  const xdbl = g.matmul(xProj, u)
  const dt = g.slice(xdbl, [0], [R], [1])
  const Bm = g.slice(xdbl, [R], [R + N], [1])
  const Cm = g.slice(xdbl, [R + N], [R + 2 * N], [1])
  const delta = g.softplus(g.addOp(g.matmul(p(`${m}.dt_proj${suffix}.weight`), dt), perChannel(g, p(`${m}.dt_proj${suffix}.bias`))))
  const A = g.neg(g.exp(p(`${m}.A${suffix}_log`)))
  const y = g.selectiveScan(u, delta, A, Bm, Cm)
  return g.addOp(y, g.mul(u, perChannel(g, p(`${m}.D${suffix}`))))
}

// Planes: the U-Net's kernels are (1, k, k) and every block keeps the depth, so its tensors are
// held as (B * D, C, H, W): a (B, C, D, H, W) volume with depth moved next to the batch. Convs
// are then 2D, instance norms reduce over (D, H, W) as axes 1 and 3 of (B, D, C, H * W), and the
// k = s = 2 transposed convs are a 1x1 conv plus a depth/pixel shuffle.

/** (B, C, D, H, W) -> planes (B * D, C, H, W). */
function toPlanes(g: Graph, v: Value): Value {
  const [b, c, d, h, w] = v.shape
  return g.reshape(c === 1 ? v : g.transpose(v, [0, 2, 1, 3, 4]), [b * d, c, h, w])
}

/** Planes (B * D, C, H, W) -> (B, C, D, H, W). */
function fromPlanes(g: Graph, v: Value, batch: number): Value {
  const [bd, c, h, w] = v.shape
  const depthMajor = g.reshape(v, [batch, bd / batch, c, h, w])
  return c === 1 ? g.reshape(depthMajor, [batch, 1, bd / batch, h, w]) : g.transpose(depthMajor, [0, 2, 1, 3, 4])
}

/** InstanceNorm of planes: per sample and channel over (D, H, W), i.e. axes 1 and 3 of (B, D, C, H * W). */
function planeNorm(net: Net, v: Value): Value {
  const { g, batch } = net
  const [bd, c, h, w] = v.shape
  const grouped = g.reshape(v, [batch, bd / batch, c, h * w])
  return g.reshape(normalize(g, grouped, meanOver(g, [1, 3])), [bd, c, h, w])
}

/** A (Co, Ci, 1, k, k) conv3d weight applied to planes as a 2D conv with 'same' padding. */
function planeConv(net: Net, v: Value, weight: string, bias: Value | null): Value {
  const { g, p } = net
  const w = p(weight)
  const [co, ci, kz, ky, kx] = w.shape
  if (kz !== 1) throw g.error(`${weight}: U-Net kernels must have depth 1 (the network keeps z per plane), got ${kz}`)
  return g.conv(v, g.reshape(w, [co, ci, ky, kx]), bias, { pads: samePads([ky, kx]) })
}

/** MONAI UnetResBlock (kernel from the config, stride 1); conv3 shortcut only when cin != cout. */
function resBlock(net: Net, x: Value, cin: number, cout: number): Value {
  const { g } = net
  const prefix = g.currentScope
  const lrelu = (v: Value) => g.leakyRelu(v, 0.01)
  const first = lrelu(planeNorm(net, planeConv(net, x, `${prefix}.conv1.conv.weight`, null)))
  const o = planeNorm(net, planeConv(net, first, `${prefix}.conv2.conv.weight`, null))
  const r = cin === cout ? x : planeNorm(net, planeConv(net, x, `${prefix}.conv3.conv.weight`, null))
  return lrelu(g.addOp(o, r))
}

/**
 * MONAI UnetrUpBlock: ConvTranspose3d (kernel = stride = 2, no bias), concat with the skip
 * (upsampled first), res block. The transposed conv on planes: a 1x1 conv to 8 * Co channels
 * ordered (kz, Co, ky, kx), then ky and kx are moved beside H and W, and kz beside D.
 */
function upBlock(net: Net, x: Value, skip: Value): Value {
  const { g, p } = net
  const prefix = g.currentScope
  const w = p(`${prefix}.transp_conv.conv.weight`)
  const [ci, co, kz, ky, kx] = w.shape
  const [bd, , h, wd] = x.shape
  const w1 = g.reshape(g.transpose(w, [2, 1, 3, 4, 0]), [kz * co * ky * kx, ci, 1, 1])
  const y = g.conv(x, w1, null)
  const n = bd * kz * co
  const xs = g.transpose(g.reshape(y, [n * ky, kx, h, wd]), [0, 2, 3, 1])
  const ys = g.transpose(g.reshape(xs, [n, ky, h, wd * kx]), [0, 2, 1, 3])
  const up = g.reshape(ys, [bd * kz, co, h * ky, wd * kx])
  const cout = skip.shape[1]
  return g.scope('conv_block', () => resBlock(net, g.concat([up, skip], 1), 2 * cout, cout))
}
