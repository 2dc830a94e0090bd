/**
 * Surface mesh of one segment for the 3D view (native/src/mesh.cc): surface nets, Taubin
 * smoothing, vertex-clustering simplification and normals, as arrays ready for a three.js
 * BufferGeometry (position and normal attributes, index).
 */
import type { Box3, Vec3 } from '../../../shared/types'
import { native } from '../native'
import type { LabelVolume } from './types'
import { checkBox, checkLabels, idIn, nativeCall } from './validate'

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

export async function meshSegment(labels: LabelVolume, id: number, options: MeshOptions = {}): Promise<SegmentMesh> {
  checkLabels(labels)
  const box = checkBox(options.box ?? { start: [0, 0, 0], stop: labels.shape }, labels.shape, 'mesh')
  const voxelSize: Vec3 = options.voxelSize ?? [1, 1, 1]
  return nativeCall(() =>
    native().mesh(labels.data, labels.shape, idIn(labels.data, id), box, {
      voxelSize,
      smooth: options.smooth ?? 20,
      cluster: options.simplify ?? Math.max(...voxelSize),
    }),
  )
}
