/**
 * Where things are on screen. All 2D views share one position (the crosshair, always at the
 * centre of every slice view) and one zoom in nm per CSS pixel, as in Neuroglancer; voxel
 * sizes turn voxel coordinates into nm, so anisotropic volumes keep their true aspect.
 * Vectors are (z, y, x) like the rest of the contract; voxel coordinates are continuous, the
 * voxel with index i covering [i, i + 1).
 */
import type { Box3, Vec3 } from '../../../shared/types'

export type SliceView = 'xy' | 'xz' | 'yz'
export type ViewId = SliceView | '3d'
export const SLICE_VIEWS: readonly SliceView[] = ['xy', 'xz', 'yz']

type Axis = 0 | 1 | 2

/** Horizontal, vertical and normal axis of each slice view, as indices into (z, y, x). */
export const AXES: Record<SliceView, { h: Axis; v: Axis; n: Axis }> = {
  xy: { h: 2, v: 1, n: 0 },
  xz: { h: 2, v: 0, n: 1 },
  yz: { h: 1, v: 0, n: 2 },
}

/** The view for the axis a key names: x → YZ (looking along x), y → XZ, z → XY. */
export const VIEW_ALONG: Record<'x' | 'y' | 'z', SliceView> = { x: 'yz', y: 'xz', z: 'xy' }

export interface Camera2D {
  /** Centre of every slice view, in voxels (z, y, x). */
  position: Vec3
  /** nm per CSS pixel. */
  scale: number
  /** nm per voxel (z, y, x). */
  voxelSize: Vec3
}

/** The voxel coordinate under CSS pixel (px, py) of a `width` x `height` view. */
export function screenToVoxel(view: SliceView, cam: Camera2D, px: number, py: number, width: number, height: number): Vec3 {
  const { h, v } = AXES[view]
  const out: Vec3 = [...cam.position]
  out[h] += ((px - width / 2) * cam.scale) / cam.voxelSize[h]
  out[v] += ((py - height / 2) * cam.scale) / cam.voxelSize[v]
  return out
}

/** CSS pixel of a voxel coordinate in a `width` x `height` view (its normal coordinate is ignored). */
export function voxelToScreen(view: SliceView, cam: Camera2D, voxel: Vec3, width: number, height: number): [number, number] {
  const { h, v } = AXES[view]
  return [
    width / 2 + ((voxel[h] - cam.position[h]) * cam.voxelSize[h]) / cam.scale,
    height / 2 + ((voxel[v] - cam.position[v]) * cam.voxelSize[v]) / cam.scale,
  ]
}

/** The integer voxel index holding a continuous coordinate, clamped into the volume. */
export function voxelIndex(voxel: Vec3, shape: Vec3): Vec3 {
  return [0, 1, 2].map((a) => Math.min(shape[a] - 1, Math.max(0, Math.floor(voxel[a])))) as Vec3
}

export function inside(voxel: Vec3, shape: Vec3): boolean {
  return voxel.every((c, a) => c >= 0 && c < shape[a])
}

/** The one-voxel-thick box a slice view shows (clamped to the volume), or null when none of it is inside. */
export function visibleBox(view: SliceView, cam: Camera2D, width: number, height: number, shape: Vec3): Box3 | null {
  const { n } = AXES[view]
  const a = screenToVoxel(view, cam, 0, 0, width, height)
  const b = screenToVoxel(view, cam, width, height, width, height)
  const start: Vec3 = [0, 0, 0]
  const stop: Vec3 = [0, 0, 0]
  for (let axis = 0; axis < 3; axis++) {
    const lo = axis === n ? Math.floor(cam.position[n]) : Math.floor(Math.min(a[axis], b[axis]))
    const hi = axis === n ? lo + 1 : Math.ceil(Math.max(a[axis], b[axis]))
    start[axis] = Math.max(0, lo)
    stop[axis] = Math.min(shape[axis], hi)
    if (start[axis] >= stop[axis]) return null
  }
  return { start, stop }
}

/** The zoom (nm per CSS pixel) at which a view of `width` x `height` shows the whole slice. */
export function fitScale(view: SliceView, shape: Vec3, voxelSize: Vec3, width: number, height: number): number {
  const { h, v } = AXES[view]
  return Math.max((shape[h] * voxelSize[h]) / Math.max(1, width), (shape[v] * voxelSize[v]) / Math.max(1, height)) * 1.1
}
