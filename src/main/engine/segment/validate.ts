/**
 * Checks at the boundary of the segmentation engine, so that bad input becomes a clear
 * StudioError('bad_input') here instead of a crash or a confusing message further down.
 */
import { StudioError } from '../../../shared/errors'
import type { Box3, Vec3 } from '../../../shared/types'
import type { VoxelArray } from '../io/volume'
import type { Affinities, LabelArray, LabelType, LabelVolume } from './types'

export function voxelCount(shape: Vec3): number {
  return shape[0] * shape[1] * shape[2]
}

export function checkShape(shape: readonly number[], what: string): void {
  if (shape.length !== 3 || !shape.every((n) => Number.isInteger(n) && n > 0)) {
    throw new StudioError('bad_input', `${what}: shape must be three positive integers (z, y, x), got (${shape.join(', ')})`)
  }
}

function describe(x: unknown): string {
  return (x as object | null)?.constructor?.name ?? typeof x
}

export function checkAffinities(a: Affinities, what = 'affinities'): void {
  checkShape(a.shape, what)
  if (!(a.data instanceof Float32Array || a.data instanceof Uint8Array)) {
    throw new StudioError('bad_input', `${what}: must be float32 or uint8 values, not ${describe(a.data)}`)
  }
  const need = 3 * voxelCount(a.shape)
  if (a.data.length !== need) {
    throw new StudioError('bad_input', `${what}: ${a.data.length} values do not fill (3, ${a.shape.join(', ')}) = ${need}`)
  }
}

export function checkLabels(l: LabelVolume, what = 'labels'): void {
  checkShape(l.shape, what)
  if (!(l.data instanceof Uint32Array || l.data instanceof BigUint64Array)) {
    throw new StudioError('bad_input', `${what}: labels must be uint32 or uint64, not ${describe(l.data)}`)
  }
  if (l.data.length !== voxelCount(l.shape)) {
    throw new StudioError('bad_input', `${what}: ${l.data.length} voxels do not fill ${l.shape.join('x')}`)
  }
}

export function checkSameShape(a: Vec3, b: Vec3, what: string): void {
  if (a[0] !== b[0] || a[1] !== b[1] || a[2] !== b[2]) {
    throw new StudioError('bad_input', `${what}: shapes differ, ${a.join('x')} and ${b.join('x')}`)
  }
}

export function checkBox(box: Box3, shape: Vec3, what: string): number[] {
  for (let i = 0; i < 3; i++) {
    const [a, b] = [box.start[i], box.stop[i]]
    if (!Number.isInteger(a) || !Number.isInteger(b) || a < 0 || b > shape[i] || a >= b) {
      throw new StudioError('bad_input', `${what}: box [${box.start.join(',')}]..[${box.stop.join(',')}] is empty or outside ${shape.join('x')}`)
    }
  }
  return [...box.start, ...box.stop]
}

export function labelTypeOf(data: LabelArray): LabelType {
  return data instanceof BigUint64Array ? 'uint64' : 'uint32'
}

export function allocateLabels(type: LabelType, n: number): LabelArray {
  return type === 'uint64' ? new BigUint64Array(n) : new Uint32Array(n)
}

/** An id as a JS number; uint64 ids above 2^53 cannot be one exactly. */
export function idNumber(id: number | bigint): number {
  if (typeof id === 'number') return id
  if (id > BigInt(Number.MAX_SAFE_INTEGER)) throw new StudioError('unsupported', `label id ${id} is above 2^53 and cannot be handled as a number`)
  return Number(id)
}

/** A JS number id in the element type of `like`. */
export function idIn(like: LabelArray, id: number): number | bigint {
  return like instanceof BigUint64Array ? BigInt(id) : id
}

/**
 * A volume read from a file as labels: uint32/uint64 as they are, smaller unsigned types widened
 * to uint32 (a copy). Floating-point volumes are refused: they are not label volumes.
 */
export function asLabelArray(data: VoxelArray, file: string): LabelArray {
  if (data instanceof Uint32Array || data instanceof BigUint64Array) return data
  if (data instanceof Uint8Array || data instanceof Uint16Array) return Uint32Array.from(data)
  throw new StudioError('bad_input', `${file}: holds float values, not integer labels`, { file })
}

/** Runs a native call, reporting its argument errors and rejections as bad input. */
export async function nativeCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call()
  } catch (err) {
    if (err instanceof StudioError) throw err
    throw new StudioError('bad_input', (err as Error).message ?? String(err), { cause: err })
  }
}
