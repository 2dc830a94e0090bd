/**
 * Multi-page TIFF writer for exports: one page per z-slice, written slab by slab so a volume
 * never has to fit in memory. Little-endian; BigTIFF when the file could pass 4 GB; strips
 * uncompressed or deflate (Node's zlib). Uncompressed pages sit at fixed offsets, so they may be
 * written in any order, and pages never written stay holes (read as zeros). The IFDs go at the
 * end, written by close(). uint8/uint16/float32 files carry an ImageJ description (slices,
 * spacing, unit) so Fiji opens them as a stack with the voxel size.
 */
import { open, type FileHandle } from 'node:fs/promises'
import { promisify } from 'node:util'
import { deflate as zlibDeflate } from 'node:zlib'
import { StudioError } from '../../../shared/errors'
import type { DType, Vec3 } from '../../../shared/types'
import { BYTES_PER_VOXEL } from './dtypes'
import type { VoxelArray } from './volume'

export interface TiffWriterOptions {
  /** (z, y, x) */
  shape: Vec3
  dtype: DType
  compression?: 'none' | 'deflate'
  voxelSize?: Vec3
}

const STRIP_BYTES = 64 * 1024
const deflate = promisify(zlibDeflate)
const SHORT = 3
const LONG = 4
const RATIONAL = 5
const ASCII = 2
const LONG8 = 16

interface Tag {
  tag: number
  type: number
  values: number[] | string
}

