/**
 * Writing volumes: labels, affinities and exports, in the format the file name asks for —
 * .zarr (Zarr v3, zstd), .tif/.tiff (multi-page TIFF, deflate), .h5/.hdf5/.hdf (HDF5, gzip,
 * CREMI dataset names by default), .npy. Large volumes stream slab by slab (exportVolume); the
 * result appears under its name only when complete (written as `<name>.partial`, then renamed).
 */
import { existsSync, renameSync, rmSync } from 'node:fs'
import { extname } from 'node:path'
import { StudioError } from '../../../shared/errors'
import type { DType, Vec3 } from '../../../shared/types'
import type { JobContext } from '../jobs/runner'
import { BYTES_PER_VOXEL } from './dtypes'
import { Hdf5Writer } from './hdf5'
import { NpyWriter } from './npy'
import { TiffWriter } from './tiff-writer'
import { ArrayVolume, type VolumeSource, type VoxelArray } from './volume'
import { ZarrArrayWriter } from './zarr-store'

export type WriteFormat = 'zarr' | 'tiff' | 'hdf5' | 'npy'

export interface WriteOptions {
  /** HDF5 dataset path; default volumes/raw for images, volumes/labels/neuron_ids for labels (CREMI). */
  dataset?: string
  /** Zarr/HDF5 chunk shape (same rank as the data). */
  chunkShape?: number[]
  /** nm per voxel (z, y, x), stored where the format has a place for it. */
  voxelSize?: Vec3
  /** Replace an existing file or store (default: refuse). */
  overwrite?: boolean
}

const BY_EXTENSION: Record<string, WriteFormat> = {
  '.zarr': 'zarr', '.tif': 'tiff', '.tiff': 'tiff', '.h5': 'hdf5', '.hdf5': 'hdf5', '.hdf': 'hdf5', '.npy': 'npy',
}

/** Slabs of at most this many bytes are read and written at a time by exportVolume. */
const SLAB_BYTES = 64 * 1024 * 1024

export function writeFormatOf(path: string): WriteFormat {
  const format = BY_EXTENSION[extname(path).toLowerCase()]
  if (!format) throw new StudioError('bad_input', `${path}: cannot tell the format from the name; use .zarr, .tif, .h5 or .npy`, { file: path })
  return format
}

/** Default chunks: any leading (channel) axes whole, then up to 32 x 128 x 128. */
export function defaultChunkShape(shape: number[]): number[] {
  const tail = [32, 128, 128].slice(-Math.min(3, shape.length))
  return shape.map((n, a) => Math.min(n, a < shape.length - tail.length ? n : tail[a - (shape.length - tail.length)]))
}

function isLabel(dtype: DType): boolean {
  return dtype === 'uint32' || dtype === 'uint64'
}

interface SlabSink {
  writeSlab(i0: number, data: VoxelArray): Promise<void>
  close(): Promise<void>
}

async function createSink(format: WriteFormat, file: string, shape: number[], dtype: DType, options: WriteOptions): Promise<SlabSink> {
  switch (format) {
    case 'zarr': {
      const writer = await ZarrArrayWriter.create(file, { shape, dtype, chunkShape: options.chunkShape ?? defaultChunkShape(shape), ...(options.voxelSize ? { voxelSize: options.voxelSize } : {}) })
      return {
        writeSlab: (i0, data) => writer.writeBox({ start: [i0, ...shape.slice(1).map(() => 0)], stop: [i0 + data.length / shape.slice(1).reduce((a, b) => a * b, 1), ...shape.slice(1)] }, data),
        close: () => writer.flush(),
      }
    }
    case 'tiff': {
      if (shape.length !== 3) throw new StudioError('bad_input', `${file}: TIFF export takes a 3D volume, not ${shape.join('x')}`, { file })
      return TiffWriter.create(file, { shape: shape as Vec3, dtype, ...(options.voxelSize ? { voxelSize: options.voxelSize } : {}) })
    }
    case 'hdf5':
      return Hdf5Writer.create(file, {
        dataset: options.dataset ?? (isLabel(dtype) ? 'volumes/labels/neuron_ids' : 'volumes/raw'),
        shape,
        dtype,
        ...(options.chunkShape ? { chunkShape: options.chunkShape } : {}),
        ...(options.voxelSize ? { voxelSize: options.voxelSize } : {}),
      })
    case 'npy':
      return NpyWriter.create(file, shape, dtype)
  }
}

