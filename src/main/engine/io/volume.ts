/** The one interface every volume format implements, and the in-memory volume. */
import { StudioError } from '../../../shared/errors'
import type { Box3, DType, Vec3, VolumeFormat } from '../../../shared/types'
import { TYPED_ARRAY_OF } from './dtypes'

export type VoxelArray = Uint8Array | Uint16Array | Float32Array | Uint32Array | BigUint64Array

export interface VolumeSource {
  readonly name: string
  readonly path?: string
  readonly shape: Vec3
  readonly dtype: DType
  /** The blocks it is read in (z, y, x): boxes aligned to them read no voxel twice. */
  readonly chunkShape: Vec3
  /** nm per voxel (z, y, x) when the file states it. */
  readonly voxelSize?: Vec3
  /** The format module that reads it; absent for volumes held in memory. */
  readonly format?: VolumeFormat
  /** The dataset inside a container file (HDF5 path, Zarr/N5 path, OME-Zarr level). */
  readonly dataset?: string
  /** Voxels of `box` in (z, y, x) C order, as a new array of the volume's dtype. */
  read(box: Box3): Promise<VoxelArray>
  close(): Promise<void>
}

export function allocate(dtype: DType, n: number): VoxelArray {
  return new TYPED_ARRAY_OF[dtype](n) as VoxelArray
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

/** How a stored array of any rank reads as a (z, y, x) volume. */
export interface AxisMap {
  shape: Vec3
  /** Fixed index on each axis before the last three (squeezed singletons and the chosen channel). */
  lead: number[]
  /** The stored array is 2D: the volume is one z-slice of it. */
  planar: boolean
}

/**
 * The last three axes of a stored array are (z, y, x). Leading axes of size 1 are dropped; one
 * leading axis longer than 1 is a channel axis, read one channel at a time (`channel`). A 2D
 * array is a volume of one slice.
 */
export function mapAxes(stored: readonly number[], file: string, channel?: number): AxisMap {
  const rank = stored.length
  if (rank === 2) return { shape: [1, stored[0], stored[1]], lead: [], planar: true }
  if (rank < 2 || rank > 5) {
    throw new StudioError('unsupported', `${file}: a ${rank}D array (${stored.join('x')}) is not a volume; need 3D (z, y, x)`, { file })
  }
  const leading = stored.slice(0, rank - 3)
  const channelAxes = leading.flatMap((n, i) => (n > 1 ? [i] : []))
  if (channelAxes.length > 1) {
    throw new StudioError('unsupported', `${file}: array ${stored.join('x')} has more than one non-singleton axis before (z, y, x)`, { file })
  }
  const lead = leading.map(() => 0)
  if (channelAxes.length === 1) {
    const n = leading[channelAxes[0]]
    if (channel === undefined) {
      throw new StudioError('bad_input', `${file}: array ${stored.join('x')} holds ${n} channels; choose one (channel 0..${n - 1})`, { file })
    }
    if (!Number.isInteger(channel) || channel < 0 || channel >= n) {
      throw new StudioError('bad_input', `${file}: channel ${channel} is outside 0..${n - 1}`, { file })
    }
    lead[channelAxes[0]] = channel
  } else if (channel !== undefined && channel !== 0) {
    throw new StudioError('bad_input', `${file}: array ${stored.join('x')} has no channel axis; channel ${channel} does not exist`, { file })
  }
  return { shape: [stored[rank - 3], stored[rank - 2], stored[rank - 1]], lead, planar: false }
}
