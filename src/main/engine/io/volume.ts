/** The one interface every volume format implements, and the in-memory volume. */
import { StudioError } from '../../../shared/errors'
import type { Box3, DType, Vec3 } from '../../../shared/types'

export type VoxelArray = Uint8Array | Uint16Array | Float32Array | Uint32Array | BigUint64Array

export interface VolumeSource {
  readonly name: string
  readonly path?: string
  readonly shape: Vec3
  readonly dtype: DType
  readonly chunkShape: Vec3
  /** nm per voxel (z, y, x) when the file states it. */
  readonly voxelSize?: Vec3
  /** Voxels of `box` in (z, y, x) C order, as a new array of the volume's dtype. */
  read(box: Box3): Promise<VoxelArray>
  close(): Promise<void>
}

const ARRAY_OF: Record<DType, { new (n: number): VoxelArray }> = {
  uint8: Uint8Array,
  uint16: Uint16Array,
  float32: Float32Array,
  uint32: Uint32Array,
  uint64: BigUint64Array,
}

export function allocate(dtype: DType, n: number): VoxelArray {
  return new ARRAY_OF[dtype](n)
}

export function boxSize(box: Box3): Vec3 {
  return [box.stop[0] - box.start[0], box.stop[1] - box.start[1], box.stop[2] - box.start[2]]
}

export function checkBox(box: Box3, shape: Vec3, name: string): void {
  for (let a = 0; a < 3; a++) {
    if (!(Number.isInteger(box.start[a]) && Number.isInteger(box.stop[a]))) {
      throw new StudioError('bad_input', `${name}: box coordinates must be integers`)
    }
    if (box.start[a] < 0 || box.stop[a] > shape[a] || box.start[a] >= box.stop[a]) {
      throw new StudioError(
        'bad_input',
        `${name}: box [${box.start.join(',')}]..[${box.stop.join(',')}] is empty or outside the volume ${shape.join('x')}`,
      )
    }
  }
}

/** A volume held in memory: generated data, small files, tests. */
export class ArrayVolume implements VolumeSource {
  readonly chunkShape: Vec3

  constructor(
    readonly name: string,
    readonly shape: Vec3,
    readonly dtype: DType,
    readonly data: VoxelArray,
    readonly voxelSize?: Vec3,
  ) {
    if (data.length !== shape[0] * shape[1] * shape[2]) {
      throw new StudioError('bad_input', `${name}: ${data.length} voxels do not fill shape ${shape.join('x')}`)
    }
    this.chunkShape = [Math.min(shape[0], 32), Math.min(shape[1], 256), Math.min(shape[2], 256)]
  }

  async read(box: Box3): Promise<VoxelArray> {
    checkBox(box, this.shape, this.name)
    const [dz, dy, dx] = boxSize(box)
    const [, sy, sx] = this.shape
    const out = allocate(this.dtype, dz * dy * dx)
    for (let z = 0; z < dz; z++) {
      for (let y = 0; y < dy; y++) {
        const from = ((box.start[0] + z) * sy + box.start[1] + y) * sx + box.start[2]
        const row = this.data.subarray(from, from + dx)
        ;(out as Uint8Array).set(row as Uint8Array, (z * dy + y) * dx)
      }
    }
    return out
  }

  async close(): Promise<void> {}
}
