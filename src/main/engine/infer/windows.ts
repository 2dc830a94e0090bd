/**
 * Where the windows of a sliding-window inference go and how much each voxel of a window counts,
 * as in the official MONAI path (../shared/design/TOKENUNIFY.md section 6a).
 */
import { StudioError } from '../../../shared/errors'
import type { Vec3 } from '../../../shared/types'

/**
 * Window starts along one axis: every int(roi * (1 - overlap)) voxels until a window reaches the
 * end; the last one is moved back to end exactly at `size`. `size` must be at least `roi`
 * (smaller volumes are padded first).
 */
export function windowStarts(size: number, roi: number, overlap: number): number[] {
  if (size < roi) throw new StudioError('internal', `windowStarts: size ${size} is smaller than the window ${roi}`)
  const interval = size === roi ? roi : Math.max(1, Math.floor(roi * (1 - overlap)))
  const starts: number[] = []
  for (let i = 0; ; i++) {
    const start = i * interval
    starts.push(Math.min(start, size - roi))
    if (start + roi >= size) return starts
  }
}

/**
 * The Gaussian importance map over a (z, y, x) window: the product over axes of
 * exp(-x^2 / (2 sigma^2)) with x in {-(n-1)/2 .. (n-1)/2} and sigma = sigmaScale * n, not
 * normalised (peak 1 for odd sides), clamped below at 1e-3.
 */
export function gaussianImportance(roi: Vec3, sigmaScale = 0.125): Float32Array {
  const axes = roi.map((n) => {
    const sigma = sigmaScale * n
    return Float64Array.from({ length: n }, (_, i) => {
      const x = i - (n - 1) / 2
      return Math.exp((x * x) / (-2 * sigma * sigma))
    })
  })
  const [gz, gy, gx] = axes
  const map = new Float32Array(roi[0] * roi[1] * roi[2])
  let i = 0
  for (let z = 0; z < roi[0]; z++) for (let y = 0; y < roi[1]; y++) for (let x = 0; x < roi[2]; x++) map[i++] = Math.max(1e-3, gz[z] * gy[y] * gx[x])
  return map
}

export interface WindowPlan {
  /** The volume padded to at least one window per axis; padding is split evenly, extra at the end. */
  padded: Vec3
  padBefore: Vec3
  /** Window origins in padded coordinates, z-major. */
  origins: Vec3[]
}

export function planWindows(shape: Vec3, roi: Vec3, overlap: number): WindowPlan {
  if (!(overlap >= 0 && overlap < 1)) throw new StudioError('bad_input', `overlap must be in [0, 1), got ${overlap}`)
  const padded = shape.map((n, a) => Math.max(n, roi[a])) as Vec3
  const padBefore = shape.map((n, a) => Math.floor((padded[a] - n) / 2)) as Vec3
  const [zs, ys, xs] = padded.map((n, a) => windowStarts(n, roi[a], overlap))
  const origins: Vec3[] = []
  for (const z of zs) for (const y of ys) for (const x of xs) origins.push([z, y, x])
  return { padded, padBefore, origins }
}
