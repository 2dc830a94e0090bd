import { parseArgs } from 'node:util'
import { StudioError } from '../../../shared/errors'
import type { DatasetEntry, Vec3, VolumeProbe } from '../../../shared/types'
import { openVolume, probeVolume, splitDatasetPath } from '../../engine/io/open'
import type { Command } from '../command'

export const info: Command = {
  name: 'info',
  summary: 'describe a volume file: format, shape, dtype, voxel size, chunks, datasets',
  usage: `tokenunify info <path>[:dataset] [--dataset D] [--channel C] [--json]

Reads only metadata (and nothing of the voxels). <path> is a TIFF/BigTIFF, a folder of
TIFF/PNG/JPEG slices, an HDF5 file, a Zarr or OME-Zarr store, an N5 container or a .npy file.

  :dataset, --dataset D  the array inside an HDF5/Zarr/N5 container (e.g. volumes/raw), an
                         OME-Zarr level (0, 1, ...) or an ImageJ hyperstack channel (c1)
  --channel C            for arrays with a channel axis before (z, y, x), e.g. affinities
  --json                 machine-readable output`,
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      options: { dataset: { type: 'string' }, channel: { type: 'string' }, json: { type: 'boolean', default: false } },
      allowPositionals: true,
    })
    if (positionals.length !== 1) throw new StudioError('bad_input', 'give one path (see tokenunify info --help)')
    const split = splitDatasetPath(positionals[0])
    const dataset = values.dataset ?? split.dataset
    const channel = values.channel === undefined ? undefined : Number(values.channel)
    if (channel !== undefined && !(Number.isInteger(channel) && channel >= 0)) throw new StudioError('bad_input', `--channel: not a channel index: ${values.channel}`)

    const probe = await probeVolume(split.path)
    // Open the named (or default) dataset when there is one to open; a container with several
    // volumes and none named is still described, with its datasets.
    const chosen = dataset ?? probe.defaultDataset
    const needsChannel = (d?: DatasetEntry) => d !== undefined && d.shape.slice(0, -3).some((n) => n > 1)
    const entry = probe.datasets.find((d) => d.path === chosen)
    const volume =
      chosen === undefined || (channel === undefined && needsChannel(entry))
        ? undefined
        : await openVolume(split.path, { ...(dataset !== undefined ? { dataset } : {}), ...(channel !== undefined ? { channel } : {}) })
    try {
      const stored = probe.datasets.find((d) => d.path === (volume?.dataset ?? ''))
      const opened = volume && {
        dataset: volume.dataset ?? '',
        shape: volume.shape,
        dtype: volume.dtype,
        /** How the file stores it (absent: contiguous), and the blocks the app reads it in. */
        storedChunks: stored?.chunkShape ?? null,
        readChunks: volume.chunkShape,
        ...(volume.voxelSize ? { voxelSize: volume.voxelSize } : {}),
        ...(channel !== undefined ? { channel } : {}),
      }
      if (values.json) {
        process.stdout.write(`${JSON.stringify({ ...probe, volume: opened ?? null }, null, 2)}\n`)
        return 0
      }
      process.stdout.write(describe(probe, opened, entry))
      return 0
    } finally {
      await volume?.close()
    }
  },
}

const dims = (v: readonly number[]) => v.join(' x ')
const nm = (v: Vec3) => `${v.map((n) => +n.toPrecision(6)).join(' x ')} nm (z, y, x)`

interface Opened {
  dataset: string
  shape: Vec3
  dtype: string
  storedChunks: number[] | null
  readChunks: Vec3
  voxelSize?: Vec3
  channel?: number
}

function describe(probe: VolumeProbe, opened: Opened | undefined, entry: DatasetEntry | undefined): string {
  const lines = [`${probe.path}`, `  format      ${probe.format}`]
  if (opened) {
    if (opened.dataset !== '') lines.push(`  dataset     ${opened.dataset}${opened.channel !== undefined ? `, channel ${opened.channel}` : ''}`)
    lines.push(`  shape       ${dims(opened.shape)} (z, y, x)`, `  dtype       ${opened.dtype}`)
    lines.push(`  voxel size  ${opened.voxelSize ? nm(opened.voxelSize) : 'not stated in the file'}`)
    const stored = opened.storedChunks ? dims(opened.storedChunks) : 'contiguous'
    const read = dims(opened.readChunks)
    lines.push(`  chunks      ${stored}${stored === read ? '' : ` (read in blocks of ${read})`}`)
  } else if (entry) {
    lines.push(`  array       ${dims(entry.shape)} ${entry.dtype}${entry.note ? `, ${entry.note}` : ''}`)
  }
  const named = probe.datasets.filter((d) => d.path !== '')
  if (named.length > 0) {
    lines.push(`  datasets${opened || entry ? '' : ' (several volumes: name one with --dataset or <path>:<dataset>)'}`)
    const width = Math.max(...named.map((d) => d.path.length))
    for (const d of named) {
      const mark = d.path === opened?.dataset ? '*' : d.path === probe.defaultDataset ? '>' : ' '
      const parts = [`${d.shape.length > 0 ? dims(d.shape) : 'scalar'} ${d.dtype}`]
      if (d.chunkShape) parts.push(`chunks ${dims(d.chunkShape)}`)
      if (d.voxelSize) parts.push(nm(d.voxelSize))
      if (d.note) parts.push(d.note)
      lines.push(`   ${mark} ${d.path.padEnd(width)}  ${parts.join(', ')}`)
    }
  }
  return `${lines.join('\n')}\n`
}