export class TiffWriter {
  private readonly pageBytes: number
  private readonly rowsPerStrip: number
  private readonly stripsPerPage: number
  private readonly big: boolean
  private readonly headerBytes: number
  /** Per page: offset and byte count of each strip, once written. */
  private readonly strips: Array<{ offsets: number[]; counts: number[] } | undefined>
  private end: number
  private closed = false

  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
    readonly options: Required<Omit<TiffWriterOptions, 'voxelSize'>> & Pick<TiffWriterOptions, 'voxelSize'>,
  ) {
    const [depth, height, width] = options.shape
    const rowBytes = width * BYTES_PER_VOXEL[options.dtype]
    this.pageBytes = height * rowBytes
    this.rowsPerStrip = Math.max(1, Math.min(height, Math.floor(STRIP_BYTES / rowBytes)))
    this.stripsPerPage = Math.ceil(height / this.rowsPerStrip)
    // Room for data (deflate never grows it by more than a little) and 2 KiB of IFD per page.
    this.big = depth * (this.pageBytes * 1.01 + 2048) + 1024 > 2 ** 32 - 1
    this.headerBytes = this.big ? 16 : 8
    this.strips = new Array(depth).fill(undefined)
    this.end = this.headerBytes + (options.compression === 'none' ? depth * this.pageBytes : 0)
  }

  static async create(path: string, options: TiffWriterOptions): Promise<TiffWriter> {
    const [depth, height, width] = options.shape
    if (![depth, height, width].every((n) => Number.isInteger(n) && n > 0)) {
      throw new StudioError('bad_input', `${path}: cannot write a TIFF of shape ${options.shape.join('x')}`, { file: path })
    }
    if (options.dtype === 'uint64') {
      throw new StudioError('unsupported', `${path}: TIFF export of uint64 labels: write uint32 (ids below 2^32) or use HDF5/Zarr`, { file: path })
    }
    const handle = await open(path, 'w')
    return new TiffWriter(path, handle, { compression: 'deflate', ...options })
  }

  get bigTiff(): boolean {
    return this.big
  }

  /** Writes z-slices z0, z0+1, ... from `data` (whole slices, C order). */
  async writeSlab(z0: number, data: VoxelArray): Promise<void> {
    const [depth] = this.options.shape
    const voxels = this.pageBytes / BYTES_PER_VOXEL[this.options.dtype]
    const n = data.length / voxels
    if (!Number.isInteger(n) || z0 < 0 || z0 + n > depth) {
      throw new StudioError('bad_input', `${this.path}: a slab of ${data.length} voxels at z=${z0} does not fit pages of ${voxels} voxels in a stack of ${depth}`, { file: this.path })
    }
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
    for (let i = 0; i < n; i++) await this.writePage(z0 + i, bytes.subarray(i * this.pageBytes, (i + 1) * this.pageBytes))
  }

  private async writePage(z: number, page: Uint8Array): Promise<void> {
    const offsets: number[] = []
    const counts: number[] = []
    const stripBytes = this.rowsPerStrip * (this.pageBytes / this.options.shape[1])
    if (this.options.compression === 'none') {
      const at = this.headerBytes + z * this.pageBytes
      await this.handle.write(page, 0, page.length, at)
      for (let s = 0; s < this.stripsPerPage; s++) {
        offsets.push(at + s * stripBytes)
        counts.push(Math.min(stripBytes, this.pageBytes - s * stripBytes))
      }
    } else {
      if (this.strips[z] !== undefined) throw new StudioError('bad_input', `${this.path}: page ${z} written twice`, { file: this.path })
      for (let s = 0; s < this.stripsPerPage; s++) {
        const packed = await deflate(page.subarray(s * stripBytes, Math.min(this.pageBytes, (s + 1) * stripBytes)), { level: 6 })
        await this.handle.write(packed, 0, packed.length, this.end)
        offsets.push(this.end)
        counts.push(packed.length)
        this.end += packed.length
      }
    }
    this.strips[z] = { offsets, counts }
  }

  /** Writes the IFDs (pages never written are left as holes of zeros when uncompressed). */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    try {
      const [depth, height] = this.options.shape
      const missing = this.strips.findIndex((s) => s === undefined)
      if (missing >= 0 && this.options.compression !== 'none') {
        throw new StudioError('bad_input', `${this.path}: page ${missing} was never written`, { file: this.path })
      }
      let at = this.end + (this.end % 2)
      const firstIfd = at
      for (let z = 0; z < depth; z++) {
        const strips = this.strips[z] ?? this.holeStrips(z, height)
        const ifd = this.ifd(this.tags(z, strips), at, z === depth - 1)
        await this.handle.write(ifd, 0, ifd.length, at)
        at += ifd.length
      }
      const header = new Uint8Array(this.headerBytes)
      const view = new DataView(header.buffer)
      header.set([0x49, 0x49])
      if (this.big) {
        view.setUint16(2, 43, true)
        view.setUint16(4, 8, true)
        view.setBigUint64(8, BigInt(firstIfd), true)
      } else {
        view.setUint16(2, 42, true)
        view.setUint32(4, firstIfd, true)
      }
      await this.handle.write(header, 0, header.length, 0)
    } finally {
      await this.handle.close()
    }
  }

  private holeStrips(z: number, height: number): { offsets: number[]; counts: number[] } {
    const stripBytes = this.rowsPerStrip * (this.pageBytes / height)
    const at = this.headerBytes + z * this.pageBytes
    const offsets = Array.from({ length: this.stripsPerPage }, (_, s) => at + s * stripBytes)
    return { offsets, counts: offsets.map((_, s) => Math.min(stripBytes, this.pageBytes - s * stripBytes)) }
  }

  private tags(z: number, strips: { offsets: number[]; counts: number[] }): Tag[] {
    const [depth, height, width] = this.options.shape
    const { dtype, voxelSize } = this.options
    const bits = BYTES_PER_VOXEL[dtype] * 8
    const offsetType = this.big ? LONG8 : LONG
    const tags: Tag[] = [
      { tag: 256, type: LONG, values: [width] },
      { tag: 257, type: LONG, values: [height] },
      { tag: 258, type: SHORT, values: [bits] },
      { tag: 259, type: SHORT, values: [this.options.compression === 'none' ? 1 : 8] },
      { tag: 262, type: SHORT, values: [1] },
      { tag: 273, type: offsetType, values: strips.offsets },
      { tag: 277, type: SHORT, values: [1] },
      { tag: 278, type: LONG, values: [this.rowsPerStrip] },
      { tag: 279, type: offsetType, values: strips.counts },
      { tag: 284, type: SHORT, values: [1] },
      { tag: 339, type: SHORT, values: [dtype === 'float32' ? 3 : 1] },
    ]
    const imagej = dtype !== 'uint32'
    if (z === 0 && imagej) {
      const lines = ['ImageJ=1.11a', `images=${depth}`, `slices=${depth}`]
      if (voxelSize) lines.push('unit=nm', `spacing=${voxelSize[0]}`)
      tags.push({ tag: 270, type: ASCII, values: `${lines.join('\n')}\n` })
    }
    if (voxelSize) {
      // Pixels per unit: per nm with ImageJ's unit=nm, else per centimetre (unit 3).
      const unit = imagej ? 1 : 1e7
      tags.push({ tag: 282, type: RATIONAL, values: rationalOf(unit, voxelSize[2]) })
      tags.push({ tag: 283, type: RATIONAL, values: rationalOf(unit, voxelSize[1]) })
      tags.push({ tag: 296, type: SHORT, values: [imagej ? 1 : 3] })
    }
    return tags.sort((a, b) => a.tag - b.tag)
  }

  /** One IFD at file offset `at`: entries, next-IFD offset, then the values that do not fit inline. */
  private ifd(tags: Tag[], at: number, last: boolean): Uint8Array {
    const big = this.big
    const entry = big ? 20 : 12
    const inline = big ? 8 : 4
    const head = (big ? 8 : 2) + tags.length * entry + (big ? 8 : 4)
    const encoded = tags.map((t) => encodeValues(t))
    const extra = encoded.reduce((sum, b) => sum + (b.length > inline ? b.length + (b.length % 2) : 0), 0)
    const out = new Uint8Array(head + extra)
    const view = new DataView(out.buffer)
    let p = 0
    let data = head
    if (big) view.setBigUint64(p, BigInt(tags.length), true)
    else view.setUint16(p, tags.length, true)
    p += big ? 8 : 2
    tags.forEach((t, i) => {
      const bytes = encoded[i]
      const count = typeof t.values === 'string' ? bytes.length : t.type === RATIONAL ? t.values.length / 2 : t.values.length
      view.setUint16(p, t.tag, true)
      view.setUint16(p + 2, t.type, true)
      if (big) view.setBigUint64(p + 4, BigInt(count), true)
      else view.setUint32(p + 4, count, true)
      const valueAt = p + (big ? 12 : 8)
      if (bytes.length <= inline) out.set(bytes, valueAt)
      else {
        if (big) view.setBigUint64(valueAt, BigInt(at + data), true)
        else view.setUint32(valueAt, at + data, true)
        out.set(bytes, data)
        data += bytes.length + (bytes.length % 2)
      }
      p += entry
    })
    const next = last ? 0 : at + out.length
    if (big) view.setBigUint64(p, BigInt(next), true)
    else view.setUint32(p, next, true)
    return out
  }
}

/** The rational a / b as uint32 [numerator, denominator], scaled by the largest power of 10 that fits. */
function rationalOf(a: number, b: number): number[] {
  let k = 1_000_000
  while (k > 1 && Math.max(a, b) * k > 0xffffffff) k /= 10
  return [Math.round(a * k), Math.round(b * k)]
}

function encodeValues(t: Tag): Uint8Array {
  if (typeof t.values === 'string') return new TextEncoder().encode(`${t.values}\0`)
  const size = { [SHORT]: 2, [LONG]: 4, [RATIONAL]: 4, [LONG8]: 8 }[t.type] as number
  const out = new Uint8Array(t.values.length * size)
  const view = new DataView(out.buffer)
  t.values.forEach((v, i) => {
    if (size === 2) view.setUint16(i * 2, v, true)
    else if (size === 4) view.setUint32(i * 4, v, true)
    else view.setBigUint64(i * 8, BigInt(v), true)
  })
  return out
}
