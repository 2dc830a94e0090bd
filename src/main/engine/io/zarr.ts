/**
 * Zarr v2 and v3 stores (zarrita), including OME-Zarr multiscales, whose every level is a dataset
 * ('0', '1', ...). Missing chunks read as the array's fill value, as the Zarr spec says.
 */
import { existsSync, readFileSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import FileSystemStore from '@zarrita/storage/fs'
import * as zarr from 'zarrita'
import { StudioError } from '../../../shared/errors'
import type { DatasetEntry, Vec3, VolumeProbe } from '../../../shared/types'
import type { CachedChunk } from './cache'
import { ChunkedVolume, type VolumeMeta } from './chunked'
import { arrayEntry, chooseDataset, defaultDataset, findStoreArrays, trimSlashes } from './datasets'
import { storedType, type StoredType } from './dtypes'
import { mapAxes, type AxisMap, type VolumeSource, type VoxelArray } from './volume'

type ZArray = zarr.Array<zarr.DataType, FileSystemStore>

/** How deep the dataset picker looks for arrays below the store root. */

/** Whether `dir` is (part of) a Zarr store: it holds Zarr metadata. */
export function isZarrDir(dir: string): boolean {
  return ['zarr.json', '.zarray', '.zgroup', '.zattrs'].some((f) => existsSync(join(dir, f)))
}

interface NodeMeta {
  kind: 'array' | 'group'
  version: 2 | 3
  attrs: Record<string, unknown>
  /** Codec names as zarrita's registry knows them (v2 compressors and filters as numcodecs.<id>). */
  codecs: string[]
}

function readJson(file: string): Record<string, unknown> | undefined {
  if (!existsSync(file)) return undefined
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>
  } catch (err) {
    throw new StudioError('bad_format', `${file}: not valid JSON: ${(err as Error).message}`, { file })
  }
}

function v3Codecs(codecs: unknown): string[] {
  if (!Array.isArray(codecs)) return []
  return codecs.flatMap((c: { name?: string; configuration?: { codecs?: unknown; index_codecs?: unknown } }) =>
    c.name === 'sharding_indexed'
      ? [...v3Codecs(c.configuration?.codecs), ...v3Codecs(c.configuration?.index_codecs)]
      : [String(c.name)],
  )
}

/** The node at `dir` from its metadata files, or undefined when `dir` holds none. */
function nodeMeta(dir: string): NodeMeta | undefined {
  const v3 = readJson(join(dir, 'zarr.json'))
  if (v3) {
    const kind = v3.node_type === 'array' ? 'array' : 'group'
    return { kind, version: 3, attrs: (v3.attributes ?? {}) as Record<string, unknown>, codecs: kind === 'array' ? v3Codecs(v3.codecs) : [] }
  }
  const attrs = readJson(join(dir, '.zattrs')) ?? {}
  const array = readJson(join(dir, '.zarray'))
  if (array) {
    const ids = [...((array.filters ?? []) as Array<{ id: string }>), ...(array.compressor ? [array.compressor as { id: string }] : [])]
    return { kind: 'array', version: 2, attrs, codecs: ids.map((f) => `numcodecs.${f.id}`) }
  }
  if (existsSync(join(dir, '.zgroup')) || existsSync(join(dir, '.zattrs'))) return { kind: 'group', version: 2, attrs, codecs: [] }
  return undefined
}

/** The first codec of an array that zarrita's registry lacks (named without numcodecs.). */
function unknownCodec(meta: NodeMeta | undefined): string | undefined {
  return meta?.codecs.find((c) => !zarr.registry.has(c))?.replace(/^numcodecs\./, '')
}

interface Multiscale {
  datasets: Array<{ path: string; coordinateTransformations?: Transform[] }>
  axes?: Array<string | { name: string; type?: string; unit?: string }>
  coordinateTransformations?: Transform[]
}
type Transform = { type: string; scale?: number[] }

function multiscalesOf(attrs: Record<string, unknown>): Multiscale[] {
  const ome = attrs.ome as { multiscales?: Multiscale[] } | undefined
  const list = ome?.multiscales ?? (attrs.multiscales as Multiscale[] | undefined)
  return Array.isArray(list) ? list : []
}

const NM_PER_UNIT: Record<string, number> = { nanometer: 1, micrometer: 1000, angstrom: 0.1, millimeter: 1e6, nm: 1, um: 1000, µm: 1000 }

