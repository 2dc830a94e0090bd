/**
 * Layers the TokenUnify network is made of, written with the builder's primitive ops only (no
 * fused norms or activations), so one definition serves inference and, through autodiff, training.
 * Tensors are channel-first: (B, C, D, H, W) for volumes and (B, C, L) for token sequences.
 */
import type { Graph, Value } from '../graph/builder'

const EPS = 1e-5

/** PyTorch's padding = (k - 1) / 2 on each side, for odd kernels ('same' size). */
export function samePads(kernel: readonly number[]): number[] {
  const half = kernel.map((k) => (k - 1) / 2)
  return [...half, ...half]
}

export function conv3d(g: Graph, x: Value, w: Value, b: Value | null, o: { strides?: number[]; pads?: number[] } = {}): Value {
  return g.conv(x, w, b, { strides: o.strides, pads: o.pads ?? samePads(w.shape.slice(2)) })
}

/** InstanceNorm without affine: per sample and channel over every axis after the channels. */
export function instanceNorm(g: Graph, x: Value): Value {
  return normalize(g, x, meanOver(g, x.shape.slice(2).map((_, i) => i + 2)))
}

/** LayerNorm with affine over the channel axis (1) of a (B, C, L) sequence. */
export function channelLayerNorm(g: Graph, x: Value, weight: Value, bias: Value): Value {
  const [, c] = x.shape
  const y = normalize(g, x, meanOver(g, [1]))
  return g.addOp(g.mul(y, g.reshape(weight, [c, 1])), g.reshape(bias, [c, 1]))
}

/**
 * The mean over `axes` (kept as size 1) as one single-axis mean after another, last axis first:
 * one float32 sum over hundreds of thousands of values drifts by 1e-4 and more, and instance
 * norms amplify that; per-axis sums stay short.
 */
export function meanOver(g: Graph, axes: number[]): (v: Value) => Value {
  const order = [...axes].sort((a, b) => b - a)
  return (v) => order.reduce((t, axis) => g.reduceMean(t, [axis]), v)
}

/** (x - mean) / sqrt(biased variance + eps), `mean` giving the groups (keepdims). */
export function normalize(g: Graph, x: Value, mean: (v: Value) => Value): Value {
  const centered = g.sub(x, mean(x))
  const variance = mean(g.mul(centered, centered))
  return g.mul(centered, g.div(g.f32(1), g.sqrt(g.addOp(variance, g.f32(EPS)))))
}

/** GELU, exact (erf) form. */
export function gelu(g: Graph, x: Value): Value {
  const inner = g.addOp(g.erf(g.mul(x, g.f32(Math.SQRT1_2))), g.f32(1))
  return g.mul(g.mul(x, g.f32(0.5)), inner)
}

export function silu(g: Graph, x: Value): Value {
  return g.mul(x, g.sigmoid(x))
}

/** Reverses axis `axis`. */
export function flip(g: Graph, x: Value, axis: number): Value {
  const n = x.shape[axis]
  return g.slice(x, [n - 1], [-n - 1], [axis], [-1])
}

/** A per-channel vector (C) as (C, 1) for broadcasting over (B, C, L). */
export function perChannel(g: Graph, v: Value): Value {
  return g.reshape(v, [v.shape[0], 1])
}
