/**
 * Fragments (supervoxels): seeded watershed of the affinities, per z-slice as the official
 * evaluation does (../shared/design/TOKENUNIFY.md section 7) or in 3D; native/src/watershed.cc
 * documents both.
 */
import type { Vec3 } from '../../../shared/types'
import { native } from '../native'
import type { Affinities, LabelType, LabelVolume } from './types'
import { allocateLabels, checkAffinities, nativeCall, voxelCount } from './validate'

export type FragmentMode = '2d' | '3d'

export interface FragmentOptions {
  /** '2d': per z-slice from (aff_y + aff_x) / 2, the paper's evaluation (default); '3d': whole volume. */
  mode?: FragmentMode
  /** Id type of the result (default uint32; uint64 for label stores that want 64-bit ids). */
  dtype?: LabelType
  /** 3D only: relative voxel size (z, y, x) for the distance transform, e.g. [5, 1, 1] for 40 x 8 x 8 nm. */
  sampling?: Vec3
}

export interface Fragments {
  fragments: LabelVolume
  /** Fragment ids are 1..count. */
  count: number
}

export async function computeFragments(affinities: Affinities, options: FragmentOptions = {}): Promise<Fragments> {
  checkAffinities(affinities)
  const shape: Vec3 = [...affinities.shape]
  const data = allocateLabels(options.dtype ?? 'uint32', voxelCount(shape))
  const count = await nativeCall(() =>
    native().fragments(affinities.data, shape, data, {
      mode: options.mode ?? '2d',
      ...(options.sampling ? { sampling: options.sampling } : {}),
    }),
  )
  return { fragments: { data, shape }, count }
}
