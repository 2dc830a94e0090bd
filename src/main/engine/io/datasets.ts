/** Finding and choosing a dataset inside a container (HDF5 file, Zarr or N5 store), shared by those formats. */
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { StudioError } from '../../../shared/errors'
import type { DatasetEntry, Vec3, VolumeProbe } from '../../../shared/types'
import { isSupportedStoredType } from './dtypes'

/** How deep below a store's root arrays are looked for. */
const MAX_DEPTH = 6

/**
 * The arrays of a directory store (Zarr, N5), depth first in natural name order: `arrayAt(dir)`
 * gives a folder's array metadata, or undefined for a group, whose subfolders are searched.
 */
export function findStoreArrays<T>(root: string, arrayAt: (dir: string) => T | undefined): Array<{ path: string; meta: T }> {
  const out: Array<{ path: string; meta: T }> = []
  const walk = (rel: string, depth: number) => {
    const dir = rel === '' ? root : join(root, rel)
    const meta = arrayAt(dir)
    if (meta !== undefined) {
      out.push({ path: rel, meta })
      return
    }
    if (depth >= MAX_DEPTH) return
    const names = readdirSync(dir, { withFileTypes: true })
      .filter((d) => d.isDirectory() && !d.name.startsWith('.'))
      .map((d) => d.name)
      .sort(new Intl.Collator(undefined, { numeric: true }).compare)
    for (const name of names) walk(rel === '' ? name : `${rel}/${name}`, depth + 1)
  }
  walk('', 0)
  return out
}

/** Names an image volume usually has (CREMI, ilastik, funlib, BigDataViewer conventions). */
const RAW_NAMES = ['volumes/raw', 'raw', 'data', 'volume', 'main', 'exchange/data', 's0']

/** The dataset opened when the user names none: the raw-looking one, or the only openable one. */
export function defaultDataset(entries: DatasetEntry[]): string | undefined {
  const openable = entries.filter((e) => e.openable)
  for (const name of RAW_NAMES) if (openable.some((e) => e.path === name)) return name
  return openable.length === 1 ? openable[0].path : undefined
}

/** The dataset to open: the one named (which must exist), or the default; else a clear error listing them. */
export function chooseDataset(probe: VolumeProbe, dataset: string | undefined): string {
  const file = probe.path
  const list = () =>
    probe.datasets.length === 0
      ? 'it holds no arrays'
      : `it holds: ${probe.datasets.map((d) => `${d.path} (${[d.shape.join('x'), d.dtype].filter(Boolean).join(' ')}${d.openable ? '' : `, ${d.note ?? 'not a volume'}`})`).join(', ')}`
  if (dataset !== undefined) {
    const name = trimSlashes(dataset)
    if (!probe.datasets.some((d) => d.path === name)) {
      throw new StudioError('not_found', `${file}: no dataset '${name}'; ${list()}`, { file })
    }
    return name
  }
  if (probe.defaultDataset !== undefined) return probe.defaultDataset
  const openable = probe.datasets.filter((d) => d.openable)
  if (openable.length === 0) throw new StudioError('bad_input', `${file}: no 3D dataset this app can open; ${list()}`, { file })
  throw new StudioError('bad_input', `${file}: holds several volumes, choose one as the dataset; ${list()}`, { file })
}

export function trimSlashes(path: string): string {
  return path.replace(/^\/+|\/+$/g, '')
}

/** A picker entry for an array, saying whether (and why not) it opens as a volume. */
export function arrayEntry(path: string, shape: number[], dtype: string, chunkShape?: number[], voxelSize?: Vec3): DatasetEntry {
  const entry: DatasetEntry = { path, shape, dtype, openable: true }
  if (chunkShape) entry.chunkShape = chunkShape
  if (voxelSize) entry.voxelSize = voxelSize
  const channels = shape.slice(0, -3).filter((n) => n > 1)
  if (!isSupportedStoredType(dtype)) Object.assign(entry, { openable: false, note: `data type ${dtype} is not supported` })
  else if (shape.length < 2 || shape.length > 5) Object.assign(entry, { openable: false, note: `${shape.length}D, not a volume` })
  else if (channels.length > 1) Object.assign(entry, { openable: false, note: 'more than one channel axis' })
  else if (channels.length === 1) entry.note = `${channels[0]} channels: open one with channel`
  return entry
}
