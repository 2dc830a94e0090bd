/**
 * N5 containers (folders with attributes.json; datasets as nested folders of blocks). No N5
 * library exists for JavaScript and zarrita does not read N5, so this module reads the small
 * block header itself (mode, dimensions, then big-endian data in x-fastest order, which is
 * (z, y, x) C order) and leaves decompression to Node's zlib (gzip) and zarrita's codecs
 * (blosc, zstd). Missing blocks read as zeros, as N5 defines.
 */
import { existsSync, readFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { promisify } from 'node:util'
import { gunzip as zlibGunzip, inflate as zlibInflate } from 'node:zlib'
import * as zarr from 'zarrita'
import { StudioError } from '../../../shared/errors'
import type { DatasetEntry, Vec3, VolumeProbe } from '../../../shared/types'
import type { CachedChunk } from './cache'
import { ChunkedVolume, type VolumeMeta } from './chunked'
import { arrayEntry, chooseDataset, defaultDataset, findStoreArrays, trimSlashes } from './datasets'
import { fromBytes, storedType, type StoredType } from './dtypes'
import { allocate, mapAxes, type AxisMap, type VolumeSource, type VoxelArray } from './volume'

interface Compression {
  type: string
  useZlib?: boolean
  [key: string]: unknown
}

interface N5Attributes {
  /** Sizes in N5 (x, y, z) order. */
  dimensions?: number[]
  blockSize?: number[]
  dataType?: string
  compression?: Compression
  /** N5 before 1.0 named the compression only. */
  compressionType?: string
  resolution?: number[]
  pixelResolution?: { dimensions?: number[]; unit?: string }
  [key: string]: unknown
}

const gunzip = promisify(zlibGunzip)
const inflate = promisify(zlibInflate)
const NM_PER_UNIT: Record<string, number> = { nm: 1, nanometer: 1, um: 1000, µm: 1000, micrometer: 1000, micron: 1000 }

function readAttributes(dir: string): N5Attributes | undefined {
  const file = join(dir, 'attributes.json')
  if (!existsSync(file)) return undefined
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as N5Attributes
  } catch (err) {
    throw new StudioError('bad_format', `${file}: not valid JSON: ${(err as Error).message}`, { file })
  }
}

const isDataset = (a: N5Attributes | undefined): a is N5Attributes & { dimensions: number[]; blockSize: number[]; dataType: string } =>
  Array.isArray(a?.dimensions) && Array.isArray(a?.blockSize) && typeof a?.dataType === 'string'

/** (z, y, x) nm from `pixelResolution` (n5-viewer) or `resolution` (nm), both stored (x, y, z). */
function voxelSizeOf(attrs: N5Attributes): Vec3 | undefined {
  const pr = attrs.pixelResolution
  const factor = pr ? NM_PER_UNIT[pr.unit ?? ''] : 1
  const v = pr ? pr.dimensions : attrs.resolution
  if (!factor || !Array.isArray(v) || v.length < 3 || !v.every((n) => typeof n === 'number' && n > 0)) return undefined
  return [v[2] * factor, v[1] * factor, v[0] * factor]
}

function findDatasets(root: string) {
  return findStoreArrays(root, (dir) => {
    const attrs = readAttributes(dir)
    return isDataset(attrs) ? attrs : undefined
  }).map(({ path, meta }) => ({ path, attrs: meta }))
}

const DECODABLE = new Set(['raw', 'gzip', 'blosc', 'zstd'])

function compressionOf(attrs: N5Attributes): Compression {
  return attrs.compression ?? { type: attrs.compressionType ?? 'raw' }
}

export async function probeN5(root: string): Promise<VolumeProbe> {
  const datasets: DatasetEntry[] = findDatasets(root).map(({ path, attrs }) => {
    const entry = arrayEntry(path, [...attrs.dimensions].reverse(), attrs.dataType, [...attrs.blockSize].reverse(), voxelSizeOf(attrs))
    const compression = compressionOf(attrs).type
    if (entry.openable && !DECODABLE.has(compression)) Object.assign(entry, { openable: false, note: `N5 compression '${compression}' is not supported` })
    return entry
  })
  const probe: VolumeProbe = { path: root, format: 'n5', datasets }
  const preferred = defaultDataset(datasets)
  if (preferred !== undefined) probe.defaultDataset = preferred
  return probe
}

type Decompress = (bytes: Uint8Array) => Promise<Uint8Array>

