export interface SegmentCalls {
  /**
   * Surface mesh of the voxels of a label volume whose label is one of `labels` (a segment's
   * fragments), for the 3D view: (x, y, z) positions in nm at voxel centres (voxel i at
   * i x voxel size), unit normals, and three vertex indices per triangle.
   */
  'segment.mesh': {
    args: { volumeId: string; labels: number[] }
    result: { positions: Float32Array; normals: Float32Array; indices: Uint32Array }
  }
}
