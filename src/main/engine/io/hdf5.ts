/**
 * HDF5 files (.h5, .hdf, .hdf5) through h5wasm, which reads from disk on demand: only the
 * hyperslabs asked for are read, never the whole file. Datasets are picked by path; the CREMI
 * layout (volumes/raw, volumes/labels/neuron_ids, `resolution` attribute in nm) is understood.
 */
import { basename, resolve } from 'node:path'
import h5wasm from 'h5wasm/node'
import type { Dataset, File as H5File, Metadata } from 'h5wasm/node'
import { StudioError } from '../../../shared/errors'
import type { DatasetEntry, DType, Vec3, VolumeProbe } from '../../../shared/types'
import type { CachedChunk } from './cache'
import { ChunkedVolume, type VolumeMeta } from './chunked'
import { arrayEntry, chooseDataset, defaultDataset, trimSlashes } from './datasets'
import { storedType, type StoredType } from './dtypes'
import { allocate, mapAxes, type AxisMap, type VolumeSource, type VoxelArray } from './volume'

/** HDF5 filters this build of h5wasm decodes; anything else is refused by name when opening. */
const DECODABLE_FILTERS = new Set([1, 2, 3, 4, 5, 6]) // deflate, shuffle, fletcher32, szip, nbit, scaleoffset
const FILTER_NAMES: Record<number, string> = { 32000: 'lzf', 32001: 'blosc', 32004: 'lz4', 32008: 'bitshuffle', 32015: 'zstd', 32026: 'blosc2' }

/** Voxels one cache chunk holds at least: small storage chunks are read several at a time. */
const MIN_CHUNK_VOXELS = 256 * 1024

let ready: Promise<void> | null = null

/** h5wasm, with HDF5 errors thrown as exceptions (by default they print and return invalid ids). */
function h5ready(): Promise<void> {
  ready ??= h5wasm.ready.then((m) => void m.activate_throwing_error_handler())
  return ready
}

async function openFile(file: string): Promise<H5File> {
  await h5ready()
  try {
    return new h5wasm.File(resolve(file), 'r')
  } catch (err) {
    throw new StudioError('bad_format', `${file}: not a readable HDF5 file: ${hdf5Reason(err)}`, { file, cause: err })
  }
}

