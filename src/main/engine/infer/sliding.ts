/**
 * Sliding-window inference over a whole volume: windows of the model's patch with overlap,
 * several per run, blended with a Gaussian importance map, and written to a sink plane by plane
 * as soon as no later window touches them, so memory holds only the planes in flight.
 */
import { StudioError } from '../../../shared/errors'
import type { Vec3 } from '../../../shared/types'
import type { VolumeSource, VoxelArray } from '../io/volume'
import type { JobContext } from '../jobs/runner'
import type { RunnableModel } from '../model/runnable'
import type { AffinitySink } from './sinks'
import { gaussianImportance, planWindows } from './windows'

export interface InferOptions {
  /** Fraction of a window shared with its neighbour along each axis; default 0.25. */
  overlap?: number
  /** Gaussian sigma as a fraction of the window side; default 0.125 (MONAI's). */
  sigmaScale?: number
}

export interface InferStats {
  windows: number
  runs: number
  seconds: number
}

/**
 * The network's input scale: raw uint8 / 255 as in training; wider integers are clipped to 255
 * first (the official wafer loader does this); float volumes are taken as already in [0, 1].
 */
function normalise(v: VoxelArray): Float32Array {
  if (v instanceof Float32Array) return v
  if (v instanceof BigUint64Array) throw new StudioError('unsupported', 'inference needs an image volume, not uint64 labels')
  const out = new Float32Array(v.length)
  for (let i = 0; i < v.length; i++) out[i] = Math.min(v[i], 255) / 255
  return out
}

export async function inferVolume(
  source: VolumeSource,
  model: RunnableModel,
  sink: AffinitySink,
  options: InferOptions = {},
  ctx?: JobContext,
): Promise<InferStats> {
  const started = performance.now()
  const roi = model.patch
  const shape = source.shape
  const plan = planWindows(shape, roi, options.overlap ?? 0.25)
  const [, py, px] = plan.padded
  const [rz, ry, rx] = roi
  const windowSize = rz * ry * rx
  const importance = gaussianImportance(roi, options.sigmaScale)
  const total = plan.origins.length

  // Planes in flight (padded z -> 3 channel sums and the weight sum, each py * px).
  const planes = new Map<number, Float32Array>()
  const plane = (z: number) => planes.get(z) ?? planes.set(z, new Float32Array(4 * py * px)).get(z)!
  let flushed = 0 // padded planes before this one are written
  const flushBelow = async (end: number) => {
    const [sz, sy, sx] = shape
    const [bz, by, bx] = plan.padBefore
    const zEnd = Math.min(end - bz, sz)
    const z0 = Math.max(flushed - bz, 0)
    if (zEnd > z0) {
      const n = zEnd - z0
      const out = new Float32Array(3 * n * sy * sx)
      for (let z = 0; z < n; z++) {
        const p = planes.get(z0 + z + bz)!
        const wOff = 3 * py * px
        for (let y = 0; y < sy; y++) {
          const row = (y + by) * px + bx
          for (let c = 0; c < 3; c++) {
            const dst = ((c * n + z) * sy + y) * sx
            const src = c * py * px + row
            for (let x = 0; x < sx; x++) out[dst + x] = p[src + x] / p[wOff + row + x]
          }
        }
      }
      await sink.write(z0, n, out)
    }
    for (let z = flushed; z < end; z++) planes.delete(z)
    flushed = Math.max(flushed, end)
  }

  // Input slabs (rz padded planes from a window row's z), read once per row.
  let slab: { z: number; data: Float32Array } | undefined
  const readSlab = async (z: number) => {
    if (slab?.z === z) return slab.data
    const [sz, sy, sx] = shape
    const [bz, by, bx] = plan.padBefore
    const data = new Float32Array(rz * py * px)
    const from = Math.max(z - bz, 0)
    const to = Math.min(z + rz - bz, sz)
    if (to > from) {
      const voxels = normalise(await source.read({ start: [from, 0, 0], stop: [to, sy, sx] }))
      for (let k = 0; k < to - from; k++) {
        for (let y = 0; y < sy; y++) {
          const dst = ((from + bz - z + k) * py + y + by) * px + bx
          data.set(voxels.subarray((k * sy + y) * sx, (k * sy + y + 1) * sx), dst)
        }
      }
    }
    slab = { z, data }
    return data
  }

  const batchInput = new Float32Array(model.batch * windowSize)
  let runs = 0
  for (let first = 0; first < total; first += model.batch) {
    ctx?.throwIfCancelled()
    const origins = plan.origins.slice(first, first + model.batch)
    batchInput.fill(0)
    for (let b = 0; b < origins.length; b++) {
      const [oz, oy, ox] = origins[b]
      const data = await readSlab(oz)
      for (let z = 0; z < rz; z++) {
        for (let y = 0; y < ry; y++) {
          const src = (z * py + oy + y) * px + ox
          batchInput.set(data.subarray(src, src + rx), b * windowSize + (z * ry + y) * rx)
        }
      }
    }
    const out = await model.run(batchInput)
    runs++
    if (total === 1) {
      // One window covers the volume: its output, cropped, is the answer (no blending rounding).
      await sink.write(0, shape[0], crop(out, roi, plan.padBefore, shape))
      ctx?.progress(1, `window 1/1`)
      return { windows: 1, runs, seconds: (performance.now() - started) / 1000 }
    }
    for (let b = 0; b < origins.length; b++) accumulate(out.subarray(b * 3 * windowSize, (b + 1) * 3 * windowSize), origins[b])
    const next = plan.origins[first + model.batch]
    await flushBelow(next ? next[0] : plan.padded[0])
    ctx?.progress((first + origins.length) / total, `window ${first + origins.length}/${total}`)
  }
  return { windows: total, runs, seconds: (performance.now() - started) / 1000 }

  function accumulate(pred: Float32Array, [oz, oy, ox]: Vec3): void {
    const wOff = 3 * py * px
    for (let z = 0; z < rz; z++) {
      const p = plane(oz + z)
      for (let y = 0; y < ry; y++) {
        const row = (oy + y) * px + ox
        const imp = (z * ry + y) * rx
        for (let x = 0; x < rx; x++) p[wOff + row + x] += importance[imp + x]
        for (let c = 0; c < 3; c++) {
          const src = ((c * rz + z) * ry + y) * rx
          const dst = c * py * px + row
          for (let x = 0; x < rx; x++) p[dst + x] += importance[imp + x] * pred[src + x]
        }
      }
    }
  }
}

/** The volume's part of one window's output (3, rz, ry, rx) -> (3, sz, sy, sx). */
function crop(pred: Float32Array, roi: Vec3, before: Vec3, shape: Vec3): Float32Array {
  const [rz, ry, rx] = roi
  const [sz, sy, sx] = shape
  const out = new Float32Array(3 * sz * sy * sx)
  for (let c = 0; c < 3; c++) {
    for (let z = 0; z < sz; z++) {
      for (let y = 0; y < sy; y++) {
        const src = ((c * rz + z + before[0]) * ry + y + before[1]) * rx + before[2]
        out.set(pred.subarray(src, src + sx), ((c * sz + z) * sy + y) * sx)
      }
    }
  }
  return out
}
