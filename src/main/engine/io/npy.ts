/**
 * NumPy .npy files (format versions 1-3, little-endian, C order): the exchange format of the
 * CLI and of reference data made with Python.
 */
import { closeSync, openSync, readFileSync, readSync, writeFileSync } from 'node:fs'
import { open, type FileHandle } from 'node:fs/promises'
import { basename } from 'node:path'
import { StudioError } from '../../../shared/errors'
import type { DType, Vec3 } from '../../../shared/types'
import type { CachedChunk } from './cache'
import { ChunkedVolume, type VolumeMeta } from './chunked'
import { BYTES_PER_VOXEL, storedType, TYPED_ARRAY_OF, type AnyTypedArray, type StoredType, type StoredTypeName } from './dtypes'
import { allocate, mapAxes, type VolumeSource, type VoxelArray } from './volume'

export type NpyDType = StoredTypeName
export type NpyArray = AnyTypedArray

export interface Npy {
  dtype: NpyDType
  shape: number[]
  data: NpyArray
}

const DESCR: Record<string, NpyDType> = {
  '|u1': 'uint8',
  '|i1': 'int8',
  '|b1': 'bool',
  '<u2': 'uint16',
  '<i2': 'int16',
  '<u4': 'uint32',
  '<i4': 'int32',
  '<u8': 'uint64',
  '<i8': 'int64',
  '<f4': 'float32',
  '<f8': 'float64',
}
const MAGIC = '\x93NUMPY'

export interface NpyHeader {
  dtype: NpyDType
  shape: number[]
  /** Byte offset of the data in the file. */
  dataOffset: number
}

export function parseNpyHeader(bytes: Uint8Array, file: string): NpyHeader {
  const bad = (why: string) => new StudioError('bad_format', `${file}: not a readable .npy file: ${why}`, { file })
  if (bytes.length < 10 || String.fromCharCode(...bytes.subarray(0, 6)) !== MAGIC) throw bad('missing the \\x93NUMPY magic')
  const major = bytes[6]
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const [headerLen, at] = major === 1 ? [view.getUint16(8, true), 10] : [view.getUint32(8, true), 12]
  if (major < 1 || major > 3) throw bad(`format version ${major}`)
  if (bytes.length < at + headerLen) throw bad('header is truncated')
  const header = new TextDecoder().decode(bytes.subarray(at, at + headerLen))
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1]
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1]
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1]
  if (descr === undefined || fortran === undefined || shapeText === undefined) throw bad('header is malformed')
  if (fortran === 'True') throw bad('Fortran-ordered arrays are not supported; save with np.ascontiguousarray')
  const dtype = DESCR[descr.replace(/^=/, '<')]
  if (!dtype) throw new StudioError('unsupported', `${file}: .npy data type ${descr} is not supported (big-endian or exotic)`, { file })
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(Number)
  if (shape.some((n) => !Number.isInteger(n) || n < 0)) throw bad(`shape (${shapeText}) is malformed`)
  return { dtype, shape, dataOffset: at + headerLen }
}

export function readNpy(file: string): Npy {
  let bytes: Buffer
  try {
    bytes = readFileSync(file)
  } catch (err) {
    throw new StudioError('not_found', `${file}: cannot read: ${(err as Error).message}`, { file })
  }
  const { dtype, shape, dataOffset } = parseNpyHeader(bytes, file)
  const count = shape.reduce((a, b) => a * b, 1)
  const ctor = TYPED_ARRAY_OF[dtype]
  const need = count * ctor.BYTES_PER_ELEMENT
  if (bytes.length - dataOffset < need) {
    throw new StudioError('bad_format', `${file}: truncated: ${bytes.length - dataOffset} data bytes, shape needs ${need}`, { file })
  }
  // Copy into a fresh, aligned buffer.
  const data = new ctor(count)
  new Uint8Array(data.buffer).set(bytes.subarray(dataOffset, dataOffset + need))
  return { dtype, shape, data }
}

/** Reads only the header of a .npy file (cheap for large files). */
export function readNpyHeader(file: string): NpyHeader {
  let fd: number
  try {
    fd = openSync(file, 'r')
  } catch (err) {
    throw new StudioError('not_found', `${file}: cannot read: ${(err as Error).message}`, { file })
  }
  try {
    const head = new Uint8Array(65536 + 12)
    const n = readSync(fd, head, 0, head.length, 0)
    return parseNpyHeader(head.subarray(0, n), file)
  } finally {
    closeSync(fd)
  }
}

function descrOf(data: NpyArray): string {
  const name = {
    Uint8Array: '|u1',
    Int8Array: '|i1',
    Uint16Array: '<u2',
    Int16Array: '<i2',
    Uint32Array: '<u4',
    Int32Array: '<i4',
    BigUint64Array: '<u8',
    BigInt64Array: '<i8',
    Float32Array: '<f4',
    Float64Array: '<f8',
  }[data.constructor.name]
  if (!name) throw new StudioError('bad_input', `npy: cannot write ${data.constructor.name}`)
  return name
}

