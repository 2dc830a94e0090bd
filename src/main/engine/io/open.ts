/**
 * The one way into a volume file: picks the format module by content (magic bytes, store
 * metadata) and extension, and opens it lazily. Every caller (API, CLI, tests) comes through here.
 */
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs'
import { extname, join } from 'node:path'
import { StudioError } from '../../../shared/errors'
import type { VolumeFormat, VolumeProbe } from '../../../shared/types'
import { arrayEntry } from './datasets'
import { openNpy, readNpyHeader } from './npy'
import { isZarrDir, openZarr, probeZarr } from './zarr'
import type { VolumeSource } from './volume'

export interface OpenOptions {
  /** Dataset inside a container: HDF5 path, Zarr/N5 path, OME-Zarr level ('0', '1', ...). */
  dataset?: string
  /** For arrays with a channel axis before (z, y, x), e.g. affinities (3, z, y, x): which channel. */
  channel?: number
}

/** Which format module reads `path`, from its content first and its name second. */
export function detectFormat(path: string): VolumeFormat {
  if (!existsSync(path)) throw new StudioError('not_found', `${path}: no such file or folder`, { file: path })
  const ext = extname(path).toLowerCase()
  if (statSync(path).isDirectory()) {
    if (ext === '.zarr' || isZarrDir(path)) return 'zarr'
    throw new StudioError('unsupported', `${path}: this folder is not a Zarr store`, { file: path })
  }
  const head = readHead(path, 16)
  if (head.subarray(0, 6).toString('latin1') === '\x93NUMPY') return 'npy'
  throw new StudioError(
    'unsupported',
    `${path}: not a volume format this app reads (TIFF, HDF5, Zarr, N5, .npy, or a folder of TIFF/PNG/JPEG slices)`,
    { file: path },
  )
}

function readHead(path: string, n: number): Buffer {
  const fd = openSync(path, 'r')
  try {
    const buf = Buffer.alloc(n)
    const got = readSync(fd, buf, 0, n, 0)
    return buf.subarray(0, got)
  } finally {
    closeSync(fd)
  }
}

/** Opens the volume at `path` (a file, or a folder for Zarr, N5 and slice stacks). */
export async function openVolume(path: string, options: OpenOptions = {}): Promise<VolumeSource> {
  const format = detectFormat(path)
  switch (format) {
    case 'npy':
      return openNpy(path, options)
    case 'zarr':
      return openZarr(path, options)
    default:
      throw new StudioError('unsupported', `${path}: ${format} is not readable yet`, { file: path })
  }
}

/** What `path` holds: its format and every dataset in it, for a picker or `tokenunify info`. */
export async function probeVolume(path: string): Promise<VolumeProbe> {
  const format = detectFormat(path)
  switch (format) {
    case 'zarr':
      return probeZarr(path)
    case 'npy': {
      const h = readNpyHeader(path)
      return { path, format, datasets: [arrayEntry('', h.shape, h.dtype)], defaultDataset: '' }
    }
    default:
      throw new StudioError('unsupported', `${path}: ${format} is not readable yet`, { file: join(path) })
  }
}
