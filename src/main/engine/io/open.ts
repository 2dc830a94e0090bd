/**
 * The one way into a volume file: picks the format module by content (magic bytes, store
 * metadata) and extension, and opens it lazily. Every caller (API, CLI, tests) comes through here.
 */
import { existsSync, statSync } from 'node:fs'
import { extname, join, resolve } from 'node:path'
import { StudioError } from '../../../shared/errors'
import type { VolumeFormat, VolumeProbe } from '../../../shared/types'
import { arrayEntry } from './datasets'
import { readHead } from './files'
import { openHdf5, probeHdf5 } from './hdf5'
import { openN5, probeN5 } from './n5'
import { openNpy, readNpyHeader } from './npy'
import { openSlices, probeSlices } from './slices'
import { openTiff, probeTiff } from './tiff'
import { isZarrDir, openZarr, probeZarr } from './zarr'
import type { VolumeSource } from './volume'

export interface OpenOptions {
  /** Dataset inside a container: HDF5 path, Zarr/N5 path, OME-Zarr level ('0', '1', ...). */
  dataset?: string
  /** For arrays with a channel axis before (z, y, x), e.g. affinities (3, z, y, x): which channel. */
  channel?: number
}

const BY_EXTENSION: Record<string, VolumeFormat> = {
  '.tif': 'tiff', '.tiff': 'tiff', '.btf': 'tiff', '.tf8': 'tiff',
  '.h5': 'hdf5', '.hdf': 'hdf5', '.hdf5': 'hdf5',
  '.npy': 'npy',
  '.png': 'slices', '.jpg': 'slices', '.jpeg': 'slices',
}

/** Formats whose files can hold several arrays (ImageJ hyperstacks: one per channel). */
const HAS_DATASETS = new Set<VolumeFormat>(['tiff', 'hdf5', 'zarr', 'n5'])

/** Which format module reads `path`, from its content first and its name second. */
export function detectFormat(path: string): VolumeFormat {
  if (!existsSync(path)) throw new StudioError('not_found', `${path}: no such file or folder`, { file: path })
  const ext = extname(path).toLowerCase()
  if (statSync(path).isDirectory()) {
    if (ext === '.zarr' || isZarrDir(path)) return 'zarr'
    if (ext === '.n5' || existsSync(join(path, 'attributes.json'))) return 'n5'
    return 'slices'
  }
  const head = readHead(path, 8)
  const magic = head.toString('latin1')
  if (/^(II\*\0|MM\0\*|II\+\0|MM\0\+)/.test(magic)) return 'tiff'
  if (magic === '\x89HDF\r\n\x1a\n') return 'hdf5'
  if (magic.startsWith('\x93NUMPY')) return 'npy'
  if (magic.startsWith('\x89PNG') || magic.startsWith('\xff\xd8\xff')) return 'slices'
  // Damaged or truncated files: the extension says which reader gives the clearest error.
  const byName = BY_EXTENSION[ext]
  if (byName) return byName
  throw new StudioError(
    'unsupported',
    `${path}: not a volume format this app reads (TIFF, HDF5, Zarr, N5, .npy, or a folder of TIFF/PNG/JPEG slices)`,
    { file: path },
  )
}

/** Opens the volume at `path` (a file, or a folder for Zarr, N5 and slice stacks). */
export async function openVolume(path: string, options: OpenOptions = {}): Promise<VolumeSource> {
  const file = resolve(path)
  const format = detectFormat(file)
  if (options.dataset !== undefined && !HAS_DATASETS.has(format)) {
    throw new StudioError('bad_input', `${file}: a ${format} volume has no datasets (got dataset '${options.dataset}')`, { file })
  }
  switch (format) {
    case 'tiff':
      return openTiff(file, options)
    case 'slices':
      return openSlices(file)
    case 'hdf5':
      return openHdf5(file, options)
    case 'zarr':
      return openZarr(file, options)
    case 'n5':
      return openN5(file, options)
    case 'npy':
      return openNpy(file, options)
  }
}

/** What `path` holds: its format and every dataset in it, for a picker or `tokenunify info`. */
export async function probeVolume(path: string): Promise<VolumeProbe> {
  const file = resolve(path)
  const format = detectFormat(file)
  switch (format) {
    case 'tiff':
      return probeTiff(file)
    case 'slices':
      return probeSlices(file)
    case 'hdf5':
      return probeHdf5(file)
    case 'zarr':
      return probeZarr(file)
    case 'n5':
      return probeN5(file)
    case 'npy': {
      const h = readNpyHeader(file)
      return { path: file, format, datasets: [arrayEntry('', h.shape, h.dtype)], defaultDataset: '' }
    }
  }
}

/**
 * `file.h5:volumes/raw` → path and dataset, for command lines. A path that exists as given is
 * taken whole (so names with colons and Windows drive letters still work).
 */
export function splitDatasetPath(arg: string): { path: string; dataset?: string } {
  if (existsSync(arg)) return { path: arg }
  for (let i = arg.lastIndexOf(':'); i > 1; i = arg.lastIndexOf(':', i - 1)) {
    const path = arg.slice(0, i)
    if (existsSync(path)) return { path, dataset: arg.slice(i + 1) }
  }
  return { path: arg }
}
