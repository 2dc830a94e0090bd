/**
 * Training targets as the official code makes them (../shared/design/TOKENUNIFY.md sections 4, 5):
 * nearest-neighbour affinities from a label volume, and the per-patch class-balancing weight
 * `weight_binary_ratio`. Volumes are (z, y, x) C order; affinities are (3, z, y, x), channel c
 * linking each voxel to its predecessor along axis c.
 */
import type { Vec3 } from '../../../shared/types'

export type LabelArray = Uint8Array | Uint16Array | Uint32Array | Int8Array | Int16Array | Int32Array | Float64Array

/** Offsets of the predecessor along z, y, x, in voxels of a C-order (z, y, x) volume. */
export function axisStrides(shape: Vec3): Vec3 {
  return [shape[1] * shape[2], shape[2], 1]
}

/**
 * seg_to_aff with mknhood3d(1): 1 iff the voxel and its predecessor along the axis carry the same
 * non-zero label; the first plane along each axis is `label > 0`.
 */
export function affinitiesFromLabels(labels: LabelArray, shape: Vec3): Float32Array {
  const n = shape[0] * shape[1] * shape[2]
  const out = new Float32Array(3 * n)
  const strides = axisStrides(shape)
  for (let z = 0, i = 0; z < shape[0]; z++) {
    for (let y = 0; y < shape[1]; y++) {
      for (let x = 0; x < shape[2]; x++, i++) {
        const l = labels[i]
        const coord = [z, y, x]
        for (let c = 0; c < 3; c++) {
          out[c * n + i] = l !== 0 && (coord[c] === 0 || labels[i - strides[c]] === l) ? 1 : 0
        }
      }
    }
  }
  return out
}

/**
 * weight_binary_ratio (alpha 1) over one patch's affinities: with f the fraction of ones among
 * the known entries (mask > 0; all when no mask), clipped to [0.05, 0.99], the rarer class gets
 * weight (1 - f) / f or f / (1 - f) and the other 1; a uniform patch gets 1 everywhere. Entries
 * outside the mask get 0.
 */
export function weightBinaryRatio(affinities: Float32Array, mask?: Float32Array): Float32Array {
  let lo = Infinity
  let hi = -Infinity
  let ones = 0
  let known = 0
  for (let i = 0; i < affinities.length; i++) {
    const a = affinities[i]
    lo = Math.min(lo, a)
    hi = Math.max(hi, a)
    const m = mask ? mask[i] : 1
    ones += a !== 0 ? m : 0
    known += m
  }
  const out = new Float32Array(affinities.length)
  // The official code checks uniformity on the labels before masking.
  if (hi === lo || known === 0) {
    for (let i = 0; i < out.length; i++) out[i] = mask ? mask[i] : 1
    return out
  }
  // The official fraction is a float32 (the weights then differ from a float64 one in the 7th digit).
  const f = Math.min(0.99, Math.max(0.05, Math.fround(ones / known)))
  const [wOne, wZero] = f > 0.5 ? [1, f / (1 - f)] : [(1 - f) / f, 1]
  for (let i = 0; i < out.length; i++) out[i] = (affinities[i] !== 0 ? wOne : wZero) * (mask ? mask[i] : 1)
  return out
}
