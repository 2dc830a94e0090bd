/** Choosing a dataset inside a container (HDF5 file, Zarr or N5 store), shared by those formats. */
import { StudioError } from '../../../shared/errors'
import type { DatasetEntry, Vec3, VolumeProbe } from '../../../shared/types'
import { isSupportedStoredType } from './dtypes'

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
