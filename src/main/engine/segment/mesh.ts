/**
 * Surface mesh of one segment for the 3D view (native/src/mesh.cc): surface nets, Taubin
 * smoothing, vertex-clustering simplification and normals, as arrays ready for a three.js
 * BufferGeometry (position and normal attributes, index).
 */
import { StudioError } from '../../../shared/errors'
import type { Box3, Vec3 } from '../../../shared/types'
import { native } from '../native'
import type { LabelVolume } from './types'
import { checkBox, checkLabels, nativeCall } from './validate'

export interface MeshOptions {
  /** Part of the volume to mesh (default: all; only the segment's bounding box inside is visited). */
  box?: Box3
  /** nm per voxel (z, y, x); default 1 (positions in voxels). */
  voxelSize?: Vec3
  /** Taubin smoothing iterations (default 20: removes the voxel staircase, keeps the volume). */
  smooth?: number
  /**
   * Simplification: vertices within the same cube of this side (nm) merge into one. Default: the
   * largest voxel side, which keeps the shape to about a voxel with several times fewer triangles;
   * 0 keeps every vertex.
   */
  simplify?: number
}

export interface SegmentMesh {
  /** (x, y, z) per vertex, in nm (voxel centres times the voxel size). */
  positions: Float32Array
  /** Unit outward normal per vertex, (x, y, z). */
  normals: Float32Array
  /** Three vertex indices per triangle, counter-clockwise seen from outside. */
  indices: Uint32Array
}

/**
 * The surface of segment `ids`: one label, or every label of a segment's fragments (the voxels
 * of all of them form one surface).
 */
export async function meshSegment(labels: LabelVolume, ids: number | readonly number[], options: MeshOptions = {}): Promise<SegmentMesh> {
  checkLabels(labels)
  const box = checkBox(options.box ?? { start: [0, 0, 0], stop: labels.shape }, labels.shape, 'mesh')
  const voxelSize: Vec3 = options.voxelSize ?? [1, 1, 1]
  const list = typeof ids === 'number' ? [ids] : ids
  const most = labels.data instanceof BigUint64Array ? Number.MAX_SAFE_INTEGER : 0xffffffff
  if (!list.every((id) => Number.isInteger(id) && id >= 0 && id <= most)) throw new StudioError('bad_input', `mesh: ids must be integers in 0..${most}`)
  const typed = labels.data instanceof BigUint64Array ? BigUint64Array.from(list, (id) => BigInt(id)) : Uint32Array.from(list)
  return nativeCall(() =>
    native().mesh(labels.data, labels.shape, typed, box, {
      voxelSize,
      smooth: options.smooth ?? 20,
      cluster: options.simplify ?? Math.max(...voxelSize),
    }),
  )
}