/** The innermost cause from an HDF5 error stack ("truncated file: eof = ..."), or the message. */
function hdf5Reason(err: unknown): string {
  const text = String((err as Error)?.message ?? err)
  const causes = [...text.matchAll(/#\d+: .* in [\w]+\(\): (.*)$/gm)].map((m) => m[1])
  return causes.at(-1) ?? text.split('\n')[0]
}

/** numpy-style name of an HDF5 element type, e.g. 'uint16', 'int64', 'bool', 'string'. */
function typeName(m: Metadata): string {
  const h5 = h5wasm as unknown as { Module: { H5T_class_t: Record<string, { value: number }> } }
  const cls = h5.Module?.H5T_class_t
  const is = (name: string, fallback: number) => m.type === (cls?.[name]?.value ?? fallback)
  if (is('H5T_INTEGER', 0)) return `${m.signed ? 'int' : 'uint'}${m.size * 8}`
  if (is('H5T_FLOAT', 1)) return `float${m.size * 8}`
  if (is('H5T_ENUM', 8)) {
    const names = Object.keys(m.enum_type?.members ?? {}).sort()
    return names.length === 2 && names[0] === 'FALSE' && names[1] === 'TRUE' ? 'bool' : 'enum'
  }
  return ['integer', 'float', 'time', 'string', 'bitfield', 'opaque', 'compound', 'reference', 'enum', 'vlen', 'array'][m.type] ?? 'unknown'
}

function isDataset(entity: unknown): entity is Dataset {
  return entity instanceof h5wasm.Dataset
}

/** nm per voxel (z, y, x) from `resolution` (CREMI, nm) or `element_size_um` (ilastik, Fiji; µm), on the dataset or its group. */
function voxelSizeOf(ds: Dataset): Vec3 | undefined {
  for (const holder of [ds, ds.parent]) {
    const attrs = holder.attrs
    for (const [name, factor] of [['resolution', 1], ['element_size_um', 1000], ['voxel_size', 1]] as const) {
      if (!(name in attrs)) continue
      const v = Array.from(attrs[name].value as ArrayLike<number>, Number)
      if (v.length >= 3 && v.every((n) => n > 0)) return v.slice(-3).map((n) => n * factor) as Vec3
    }
  }
  return undefined
}

function entryOf(path: string, ds: Dataset): DatasetEntry {
  const m = ds.metadata
  const entry = arrayEntry(path, m.shape ?? [], typeName(m), m.chunks ?? undefined, voxelSizeOf(ds))
  const bad = ds.filters.find((f) => !DECODABLE_FILTERS.has(f.id))
  if (bad && entry.openable) Object.assign(entry, { openable: false, note: `compressed with ${filterName(bad.id, bad.name)}, which this app cannot decode` })
  return entry
}

function filterName(id: number, name: string): string {
  return `HDF5 filter ${FILTER_NAMES[id] ?? (name || 'unknown')} (id ${id})`
}

function probeOpenFile(f: H5File, file: string): VolumeProbe {
  const datasets: DatasetEntry[] = []
  for (const path of walk(f)) {
    const entity = f.get(path)
    if (isDataset(entity)) datasets.push(entryOf(trimSlashes(path), entity))
  }
  const probe: VolumeProbe = { path: file, format: 'hdf5', datasets }
  const preferred = defaultDataset(datasets)
  if (preferred !== undefined) probe.defaultDataset = preferred
  return probe
}

/** Every object path in the file, groups before their members, in name order. */
function walk(file: H5File): string[] {
  const paths: string[] = []
  const visit = (group: string, depth: number) => {
    const g = file.get(group)
    if (!(g instanceof h5wasm.Group) || depth > 16) return
    for (const key of [...g.keys()].sort(new Intl.Collator(undefined, { numeric: true }).compare)) {
      const path = group === '/' ? `/${key}` : `${group}/${key}`
      paths.push(path)
      visit(path, depth + 1)
    }
  }
  visit('/', 0)
  return paths
}

export async function probeHdf5(file: string): Promise<VolumeProbe> {
  const f = await openFile(file)
  try {
    return probeOpenFile(f, file)
  } finally {
    f.close()
  }
}

class Hdf5Volume extends ChunkedVolume {
  constructor(
    meta: VolumeMeta,
    private readonly file: H5File,
    private readonly ds: Dataset,
    private readonly axes: AxisMap,
    private readonly stored: StoredType,
  ) {
    super(meta)
  }

  protected async loadChunk(index: Vec3): Promise<CachedChunk> {
    const lo = index.map((i, a) => i * this.chunkShape[a])
    const hi = lo.map((v, a) => Math.min(v + this.chunkShape[a], this.shape[a]))
    const box: Array<[number, number]> = lo.map((v, a) => [v, hi[a]])
    const ranges = this.axes.planar ? box.slice(1) : [...this.axes.lead.map((i): [number, number] => [i, i + 1]), ...box]
    let raw: unknown
    try {
      raw = this.ds.slice(ranges)
    } catch (err) {
      throw new StudioError('bad_format', `${this.path}: cannot read ${this.dataset} at [${lo.join(', ')}]: ${hdf5Reason(err)}`, { file: this.path, cause: err })
    }
    const data = raw as VoxelArray
    return { data: this.stored.convert ? this.stored.convert(data) : data, dims: hi.map((v, a) => v - lo[a]) as Vec3 }
  }

  protected override async release(): Promise<void> {
    this.file.close()
  }
}

/** Cache chunk shape: whole storage chunks, grown along x, then y, then z to a useful read size. */
function readChunkShape(shape: Vec3, storage: Vec3 | undefined): Vec3 {
  const c: Vec3 = storage ? [...storage] : [1, Math.min(shape[1], 256), Math.min(shape[2], 256)]
  for (const a of [2, 1, 0]) {
    while (c[0] * c[1] * c[2] < MIN_CHUNK_VOXELS && c[a] < shape[a]) c[a] = Math.min(shape[a], c[a] * 2)
  }
  return c
}

export async function openHdf5(file: string, options: { dataset?: string; channel?: number } = {}): Promise<VolumeSource> {
  const f = await openFile(file)
  try {
    const probe = probeOpenFile(f, file)
    const path = chooseDataset(probe, options.dataset)
    const ds = f.get(path) as Dataset
    const entry = probe.datasets.find((d) => d.path === path) as DatasetEntry
    const bad = ds.filters.find((x) => !DECODABLE_FILTERS.has(x.id))
    if (bad) {
      throw new StudioError('unsupported', `${file}: dataset ${path} is compressed with ${filterName(bad.id, bad.name)}, which this app cannot decode; re-save it with gzip or without compression`, { file })
    }
    const stored = storedType(entry.dtype, `${file}:${path}`)
    const axes = mapAxes(entry.shape, `${file}:${path}`, options.channel)
    const storage = ds.metadata.chunks
    const storageChunk = storage ? ((axes.planar ? [1, ...storage] : storage.slice(-3)) as Vec3) : undefined
    const meta: VolumeMeta = {
      name: `${basename(file)}:${path}`,
      path: file,
      format: 'hdf5',
      dataset: path,
      shape: axes.shape,
      dtype: stored.dtype,
      chunkShape: readChunkShape(axes.shape, storageChunk),
      ...(entry.voxelSize ? { voxelSize: entry.voxelSize } : {}),
    }
    return new Hdf5Volume(meta, f, ds, axes, stored)
  } catch (err) {
    f.close()
    throw err
  }
}

const H5_TYPE: Record<DType, string> = { uint8: '<B', uint16: '<H', uint32: '<I', uint64: '<Q', float32: '<f' }

/**
 * Writes one gzip-compressed, chunked dataset slab by slab along its first axis (an export that
 * never holds the whole volume). `resolution` (nm, z y x) is stored as CREMI does.
 */
export class Hdf5Writer {
  private constructor(
    readonly path: string,
    private readonly file: H5File,
    private readonly ds: Dataset,
    private readonly shape: number[],
  ) {}

  static async create(
    path: string,
    options: { dataset: string; shape: number[]; dtype: DType; chunkShape?: number[]; voxelSize?: Vec3 },
  ): Promise<Hdf5Writer> {
    await h5ready()
    const { shape, dtype } = options
    const chunks = options.chunkShape ?? shape.map((n, a) => Math.min(n, a < shape.length - 3 ? 1 : a === shape.length - 3 ? 16 : 128))
    let file: H5File
    try {
      file = new h5wasm.File(resolve(path), 'w')
    } catch (err) {
      throw new StudioError('bad_input', `${path}: cannot create the HDF5 file: ${hdf5Reason(err)}`, { file: path, cause: err })
    }
    const name = trimSlashes(options.dataset)
    const parent = name.split('/').slice(0, -1)
    for (let i = 1; i <= parent.length; i++) {
      const group = parent.slice(0, i).join('/')
      if (!file.get(group)) file.create_group(group)
    }
    // Created empty along the first axis, then grown: h5wasm needs data to create a dataset.
    const ds = file.create_dataset({
      name,
      data: allocate(dtype, 0) as never,
      shape: [0, ...shape.slice(1)],
      maxshape: shape,
      dtype: H5_TYPE[dtype],
      chunks,
      compression: 'gzip',
      compression_opts: 4,
    })
    ds.resize(shape)
    if (options.voxelSize) ds.create_attribute('resolution', Float64Array.from(options.voxelSize))
    return new Hdf5Writer(path, file, ds, shape)
  }

  /** Writes `data` (whole rows of the other axes, C order) at index `i0` of the first axis. */
  async writeSlab(i0: number, data: VoxelArray): Promise<void> {
    const plane = this.shape.slice(1).reduce((a, b) => a * b, 1)
    const n = data.length / plane
    if (!Number.isInteger(n) || i0 < 0 || i0 + n > this.shape[0]) {
      throw new StudioError('bad_input', `${this.path}: a slab of ${data.length} values at ${i0} does not fit ${this.shape.join('x')}`, { file: this.path })
    }
    this.ds.write_slice([[i0, i0 + n], ...this.shape.slice(1).map((): [] => [])], data)
  }

  async close(): Promise<void> {
    this.file.close()
  }
}