/** Runs `fill`, then closes the sink; when `fill` fails, its error is the one reported. */
async function fillSink(sink: SlabSink, fill: () => Promise<void>): Promise<void> {
  try {
    await fill()
  } catch (err) {
    await sink.close().catch(() => undefined)
    throw err
  }
  await sink.close()
}

/** Writes into `<path>.partial` and renames it to `path` when `fill` succeeds; removes it when not. */
async function writeAtomically(path: string, options: WriteOptions, fill: (partial: string) => Promise<void>): Promise<void> {
  if (existsSync(path) && !options.overwrite) throw new StudioError('conflict', `${path}: already exists (pass overwrite to replace it)`, { file: path })
  const partial = `${path}.partial`
  rmSync(partial, { recursive: true, force: true })
  try {
    await fill(partial)
    rmSync(path, { recursive: true, force: true })
    renameSync(partial, path)
  } catch (err) {
    rmSync(partial, { recursive: true, force: true })
    throw err
  }
}

/**
 * Writes an in-memory array. Any rank for Zarr, HDF5 and .npy (e.g. affinities (3, z, y, x));
 * 3D for TIFF. uint64 labels go to TIFF as uint32 when every id fits, else fail clearly.
 */
export async function writeVolume(path: string, data: VoxelArray, shape: number[], dtype: DType, options: WriteOptions = {}): Promise<void> {
  if (data.length !== shape.reduce((a, b) => a * b, 1)) {
    throw new StudioError('bad_input', `${path}: ${data.length} values do not fill shape ${shape.join('x')}`, { file: path })
  }
  const format = writeFormatOf(path)
  if (shape.length === 3) return exportVolume(new ArrayVolume(path, shape as Vec3, dtype, data), path, options)
  await writeAtomically(path, options, async (partial) => {
    const sink = await createSink(format, partial, shape, dtype, options)
    await fillSink(sink, () => sink.writeSlab(0, data))
  })
}

/** Streams a volume (any VolumeSource) to `path`, slab by slab, with progress and cancel. */
export async function exportVolume(source: VolumeSource, path: string, options: WriteOptions = {}, ctx?: JobContext): Promise<void> {
  const format = writeFormatOf(path)
  const [depth, height, width] = source.shape
  // TIFF has no 64-bit integers that readers agree on: labels narrow to uint32 when they fit.
  const narrow = format === 'tiff' && source.dtype === 'uint64'
  const dtype: DType = narrow ? 'uint32' : source.dtype
  const voxelSize = options.voxelSize ?? source.voxelSize
  const step = Math.max(1, Math.min(depth, Math.floor(SLAB_BYTES / (height * width * BYTES_PER_VOXEL[source.dtype]))))
  await writeAtomically(path, options, async (partial) => {
    const sink = await createSink(format, partial, [depth, height, width], dtype, { ...options, ...(voxelSize ? { voxelSize } : {}) })
    await fillSink(sink, async () => {
      for (let z = 0; z < depth; z += step) {
        ctx?.throwIfCancelled()
        const z1 = Math.min(depth, z + step)
        let slab = await source.read({ start: [z, 0, 0], stop: [z1, height, width] })
        if (narrow) slab = toUint32(slab as BigUint64Array, path, z)
        await sink.writeSlab(z, slab)
        ctx?.progress(z1 / depth, `wrote ${z1} of ${depth} slices`)
      }
    })
  })
}

function toUint32(ids: BigUint64Array, path: string, z: number): Uint32Array {
  const out = new Uint32Array(ids.length)
  for (let i = 0; i < ids.length; i++) {
    const v = ids[i]
    if (v > 0xffffffffn) {
      throw new StudioError('unsupported', `${path}: label id ${v} (near slice ${z}) does not fit the 32 bits a TIFF label volume can hold; export to .h5 or .zarr`, { file: path })
    }
    out[i] = Number(v)
  }
  return out
}
