/**
 * Affinity and label volumes from files, through io/open (every format the app reads, and .npy).
 * Segmentation works on whole arrays in memory; these read them.
 */
import { StudioError } from '../../../shared/errors'
import type { Vec3 } from '../../../shared/types'
import { openVolume } from '../io/open'
import type { VolumeSource } from '../io/volume'
import type { Affinities, LabelVolume } from './types'
import { asLabelArray } from './validate'

async function readAll(source: VolumeSource) {
  try {
    return await source.read({ start: [0, 0, 0], stop: source.shape })
  } finally {
    await source.close()
  }
}

/** Affinities (3, z, y, x), uint8 or float32 (float64 arrives as float32), with the file's voxel size. */
export async function readAffinities(path: string, dataset?: string): Promise<Affinities & { voxelSize?: Vec3 }> {
  const channels = []
  for (let c = 0; c < 3; c++) {
    const source = await openVolume(path, { channel: c, ...(dataset === undefined ? {} : { dataset }) })
    channels.push({ source, data: await readAll(source) })
  }
  const [{ source }] = channels
  const n = channels[0].data.length
  const data = source.dtype === 'uint8' ? new Uint8Array(3 * n) : source.dtype === 'float32' ? new Float32Array(3 * n) : null
  if (!data) throw new StudioError('bad_input', `${path}: affinities must be uint8 or float32, not ${source.dtype}`, { file: path })
  channels.forEach((c, i) => data.set(c.data as Uint8Array & Float32Array, i * n))
  return { data, shape: source.shape, ...(source.voxelSize ? { voxelSize: source.voxelSize } : {}) }
}

/** A label volume (uint32/uint64; uint8/uint16 widened to uint32), with the file's voxel size. */
export async function readLabels(path: string, dataset?: string): Promise<LabelVolume & { voxelSize?: Vec3 }> {
  const source = await openVolume(path, dataset === undefined ? {} : { dataset })
  const data = asLabelArray(await readAll(source), path)
  return { data, shape: source.shape, ...(source.voxelSize ? { voxelSize: source.voxelSize } : {}) }
}