/** Voxel size (z, y, x) in nm of OME-Zarr level `path`, when its scale and spatial units are stated. */
function omeVoxelSize(ms: Multiscale, path: string): Vec3 | undefined {
  const level = ms.datasets.find((d) => trimSlashes(d.path) === path)
  if (!level) return undefined
  const scale = (ts: Transform[] | undefined) => ts?.find((t) => t.type === 'scale')?.scale
  const own = scale(level.coordinateTransformations)
  if (!own) return undefined
  const global = scale(ms.coordinateTransformations)
  const axes = (ms.axes ?? []).slice(-3)
  const nm = axes.map((a) => (typeof a === 'string' ? undefined : NM_PER_UNIT[a.unit ?? '']))
  if (axes.length !== 3 || nm.some((f) => f === undefined)) return undefined
  const s = own.slice(-3).map((v, i) => v * (global ? global.slice(-3)[i] : 1) * (nm[i] as number))
  return [s[0], s[1], s[2]]
}

/** Voxel size stated by funlib/daisy-style attributes on the array ('resolution' or 'voxel_size', z y x nm). */
function attrVoxelSize(attrs: Record<string, unknown>): Vec3 | undefined {
  const v = (attrs.resolution ?? attrs.voxel_size) as unknown
  return Array.isArray(v) && v.length >= 3 && v.every((n) => typeof n === 'number' && n > 0) ? (v.slice(-3) as Vec3) : undefined
}

/** Every array in the store below `root`, with its metadata. */
function findArrays(root: string): Array<{ path: string; meta: NodeMeta }> {
  return findStoreArrays(root, (dir) => {
    const meta = nodeMeta(dir)
    return meta?.kind === 'array' ? meta : undefined
  })
}

async function openArray(root: string, path: string): Promise<ZArray> {
  const where = path === '' ? root : join(root, path)
  const location = zarr.root(new FileSystemStore(root)).resolve(path)
  try {
    // The version the metadata files say, so that errors are about this array, not a failed guess.
    const open = nodeMeta(where)?.version === 2 ? zarr.open.v2 : zarr.open.v3
    return (await open(location, { kind: 'array' })) as ZArray
  } catch (err) {
    throw zarrError(where, err)
  }
}

function zarrError(file: string, err: unknown): StudioError {
  if (err instanceof StudioError) return err
  const e = err as Error & { _tag?: string; codec?: string }
  if (e._tag === 'UnknownCodecError') return new StudioError('unsupported', `${file}: compression codec '${e.codec}' is not supported`, { file, cause: err })
  if (e._tag === 'NotFoundError') return new StudioError('not_found', `${file}: no Zarr array here (${e.message})`, { file, cause: err })
  const what = /dtype|data type/i.test(e.message) ? 'unsupported' : 'bad_format'
  return new StudioError(what, `${file}: cannot read the Zarr metadata: ${e.message}`, { file, cause: err })
}

export async function probeZarr(root: string): Promise<VolumeProbe> {
  const rootMeta = nodeMeta(root)
  const arrays = findArrays(root)
  const ms = rootMeta ? multiscalesOf(rootMeta.attrs)[0] : undefined
  const levels = ms?.datasets.map((d) => trimSlashes(d.path)) ?? []
  const datasets: DatasetEntry[] = []
  for (const { path, meta } of arrays) {
    let entry: DatasetEntry
    try {
      const arr = await openArray(root, path)
      entry = arrayEntry(path, arr.shape, arr.dtype, arr.chunks, voxelSizeOf(root, path, arr.attrs))
      const codec = unknownCodec(meta)
      if (codec && entry.openable) Object.assign(entry, { openable: false, note: `compression codec '${codec}' is not supported` })
    } catch (err) {
      entry = { path, shape: [], dtype: 'unknown', openable: false, note: (err as Error).message }
    }
    const level = levels.indexOf(path)
    if (level >= 0) entry.note = [`OME-Zarr level ${level}`, entry.note].filter(Boolean).join('; ')
    datasets.push(entry)
  }
  const probe: VolumeProbe = { path: root, format: 'zarr', datasets }
  const preferred = levels.length > 0 && datasets.some((d) => d.path === levels[0] && d.openable) ? levels[0] : defaultDataset(datasets)
  if (preferred !== undefined) probe.defaultDataset = preferred
  return probe
}

