/** Element types of stored tensors, and their conversion to the float32 the network runs in. */
import { StudioError } from '../../../../shared/errors'

export type TensorDType = 'float32' | 'float16' | 'bfloat16' | 'float64' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool'

export const ITEM_SIZE: Record<TensorDType, number> = {
  float32: 4,
  float16: 2,
  bfloat16: 2,
  float64: 8,
  int64: 8,
  int32: 4,
  int16: 2,
  int8: 1,
  uint8: 1,
  bool: 1,
}

export function isFloat(dtype: TensorDType): boolean {
  return dtype === 'float32' || dtype === 'float16' || dtype === 'bfloat16' || dtype === 'float64'
}

/**
 * Little-endian element bytes as float32. `raw` must start at a multiple of the item size within
 * its buffer (freshly allocated buffers do); float32 data is viewed in place, not copied.
 */
export function toFloat32(raw: Uint8Array, dtype: TensorDType, what: string): Float32Array {
  const n = raw.byteLength / ITEM_SIZE[dtype]
  switch (dtype) {
    case 'float32':
      return new Float32Array(raw.buffer, raw.byteOffset, n)
    case 'float64':
      return Float32Array.from(new Float64Array(raw.buffer, raw.byteOffset, n))
    case 'bfloat16': {
      // bfloat16 is the high half of a float32.
      const src = new Uint16Array(raw.buffer, raw.byteOffset, n)
      const out = new Uint32Array(n)
      for (let i = 0; i < n; i++) out[i] = src[i] << 16
      return new Float32Array(out.buffer)
    }
    case 'float16': {
      const src = new Uint16Array(raw.buffer, raw.byteOffset, n)
      const out = new Float32Array(n)
      for (let i = 0; i < n; i++) out[i] = halfToFloat(src[i])
      return out
    }
    default:
      throw new StudioError('unsupported', `${what} has dtype ${dtype}; network weights must be float32, float16, bfloat16 or float64`)
  }
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1
  const exp = (h >> 10) & 0x1f
  const frac = h & 0x3ff
  if (exp === 0) return sign * frac * 2 ** -24
  if (exp === 31) return frac === 0 ? sign * Infinity : NaN
  return sign * (1 + frac / 1024) * 2 ** (exp - 15)
}

export function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length)
  let s = 1
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s
    s *= shape[i]
  }
  return strides
}

export function isContiguous(shape: readonly number[], stride: readonly number[]): boolean {
  const c = contiguousStrides(shape)
  // A stride along a side of length 1 never matters.
  return shape.every((n, i) => n === 1 || stride[i] === c[i])
}

/** The C-order copy of a strided view of `src` starting at element `offset`. */
export function gatherStrided(src: Float32Array, shape: readonly number[], stride: readonly number[], offset: number): Float32Array {
  const count = shape.reduce((a, b) => a * b, 1)
  const out = new Float32Array(count)
  if (count === 0) return out
  const rank = shape.length
  if (rank === 0) {
    out[0] = src[offset]
    return out
  }
  const index = new Array<number>(rank).fill(0)
  const last = rank - 1
  const n = shape[last]
  const s = stride[last]
  let base = offset
  for (let o = 0; o < count; o += n) {
    for (let k = 0; k < n; k++) out[o + k] = src[base + k * s]
    // Advance the outer index like an odometer.
    for (let d = last - 1; d >= 0; d--) {
      index[d]++
      base += stride[d]
      if (index[d] < shape[d]) break
      base -= stride[d] * shape[d]
      index[d] = 0
    }
  }
  return out
}
