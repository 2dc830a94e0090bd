/**
 * The region a fill covers: the voxels connected to the start voxel that carry its label, in the
 * slice of a view (4-connected) or in 3D (6-connected), among the labels the views have loaded.
 * Like the brush, it only works out which voxels a gesture means; the edit is the engine's.
 */
import type { Vec3 } from '../../../shared/types'

export interface FillRegion {
  label: number
  /** Linear (z, y, x) indices of the region. */
  indices: number[]
  /** The region reached voxels that are not loaded, or the size limit: it may go on further. */
  truncated: boolean
}

/**
 * @param axes the axes (0 z, 1 y, 2 x) the fill may move along: two for a slice, three for 3D
 * @param labelAt the label of an integer voxel, or null where nothing is loaded
 */
export function fillRegion(start: Vec3, axes: number[], shape: Vec3, labelAt: (v: Vec3) => number | null, limit: number): FillRegion {
  const label = labelAt(start)
  if (label === null) return { label: 0, indices: [], truncated: true }
  const index = (v: Vec3) => (v[0] * shape[1] + v[1]) * shape[2] + v[2]
  const seen = new Set<number>([index(start)])
  const stack: Vec3[] = [start]
  const indices: number[] = []
  let truncated = false
  while (stack.length > 0) {
    const v = stack.pop() as Vec3
    indices.push(index(v))
    if (indices.length >= limit) {
      truncated = true
      break
    }
    for (const a of axes) {
      for (const step of [-1, 1]) {
        const n: Vec3 = [...v]
        n[a] += step
        if (n[a] < 0 || n[a] >= shape[a]) continue
        const i = index(n)
        if (seen.has(i)) continue
        seen.add(i)
        const l = labelAt(n)
        if (l === null) truncated = true
        else if (l === label) stack.push(n)
      }
    }
  }
  return { label, indices, truncated }
}