/** Voxel size of array `path`: from an OME-Zarr multiscale that lists it, else from its own attributes. */
function voxelSizeOf(root: string, path: string, attrs: Record<string, unknown>): Vec3 | undefined {
  const dir = path === '' ? root : join(root, path)
  const parent = nodeMeta(dirname(dir))
  for (const ms of parent ? multiscalesOf(parent.attrs) : []) {
    const size = omeVoxelSize(ms, basename(dir))
    if (size) return size
  }
  return attrVoxelSize(attrs)
}

class ZarrVolume extends ChunkedVolume {
  constructor(
    meta: VolumeMeta,
    private readonly array: ZArray,
    private readonly axes: AxisMap,
    private readonly stored: StoredType,
  ) {
    super(meta)
  }

  protected async loadChunk(index: Vec3): Promise<CachedChunk> {
    const chunks = this.array.chunks
    const coords = this.axes.planar ? [index[1], index[2]] : [...this.axes.lead.map((i, a) => Math.floor(i / chunks[a])), ...index]
    let chunk: zarr.Chunk<zarr.DataType>
    try {
      chunk = await this.array.getChunk(coords)
    } catch (err) {
      throw new StudioError('bad_format', `${this.path}: cannot read chunk (${coords.join(', ')}): ${(err as Error).message}`, { file: this.path, cause: err })
    }
    const { shape, stride } = chunk
    const n = shape.length
    const dims: Vec3 = this.axes.planar ? [1, shape[0], shape[1]] : [shape[n - 3], shape[n - 2], shape[n - 1]]
    const strides: Vec3 = this.axes.planar ? [0, stride[0], stride[1]] : [stride[n - 3], stride[n - 2], stride[n - 1]]
    // Where the chosen channel starts inside the chunk.
    const base = this.axes.lead.reduce((acc, i, a) => acc + (i % chunks[a]) * stride[a], 0)
    const raw = chunk.data instanceof zarr.BoolArray ? new Uint8Array(chunk.data.buffer, chunk.data.byteOffset, chunk.data.byteLength) : (chunk.data as VoxelArray)
    const data = gather(raw, base, dims, strides)
    return { data: this.stored.convert ? this.stored.convert(data) : data, dims }
  }
}

/** The (z, y, x) block of `data` starting at `base` with `stride`, as its own C-ordered array. */
function gather(data: VoxelArray, base: number, [d0, d1, d2]: Vec3, [s0, s1, s2]: Vec3): VoxelArray {
  const n = d0 * d1 * d2
  if (s2 === 1 && s1 === d2 && (s0 === d1 * d2 || d0 === 1)) return base === 0 && n === data.length ? data : (data.slice(base, base + n) as VoxelArray)
  const out = new (data.constructor as { new (n: number): VoxelArray })(n)
  let k = 0
  for (let z = 0; z < d0; z++) for (let y = 0; y < d1; y++) for (let x = 0; x < d2; x++) out[k++] = data[base + z * s0 + y * s1 + x * s2]
  return out
}

export async function openZarr(root: string, options: { dataset?: string; channel?: number } = {}): Promise<VolumeSource> {
  const rootMeta = nodeMeta(root)
  let path = ''
  if (rootMeta?.kind !== 'array') path = chooseDataset(await probeZarr(root), options.dataset)
  else if (options.dataset !== undefined && trimSlashes(options.dataset) !== '') {
    throw new StudioError('not_found', `${root}: is a single Zarr array; it has no dataset '${options.dataset}'`, { file: root })
  }
  const file = path === '' ? root : join(root, path)
  const codec = unknownCodec(nodeMeta(file))
  if (codec) {
    const known = [...zarr.registry.keys()].filter((k) => !k.startsWith('numcodecs.'))
    throw new StudioError('unsupported', `${file}: compression codec '${codec}' is not supported (supported: ${known.join(', ')})`, { file })
  }
  const array = await openArray(root, path)
  const stored = storedType(array.dtype, file)
  const axes = mapAxes(array.shape, file, options.channel)
  const chunkShape = (axes.planar ? [1, ...array.chunks] : array.chunks.slice(-3)) as Vec3
  const voxelSize = voxelSizeOf(root, path, array.attrs)
  const volumeMeta: VolumeMeta = {
    name: path === '' ? basename(root) : `${basename(root)}/${path}`,
    path: root,
    format: 'zarr',
    shape: axes.shape,
    dtype: stored.dtype,
    chunkShape,
    ...(path === '' ? {} : { dataset: path }),
    ...(voxelSize ? { voxelSize } : {}),
  }
  return new ZarrVolume(volumeMeta, array, axes, stored)
}
