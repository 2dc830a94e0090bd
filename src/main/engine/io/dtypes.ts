/**
 * Stored data types → the volume types the app works in (uint8, uint16, float32 images; uint32,
 * uint64 labels). Each format module names its stored type numpy-style and asks here; this is
 * the one place that decides what converts and what is refused.
 */
import { StudioError } from '../../../shared/errors'
import type { DType } from '../../../shared/types'
import type { VoxelArray } from './volume'

export type AnyTypedArray =
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | Int32Array
  | BigUint64Array
  | BigInt64Array
  | Float32Array
  | Float64Array

export interface StoredType {
  /** The type volumes of this stored type read as. */
  dtype: DType
  /** Turns an array of the stored type into one of `dtype`; absent when they are the same. */
  convert?: (a: AnyTypedArray) => VoxelArray
}

const reinterpret =
  <T extends VoxelArray>(ctor: { new (buf: ArrayBufferLike, offset: number, length: number): T }) =>
  (a: AnyTypedArray): T =>
    new ctor(a.buffer, a.byteOffset, a.length)

const STORED: Record<string, StoredType> = {
  uint8: { dtype: 'uint8' },
  uint16: { dtype: 'uint16' },
  float32: { dtype: 'float32' },
  uint32: { dtype: 'uint32' },
  uint64: { dtype: 'uint64' },
  // Masks: 0/1 bytes.
  bool: { dtype: 'uint8', convert: reinterpret(Uint8Array) },
  // Signed 16-bit and double-precision images keep their values as float32.
  int16: { dtype: 'float32', convert: (a) => Float32Array.from(a as Int16Array) },
  float64: { dtype: 'float32', convert: (a) => Float32Array.from(a as Float64Array) },
  // Signed label ids (what scikit-image and many scripts write): the same bits as unsigned.
  int32: { dtype: 'uint32', convert: reinterpret(Uint32Array) },
  int64: { dtype: 'uint64', convert: reinterpret(BigUint64Array) },
}

/** How a stored type reads, or a clear `unsupported` error naming the file and the type. */
export function storedType(name: string, file: string): StoredType {
  const t = STORED[name]
  if (!t) {
    throw new StudioError(
      'unsupported',
      `${file}: data type ${name} is not supported (images: uint8, uint16, int16, float32, float64; labels: uint32, uint64, int32, int64; masks: bool)`,
      { file },
    )
  }
  return t
}

export function isSupportedStoredType(name: string): boolean {
  return Object.hasOwn(STORED, name)
}

export const BYTES_PER_VOXEL: Record<DType, number> = { uint8: 1, uint16: 2, float32: 4, uint32: 4, uint64: 8 }

export type StoredTypeName = 'uint8' | 'int8' | 'bool' | 'uint16' | 'int16' | 'uint32' | 'int32' | 'uint64' | 'int64' | 'float32' | 'float64'

/** The typed array that holds each stored type ('bool' as bytes). */
export const TYPED_ARRAY_OF: Record<
  StoredTypeName,
  { new (n: number): AnyTypedArray; new (buf: ArrayBuffer, offset?: number, length?: number): AnyTypedArray; BYTES_PER_ELEMENT: number }
> = {
  uint8: Uint8Array,
  int8: Int8Array,
  bool: Uint8Array,
  uint16: Uint16Array,
  int16: Int16Array,
  uint32: Uint32Array,
  int32: Int32Array,
  uint64: BigUint64Array,
  int64: BigInt64Array,
  float32: Float32Array,
  float64: Float64Array,
}

/** Raw bytes of stored type `name` as a typed array, swapping byte order first when they are big-endian. */
export function fromBytes(bytes: Uint8Array, name: string, bigEndian: boolean, file: string): AnyTypedArray {
  const ctor = Object.hasOwn(TYPED_ARRAY_OF, name) ? TYPED_ARRAY_OF[name as StoredTypeName] : undefined
  if (!ctor) throw new StudioError('unsupported', `${file}: data type ${name} is not supported`, { file })
  const width = ctor.BYTES_PER_ELEMENT
  // A fresh, aligned buffer that this function may reorder in place.
  const own = bytes.byteOffset % width === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice()
  if (bigEndian && width > 1) {
    for (let i = 0; i < own.length; i += width) {
      for (let a = i, b = i + width - 1; a < b; a++, b--) {
        const t = own[a]
        own[a] = own[b]
        own[b] = t
      }
    }
  }
  return new ctor(own.buffer as ArrayBuffer, own.byteOffset, own.byteLength / width)
}
