/** The arrays the segmentation works on. Axis order is (z, y, x), C order, as everywhere. */
import type { Vec3 } from '../../../shared/types'

/** Affinity values: float32 in [0, 1], or uint8 meaning value / 255. */
export type AffinityArray = Float32Array | Uint8Array

/** Label ids; 0 is background. */
export type LabelArray = Uint32Array | BigUint64Array
export type LabelType = 'uint32' | 'uint64'

/**
 * Nearest-neighbour affinities, shape (3, z, y, x): channel c links each voxel to its predecessor
 * along z, y, x (../shared/design/TOKENUNIFY.md section 4, the network's output).
 */
export interface Affinities {
  data: AffinityArray
  /** (z, y, x) of one channel. */
  shape: Vec3
}

export interface LabelVolume {
  data: LabelArray
  shape: Vec3
}
