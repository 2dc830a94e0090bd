/**
 * Writable Zarr v3 arrays (zarrita): the project cache (affinities as uint8 (3, z, y, x),
 * fragments as uint32/uint64) and Zarr exports. Written box by box; each chunk file is replaced
 * atomically (temp file + rename), so a crash never leaves a half-written chunk. Writes through
 * one writer are applied one at a time, so boxes that share a chunk do not lose each other's
 * voxels. Chunks never written read as the fill value.
 *
 * A VolumeSource opened on the array before a write may still hold the old chunks in the shared
 * cache: read back through `readBox`, or open the volume after writing.
 */
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { rename, writeFile, mkdir } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import FileSystemStore from '@zarrita/storage/fs'
import * as zarr from 'zarrita'
import { StudioError } from '../../../shared/errors'
import type { DType, Vec3 } from '../../../shared/types'
import type { VoxelArray } from './volume'

export interface ZarrArrayOptions {
  shape: number[]
  dtype: DType
  chunkShape: number[]
  /** 'zstd' (default, level 3) or 'none'. */
  compression?: 'zstd' | 'none'
  fillValue?: number
  /** nm per voxel of the last three axes (z, y, x), stored as the `resolution` attribute. */
  voxelSize?: Vec3
  dimensionNames?: string[]
  attributes?: Record<string, unknown>
  /** Replace an existing array at the path (default: refuse). */
  overwrite?: boolean
}

type Box = { start: number[]; stop: number[] }
type StoreKey = Parameters<FileSystemStore['set']>[0]

/** A file-system store whose writes replace files atomically. */
class AtomicFileStore extends FileSystemStore {
  override async set(key: StoreKey, value: Uint8Array): Promise<void> {
    const file = join(this.root, key.replace(/^\//, ''))
    await mkdir(dirname(file), { recursive: true })
    const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`
    await writeFile(tmp, value)
    await rename(tmp, file)
  }
}

export class ZarrArrayWriter {
  private queue: Promise<unknown> = Promise.resolve()

  private constructor(
    readonly path: string,
    private readonly array: zarr.Array<zarr.DataType, AtomicFileStore>,
  ) {}

  /** Creates a Zarr v3 array (a new store, or a replaced one with `overwrite`). */
  static async create(path: string, options: ZarrArrayOptions): Promise<ZarrArrayWriter> {
    const { shape, chunkShape } = options
    if (shape.length !== chunkShape.length || !shape.every((n) => Number.isInteger(n) && n > 0) || !chunkShape.every((n) => Number.isInteger(n) && n > 0)) {
      throw new StudioError('bad_input', `${path}: shape ${shape.join('x')} and chunk shape ${chunkShape.join('x')} must be positive integers of the same rank`, { file: path })
    }
    if (existsSync(path) && !options.overwrite) throw new StudioError('conflict', `${path}: already exists`, { file: path })
    mkdirSync(path, { recursive: true })
    const codecs = [{ name: 'bytes', configuration: { endian: 'little' } }]
    if ((options.compression ?? 'zstd') === 'zstd') codecs.push({ name: 'zstd', configuration: { level: 3, checksum: false } } as never)
    const attributes = { ...options.attributes, ...(options.voxelSize ? { resolution: options.voxelSize } : {}) }
    const array = await zarr.create(zarr.root(new AtomicFileStore(path)), {
      shape,
      chunkShape,
      dtype: options.dtype,
      codecs,
      fillValue: (options.fillValue ?? 0) as never,
      attributes,
      ...(options.dimensionNames ? { dimensionNames: options.dimensionNames } : {}),
    })
    return new ZarrArrayWriter(path, array as zarr.Array<zarr.DataType, AtomicFileStore>)
  }

  /** Opens an existing Zarr v3 array to write more boxes into it (a project cache being filled). */
  static async open(path: string): Promise<ZarrArrayWriter> {
    const meta = join(path, 'zarr.json')
    if (!existsSync(meta)) throw new StudioError('not_found', `${path}: no Zarr v3 array here`, { file: path })
    if ((JSON.parse(readFileSync(meta, 'utf8')) as { node_type?: string }).node_type !== 'array') {
      throw new StudioError('bad_input', `${path}: is a Zarr group, not an array`, { file: path })
    }
    const array = await zarr.open.v3(zarr.root(new AtomicFileStore(path)), { kind: 'array' })
    return new ZarrArrayWriter(path, array as zarr.Array<zarr.DataType, AtomicFileStore>)
  }

  get shape(): number[] {
    return this.array.shape
  }

  get chunkShape(): number[] {
    return this.array.chunks
  }

  get dtype(): DType {
    return this.array.dtype as DType
  }

  /** Writes `data` (C order, the box's shape) into `box`; boxes need not align with chunks. */
  async writeBox(box: Box, data: VoxelArray): Promise<void> {
    const shape = this.checkBox(box)
    if (data.length !== shape.reduce((a, b) => a * b, 1)) {
      throw new StudioError('bad_input', `${this.path}: ${data.length} values do not fill a box of ${shape.join('x')}`, { file: this.path })
    }
    if (!sameType(data, this.dtype)) throw new StudioError('bad_input', `${this.path}: cannot write ${data.constructor.name} into a ${this.dtype} array`, { file: this.path })
    const selection = box.start.map((s, a) => zarr.slice(s, box.stop[a]))
    const stride = shape.map((_, a) => shape.slice(a + 1).reduce((x, y) => x * y, 1))
    return this.enqueue(() => zarr.set(this.array, selection, { data, shape, stride } as never))
  }

  /** Voxels of `box` as stored now (after every write queued before this call). */
  async readBox(box: Box): Promise<VoxelArray> {
    this.checkBox(box)
    const selection = box.start.map((s, a) => zarr.slice(s, box.stop[a]))
    return this.enqueue(async () => (await zarr.get(this.array, selection)).data as VoxelArray)
  }

  /** Resolves when every write queued so far is on disk. */
  flush(): Promise<void> {
    return this.enqueue(async () => undefined)
  }

  private enqueue<T>(job: () => Promise<T>): Promise<T> {
    const run = this.queue.then(job)
    this.queue = run.catch(() => undefined)
    return run
  }

  private checkBox(box: Box): number[] {
    const shape = this.array.shape
    const ok =
      box.start.length === shape.length &&
      box.stop.length === shape.length &&
      box.start.every((s, a) => Number.isInteger(s) && Number.isInteger(box.stop[a]) && s >= 0 && s < box.stop[a] && box.stop[a] <= shape[a])
    if (!ok) {
      throw new StudioError('bad_input', `${this.path}: box [${box.start.join(',')}]..[${box.stop.join(',')}] is empty or outside the array ${shape.join('x')}`, { file: this.path })
    }
    return box.start.map((s, a) => box.stop[a] - s)
  }
}

function sameType(data: VoxelArray, dtype: DType): boolean {
  return (
    (dtype === 'uint8' && data instanceof Uint8Array) ||
    (dtype === 'uint16' && data instanceof Uint16Array) ||
    (dtype === 'uint32' && data instanceof Uint32Array) ||
    (dtype === 'uint64' && data instanceof BigUint64Array) ||
    (dtype === 'float32' && data instanceof Float32Array)
  )
}
