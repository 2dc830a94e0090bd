/** Whole-volume intensity histogram, slab by slab, counted by the native addon. */
import type { Histogram } from '../../../shared/types'
import { StudioError } from '../../../shared/errors'
import type { JobContext } from '../jobs/runner'
import { native } from '../native'
import type { VolumeSource } from './volume'

const SLAB_VOXELS = 16 * 1024 * 1024

function slabs(source: VolumeSource): Array<[number, number]> {
  const [sz, sy, sx] = source.shape
  const step = Math.max(1, Math.min(sz, Math.floor(SLAB_VOXELS / (sy * sx))))
  const out: Array<[number, number]> = []
  for (let z = 0; z < sz; z += step) out.push([z, Math.min(sz, z + step)])
  return out
}

async function valueRange(source: VolumeSource, ctx?: JobContext): Promise<[number, number]> {
  if (source.dtype === 'uint8') return [0, 255]
  if (source.dtype === 'uint16') return [0, 65535]
  let lo = Infinity
  let hi = -Infinity
  const all = slabs(source)
  for (const [i, [z0, z1]] of all.entries()) {
    const data = (await source.read({ start: [z0, 0, 0], stop: [z1, source.shape[1], source.shape[2]] })) as Float32Array
    for (let j = 0; j < data.length; j++) {
      const v = data[j]
      if (v < lo) lo = v
      if (v > hi) hi = v
    }
    ctx?.progress((0.5 * (i + 1)) / all.length, 'finding the value range')
  }
  if (!Number.isFinite(lo)) throw new StudioError('bad_input', `${source.name}: no finite values`, { file: source.path })
  return [lo, hi]
}

export async function volumeHistogram(source: VolumeSource, bins: number, ctx?: JobContext): Promise<Histogram> {
  if (source.dtype !== 'uint8' && source.dtype !== 'uint16' && source.dtype !== 'float32') {
    throw new StudioError('unsupported', `${source.name}: no intensity histogram for ${source.dtype} label volumes`)
  }
  const [min, max] = await valueRange(source, ctx)
  const counts = new Float64Array(bins)
  const all = slabs(source)
  const start = source.dtype === 'float32' ? 0.5 : 0
  for (const [i, [z0, z1]] of all.entries()) {
    const data = await source.read({ start: [z0, 0, 0], stop: [z1, source.shape[1], source.shape[2]] })
    const part = await native().histogram(data as Uint8Array | Uint16Array | Float32Array, bins, min, max)
    for (let b = 0; b < bins; b++) counts[b] += part[b]
    ctx?.progress(start + ((1 - start) * (i + 1)) / all.length, `slab ${i + 1} of ${all.length}`)
  }
  return { min, max, counts: Array.from(counts) }
}