/** The .npy header (magic, version 1.0, dict padded to 64 bytes) for C-ordered data. */
function npyHeader(descr: string, shape: number[]): Uint8Array {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`
  const pad = 64 - ((10 + header.length + 1) % 64)
  header += ' '.repeat(pad % 64) + '\n'
  const out = new Uint8Array(10 + header.length)
  out.set([0x93, ...new TextEncoder().encode('NUMPY'), 1, 0])
  new DataView(out.buffer).setUint16(8, header.length, true)
  out.set(new TextEncoder().encode(header), 10)
  return out
}

export function encodeNpy(data: NpyArray, shape: number[]): Uint8Array {
  const count = shape.reduce((a, b) => a * b, 1)
  if (count !== data.length) throw new StudioError('bad_input', `npy: ${data.length} values do not fill shape (${shape.join(', ')})`)
  const header = npyHeader(descrOf(data), shape)
  const out = new Uint8Array(header.length + data.byteLength)
  out.set(header)
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), header.length)
  return out
}

export function writeNpy(file: string, data: NpyArray, shape: number[]): void {
  writeFileSync(file, encodeNpy(data, shape))
}

/** Target size of one chunk: whole rows of one z-slice, read with one positioned read. */
const NPY_CHUNK_BYTES = 256 * 1024

/** A .npy file as a volume, read lazily: the file is never loaded whole. */
class NpyVolume extends ChunkedVolume {
  constructor(
    meta: VolumeMeta,
    private readonly handle: FileHandle,
    private readonly npyDType: NpyDType,
    private readonly stored: StoredType,
    /** Byte offset of voxel (0, 0, 0): after the header and the leading (channel) axes. */
    private readonly origin: number,
  ) {
    super(meta)
  }

  protected async loadChunk([z, y]: Vec3): Promise<CachedChunk> {
    const [, sy, sx] = this.shape
    const y0 = y * this.chunkShape[1]
    const rows = Math.min(this.chunkShape[1], sy - y0)
    const ctor = TYPED_ARRAY_OF[this.npyDType]
    const bytes = new Uint8Array(rows * sx * ctor.BYTES_PER_ELEMENT)
    const { bytesRead } = await this.handle.read(bytes, 0, bytes.length, this.origin + (z * sy + y0) * sx * ctor.BYTES_PER_ELEMENT)
    if (bytesRead < bytes.length) {
      throw new StudioError('bad_format', `${this.path}: truncated: the data ends inside slice ${z}`, { file: this.path })
    }
    const raw = new ctor(bytes.buffer, 0, rows * sx)
    return { data: this.stored.convert ? this.stored.convert(raw) : (raw as CachedChunk['data']), dims: [1, rows, sx] }
  }

  protected override async release(): Promise<void> {
    await this.handle.close()
  }
}

/** Opens a .npy file as a volume: 3D, or 2D (one slice), or 4D/5D with singleton or channel axes first. */
export async function openNpy(file: string, options: { channel?: number } = {}): Promise<VolumeSource> {
  const header = readNpyHeader(file)
  const stored = storedType(header.dtype, file)
  const axes = mapAxes(header.shape, file, options.channel)
  const bpe = TYPED_ARRAY_OF[header.dtype].BYTES_PER_ELEMENT
  const [sz, sy, sx] = axes.shape
  const plane = sz * sy * sx
  // Flat index of the first voxel of the chosen channel, over the leading axes in C order.
  let lead = 0
  header.shape.slice(0, axes.lead.length).forEach((n, i) => (lead = lead * n + axes.lead[i]))
  const origin = header.dataOffset + lead * plane * bpe
  const handle = await open(file, 'r')
  const size = (await handle.stat()).size
  if (size < origin + plane * bpe) {
    await handle.close()
    throw new StudioError('bad_format', `${file}: truncated: ${size} bytes, shape (${header.shape.join(', ')}) needs ${header.dataOffset + header.shape.reduce((a, b) => a * b, 1) * bpe}`, { file })
  }
  const rows = Math.max(1, Math.min(sy, Math.floor(NPY_CHUNK_BYTES / Math.max(1, sx * BYTES_PER_VOXEL[stored.dtype]))))
  const meta: VolumeMeta = { name: basename(file), path: file, format: 'npy', shape: axes.shape, dtype: stored.dtype, chunkShape: [1, rows, sx] }
  return new NpyVolume(meta, handle, header.dtype, stored, origin)
}

/** Writes a .npy file slab by slab along its first axis (an export that never holds the whole array). */
export class NpyWriter {
  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
    private readonly shape: number[],
    private readonly dataOffset: number,
  ) {}

  static async create(path: string, shape: number[], dtype: DType): Promise<NpyWriter> {
    const header = npyHeader(descrOf(allocate(dtype, 0) as NpyArray), shape)
    const handle = await open(path, 'w')
    await handle.write(header, 0, header.length, 0)
    // Full length up front: slabs not written read as zeros.
    await handle.truncate(header.length + shape.reduce((a, b) => a * b, 1) * BYTES_PER_VOXEL[dtype])
    return new NpyWriter(path, handle, shape, header.length)
  }

  /** Writes whole planes of the first axis from index `i0`. */
  async writeSlab(i0: number, data: VoxelArray): Promise<void> {
    const plane = this.shape.slice(1).reduce((a, b) => a * b, 1)
    if (data.length % plane !== 0) {
      throw new StudioError('bad_input', `${this.path}: a slab of ${data.length} values is not whole planes of ${this.shape.slice(1).join('x')}`, { file: this.path })
    }
    await this.writeAt([i0, ...this.shape.slice(1).map(() => 0)], data)
  }

  /** Writes `data` (C order) from the element at `index` (one coordinate per axis) onwards. */
  async writeAt(index: number[], data: VoxelArray): Promise<void> {
    let flat = 0
    index.forEach((i, a) => (flat = flat * this.shape[a] + i))
    const total = this.shape.reduce((a, b) => a * b, 1)
    if (index.length !== this.shape.length || index.some((i, a) => !Number.isInteger(i) || i < 0 || i >= this.shape[a]) || flat + data.length > total) {
      throw new StudioError('bad_input', `${this.path}: ${data.length} values at [${index.join(',')}] do not fit ${this.shape.join('x')}`, { file: this.path })
    }
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
    await this.handle.write(bytes, 0, bytes.length, this.dataOffset + flat * data.BYTES_PER_ELEMENT)
  }

  async close(): Promise<void> {
    await this.handle.close()
  }
}