async function decompressor(c: Compression, file: string): Promise<Decompress> {
  switch (c.type) {
    case 'raw':
      return async (b) => b
    case 'gzip':
      // Node's zlib: native, and on the thread pool, so blocks decode in parallel.
      return async (b) => (c.useZlib ? inflate(b) : gunzip(b))
    case 'blosc':
    case 'zstd': {
      const entry = await (zarr.registry.get(c.type) as () => Promise<{ fromConfig(config: unknown, meta: unknown): { decode(b: Uint8Array): Promise<Uint8Array> | Uint8Array } }>)()
      const codec = entry.fromConfig({}, {})
      return async (b) => codec.decode(b)
    }
    default:
      throw new StudioError('unsupported', `${file}: N5 compression '${c.type}' is not supported (supported: ${[...DECODABLE].join(', ')})`, { file })
  }
}

class N5Volume extends ChunkedVolume {
  constructor(
    meta: VolumeMeta,
    private readonly dir: string,
    private readonly dataType: string,
    private readonly decompress: Decompress,
    private readonly axes: AxisMap,
    private readonly stored: StoredType,
  ) {
    super(meta)
  }

  protected async loadChunk(index: Vec3): Promise<CachedChunk> {
    // Block path: N5 (x, y, z, then any leading axes reversed) grid position.
    const grid = this.axes.planar ? [index[2], index[1]] : [index[2], index[1], index[0], ...[...this.axes.lead].reverse()]
    const file = join(this.dir, ...grid.map(String))
    const need = index.map((i, a) => Math.min(this.chunkShape[a], this.shape[a] - i * this.chunkShape[a])) as Vec3
    let bytes: Uint8Array
    try {
      bytes = await readFile(file)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
      return { data: allocate(this.stored.dtype, need[0] * need[1] * need[2]), dims: need }
    }
    return this.parseBlock(file, bytes)
  }

  private async parseBlock(file: string, bytes: Uint8Array): Promise<CachedChunk> {
    const bad = (why: string) => new StudioError('bad_format', `${file}: not a readable N5 block: ${why}`, { file })
    if (bytes.length < 4) throw bad('shorter than its header')
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    const mode = view.getUint16(0)
    const ndim = view.getUint16(2)
    if (mode > 1) throw bad(`block mode ${mode} is not supported`)
    const at = 4 + 4 * ndim + (mode === 1 ? 4 : 0)
    if (bytes.length < at) throw bad('truncated header')
    const size = Array.from({ length: ndim }, (_, i) => view.getUint32(4 + 4 * i))
    const count = size.reduce((a, b) => a * b, 1)
    let raw: Uint8Array
    try {
      raw = await this.decompress(bytes.subarray(at))
    } catch (err) {
      throw bad(`cannot decompress: ${(err as Error).message}`)
    }
    const typed = fromBytes(raw, this.dataType, true, file)
    if (typed.length < count) throw bad(`holds ${typed.length} values, its header says ${size.join('x')}`)
    const data = (typed.length === count ? typed : typed.subarray(0, count)) as VoxelArray
    // N5 sizes are (x, y, z, ...); any leading axes are singletons inside one block.
    const dims: Vec3 = this.axes.planar ? [1, size[1], size[0]] : [size[2], size[1], size[0]]
    return { data: this.stored.convert ? this.stored.convert(data) : data, dims }
  }
}

export async function openN5(root: string, options: { dataset?: string; channel?: number } = {}): Promise<VolumeSource> {
  const own = readAttributes(root)
  let path = ''
  if (!isDataset(own)) path = chooseDataset(await probeN5(root), options.dataset)
  else if (options.dataset !== undefined && trimSlashes(options.dataset) !== '') {
    throw new StudioError('not_found', `${root}: is a single N5 dataset; it has no dataset '${options.dataset}'`, { file: root })
  }
  const dir = path === '' ? root : join(root, path)
  const attrs = readAttributes(dir) as N5Attributes & { dimensions: number[]; blockSize: number[]; dataType: string }
  const stored = storedType(attrs.dataType, dir)
  const axes = mapAxes([...attrs.dimensions].reverse(), dir, options.channel)
  const block = [...attrs.blockSize].reverse()
  if (block.slice(0, -3).some((b) => b !== 1)) throw new StudioError('unsupported', `${dir}: N5 blocks spanning several channels are not supported`, { file: dir })
  const decompress = await decompressor(compressionOf(attrs), dir)
  const voxelSize = voxelSizeOf(attrs)
  const meta: VolumeMeta = {
    name: path === '' ? basename(root) : `${basename(root)}/${path}`,
    path: root,
    format: 'n5',
    shape: axes.shape,
    dtype: stored.dtype,
    chunkShape: (axes.planar ? [1, ...block] : block.slice(-3)) as Vec3,
    ...(path === '' ? {} : { dataset: path }),
    ...(voxelSize ? { voxelSize } : {}),
  }
  return new N5Volume(meta, dir, attrs.dataType, decompress, axes, stored)
}
