/**
 * Multi-page TIFF and BigTIFF (geotiff.js, read lazily from disk): one z-slice per page,
 * uncompressed, deflate, LZW, PackBits, zstd or JPEG; strips or tiles. ImageJ hyperstacks are
 * understood (channels and frames become datasets 'c1', 't2c0', ...; `spacing`/`unit` give the
 * voxel size), including ImageJ's files over 4 GB that hold one IFD and contiguous pages.
 * Colour pages are read as their first sample.
 */
import { open, type FileHandle } from 'node:fs/promises'
import { basename } from 'node:path'
import { promisify } from 'node:util'
import { inflate as zlibInflate } from 'node:zlib'
import { addDecoder, BaseDecoder, GeoTIFF, getDecoder, type GeoTIFFImage } from 'geotiff'
import { StudioError } from '../../../shared/errors'
import type { DatasetEntry, Vec3, VolumeProbe } from '../../../shared/types'
import type { CachedChunk } from './cache'
import { ChunkedVolume, type VolumeMeta } from './chunked'
import { arrayEntry, chooseDataset } from './datasets'
import { fromBytes, storedType, type StoredType } from './dtypes'
import type { VolumeSource, VoxelArray } from './volume'

const inflate = promisify(zlibInflate)

const COMPRESSION: Record<number, string> = {
  1: 'none', 2: 'CCITT RLE', 3: 'CCITT G3', 4: 'CCITT G4', 5: 'LZW', 6: 'old-style JPEG', 7: 'JPEG', 8: 'deflate',
  32946: 'deflate', 32773: 'PackBits', 34712: 'JPEG 2000', 34887: 'LERC', 34925: 'LZMA', 50000: 'zstd', 50001: 'WebP',
}
/** Compressions geotiff decodes. */
const DECODABLE = new Set([1, 5, 7, 8, 32946, 32773, 34887, 50000, 50001])
/** Voxels one cache chunk holds at least: whole strips or tiles, several at a time. */
const MIN_CHUNK_VOXELS = 64 * 1024

/** geotiff's byte source over a file handle that returns short reads as short (so truncation is an error, not zeros). */
class FileSource {
  constructor(
    readonly handle: FileHandle,
    readonly size: number,
  ) {}

  async fetch(slices: Array<{ offset: number; length: number }>): Promise<ArrayBuffer[]> {
    return Promise.all(
      slices.map(async ({ offset, length }) => {
        const n = Math.max(0, Math.min(length, this.size - offset))
        const buf = new Uint8Array(n)
        if (n > 0) await this.handle.read(buf, 0, n, offset)
        return buf.buffer
      }),
    )
  }

  async close(): Promise<void> {
    await this.handle.close()
  }
}

interface ImageJ {
  images: number
  channels: number
  slices: number
  frames: number
  spacing?: number
  unit?: string
}

function parseImageJ(description: string | undefined): ImageJ | undefined {
  if (!description?.startsWith('ImageJ=')) return undefined
  const kv = new Map(description.split('\n').map((l) => l.split('=', 2) as [string, string]))
  const int = (k: string, d: number) => (kv.has(k) ? Math.max(1, parseInt(kv.get(k) as string, 10) || d) : d)
  const images = int('images', 1)
  const channels = int('channels', 1)
  const frames = int('frames', 1)
  const info: ImageJ = { images, channels, frames, slices: int('slices', Math.max(1, Math.floor(images / (channels * frames)))) }
  const spacing = Number(kv.get('spacing'))
  if (spacing > 0) info.spacing = spacing
  if (kv.has('unit')) info.unit = (kv.get('unit') as string).trim()
  return info
}

const NM_PER: Record<string, number> = { nm: 1, nanometer: 1, nanometers: 1, micron: 1000, microns: 1000, um: 1000, µm: 1000, '\\u00B5m': 1000, mm: 1e6 }

/** A RATIONAL tag value: geotiff gives [numerator, denominator] (as a typed array) or a number. */
function rational(v: unknown): number {
  if (typeof v === 'object' && v !== null && 'length' in v) {
    const a = v as ArrayLike<number>
    return a.length >= 2 && a[1] ? Number(a[0]) / Number(a[1]) : Number(a[0])
  }
  return Number(v)
}

/** Voxel size from ImageJ's unit, z spacing and pixels-per-unit resolution tags. */
async function imageJVoxelSize(first: GeoTIFFImage, ij: ImageJ): Promise<Vec3 | undefined> {
  const nm = NM_PER[ij.unit ?? '']
  if (!nm || ij.spacing === undefined) return undefined
  const xres = rational(await first.fileDirectory.loadValue('XResolution'))
  const yres = rational(await first.fileDirectory.loadValue('YResolution'))
  if (!(xres > 0 && yres > 0)) return undefined
  return [ij.spacing * nm, nm / yres, nm / xres]
}

function sampleTypeName(image: GeoTIFFImage): string {
  const bits = image.getBitsPerSample(0)
  const kind = { 1: 'uint', 2: 'int', 3: 'float' }[image.getSampleFormat(0) as 1 | 2 | 3] ?? 'unknown'
  return `${kind}${bits}`
}

interface Layout {
  width: number
  height: number
  type: string
  /** IFD index of page (t, z, c) for each dataset, in z order. */
  pages: number
  ij?: ImageJ
  /** Data of every page is contiguous from this offset (ImageJ > 4 GB); pages past the IFDs are read here. */
  contiguous?: { offset: number; pageBytes: number; littleEndian: boolean }
}

class TiffFile {
  private constructor(
    readonly file: string,
    readonly source: FileSource,
    readonly tiff: GeoTIFF,
    /** IFD indices of the full-resolution pages, in file order (reduced-resolution subfiles skipped). */
    readonly ifds: number[],
    readonly layout: Layout,
    readonly first: GeoTIFFImage,
  ) {}

  static async open(file: string): Promise<TiffFile> {
    const handle = await open(file, 'r')
    const source = new FileSource(handle, (await handle.stat()).size)
    try {
      const tiff = await GeoTIFF.fromSource(source as never)
      const count = await tiff.getImageCount()
      const ifds: number[] = []
      let first: GeoTIFFImage | undefined
      for (let i = 0; i < count; i++) {
        const image = await tiff.getImage(i)
        if (((image.fileDirectory.getValue('NewSubfileType') as number | undefined) ?? 0) & 1) continue
        first ??= image
        const [w, h, t] = [image.getWidth(), image.getHeight(), sampleTypeName(image)]
        if (w !== first.getWidth() || h !== first.getHeight() || t !== sampleTypeName(first)) {
          throw new StudioError('bad_format', `${file}: page ${ifds.length} is ${w}x${h} ${t}, page 0 is ${first.getWidth()}x${first.getHeight()} ${sampleTypeName(first)}; all pages of a stack must match`, { file })
        }
        ifds.push(i)
      }
      if (!first) throw new StudioError('bad_format', `${file}: holds no full-resolution image`, { file })
      const compression = (first.fileDirectory.getValue('Compression') as number | undefined) ?? 1
      if (!DECODABLE.has(compression)) {
        throw new StudioError('unsupported', `${file}: TIFF compression ${COMPRESSION[compression] ?? 'unknown'} (${compression}) is not supported (supported: none, LZW, deflate, PackBits, zstd, JPEG)`, { file })
      }
      const ij = parseImageJ((await first.fileDirectory.loadValue('ImageDescription')) as string | undefined)
      const layout: Layout = { width: first.getWidth(), height: first.getHeight(), type: sampleTypeName(first), pages: ifds.length }
      if (ij) {
        layout.ij = ij
        if (ij.images > ifds.length) layout.contiguous = await contiguousLayout(file, first, ij, tiff.littleEndian, source.size)
      }
      return new TiffFile(file, source, tiff, ifds, layout, first)
    } catch (err) {
      await source.close()
      if (err instanceof StudioError) throw err
      throw new StudioError('bad_format', `${file}: not a readable TIFF (truncated or damaged?): ${(err as Error).message}`, { file, cause: err })
    }
  }

  /** Datasets: '' for a plain stack; one per channel and frame for ImageJ hyperstacks. */
  datasets(): Array<{ name: string; c: number; t: number }> {
    const { channels = 1, frames = 1 } = this.layout.ij ?? {}
    if (channels === 1 && frames === 1) return [{ name: '', c: 0, t: 0 }]
    const out: Array<{ name: string; c: number; t: number }> = []
    for (let t = 0; t < frames; t++) {
      for (let c = 0; c < channels; c++) out.push({ name: `${frames > 1 ? `t${t}` : ''}${channels > 1 ? `c${c}` : ''}`, c, t })
    }
    return out
  }

  /** Number of z-slices per dataset. */
  get depth(): number {
    const ij = this.layout.ij
    return ij ? ij.slices : this.layout.pages
  }
}

async function contiguousLayout(file: string, first: GeoTIFFImage, ij: ImageJ, littleEndian: boolean, size: number): Promise<Layout['contiguous']> {
  const compression = (first.fileDirectory.getValue('Compression') as number | undefined) ?? 1
  if (compression !== 1) throw new StudioError('bad_format', `${file}: ImageJ says ${ij.images} images but the file has fewer pages, and they are compressed`, { file })
  const offsets = Array.from((await first.fileDirectory.loadValue('StripOffsets')) as ArrayLike<number>, Number)
  const pageBytes = first.getWidth() * first.getHeight() * (first.getBitsPerSample(0) / 8) * first.getSamplesPerPixel()
  if (first.getSamplesPerPixel() !== 1) throw new StudioError('unsupported', `${file}: contiguous ImageJ stacks of colour images are not supported`, { file })
  const offset = offsets[0]
  if (offset + ij.images * pageBytes > size) {
    throw new StudioError('bad_format', `${file}: truncated: ImageJ says ${ij.images} images of ${pageBytes} bytes from byte ${offset}, but the file has ${size} bytes`, { file })
  }
  return { offset, pageBytes, littleEndian }
}

class TiffVolume extends ChunkedVolume {
  private readonly blocks = new Map<number, Promise<PageBlocks>>()

  constructor(
    meta: VolumeMeta,
    private readonly tf: TiffFile,
    private readonly stored: StoredType,
    /** Page number (before IFD mapping) of z-slice 0, and the step between z-slices. */
    private readonly firstPage: number,
    private readonly pageStep: number,
  ) {
    super(meta)
  }

  protected async loadChunk([z, y, x]: Vec3): Promise<CachedChunk> {
    const page = this.firstPage + z * this.pageStep
    const [, cy, cx] = this.chunkShape
    const y0 = y * cy
    const x0 = x * cx
    const y1 = Math.min(y0 + cy, this.shape[1])
    const x1 = Math.min(x0 + cx, this.shape[2])
    const raw = page < this.tf.ifds.length ? await this.readPage(page, [x0, y0, x1, y1]) : await this.readContiguous(page, y0, y1)
    return { data: this.stored.convert ? this.stored.convert(raw) : raw, dims: [1, y1 - y0, x1 - x0] }
  }

  private async readPage(page: number, window: [number, number, number, number]): Promise<VoxelArray> {
    let pending = this.blocks.get(page)
    if (!pending) {
      pending = this.tf.tiff.getImage(this.tf.ifds[page]).then((image) => pageBlocks(this.path, image, page, this.tf.source.size))
      this.blocks.set(page, pending)
    }
    const blocks = await pending
    try {
      if (blocks.direct) return await this.readDirect(blocks, window)
      const [band] = await blocks.image.readRasters({ window, samples: [0], interleave: false })
      return band as unknown as VoxelArray
    } catch (err) {
      if (err instanceof StudioError) throw err
      throw new StudioError('bad_format', `${this.path}: cannot decode page ${page} (damaged?): ${(err as Error).message}`, { file: this.path, cause: err })
    }
  }

  /**
   * A window of a single-sample page straight from its strips or tiles: uncompressed rows are read
   * in place (only the rows needed); compressed blocks go through geotiff's decoder (predictor
   * included) and are copied by rows. Much faster than geotiff's general per-pixel path.
   */
  private async readDirect(b: PageBlocks, [x0, y0, x1, y1]: [number, number, number, number]): Promise<VoxelArray> {
    const bpe = b.bytesPerSample
    const w = x1 - x0
    const out = new Uint8Array((y1 - y0) * w * bpe)
    const across = Math.ceil(this.shape[2] / b.blockWidth)
    const rowBytes = b.blockWidth * bpe
    const handle = this.tf.source.handle
    for (let by = Math.floor(y0 / b.blockHeight); by * b.blockHeight < y1; by++) {
      const top = by * b.blockHeight
      const r0 = Math.max(y0, top)
      const r1 = Math.min(y1, top + b.blockHeight)
      for (let bx = Math.floor(x0 / b.blockWidth); bx * b.blockWidth < x1; bx++) {
        const k = by * across + bx
        if (b.counts[k] === 0) continue // a block never written: zeros
        const left = bx * b.blockWidth
        const c0 = Math.max(x0, left)
        const c1 = Math.min(x1, left + b.blockWidth)
        if (!b.decoder && c0 === left && c1 - c0 === b.blockWidth && w === b.blockWidth) {
          // Whole rows of an uncompressed strip: straight into place.
          await handle.read(out, (r0 - y0) * w * bpe, (r1 - r0) * rowBytes, b.offsets[k] + (r0 - top) * rowBytes)
          continue
        }
        // Rows of this block (from `first` on), whole block width; then the columns wanted.
        let block: Uint8Array
        let first = r0
        if (b.decoder) {
          const packed = new Uint8Array(b.counts[k])
          await handle.read(packed, 0, packed.length, b.offsets[k])
          block = new Uint8Array(await b.decoder.decode(packed.buffer))
          first = top
        } else {
          block = new Uint8Array((r1 - r0) * rowBytes)
          await handle.read(block, 0, block.length, b.offsets[k] + (r0 - top) * rowBytes)
        }
        for (let r = r0; r < r1; r++) {
          const from = (r - first) * rowBytes + (c0 - left) * bpe
          out.set(block.subarray(from, from + (c1 - c0) * bpe), ((r - y0) * w + (c0 - x0)) * bpe)
        }
      }
    }
    return fromBytes(out, this.tf.layout.type, !this.tf.tiff.littleEndian, this.path) as VoxelArray
  }

  /** Rows y0..y1 of a page past the IFDs of a contiguous ImageJ stack (uncompressed, full width). */
  private async readContiguous(page: number, y0: number, y1: number): Promise<VoxelArray> {
    const { offset, pageBytes, littleEndian } = this.tf.layout.contiguous as NonNullable<Layout['contiguous']>
    const width = this.shape[2]
    const bpe = pageBytes / (width * this.shape[1])
    const bytes = new Uint8Array((y1 - y0) * width * bpe)
    await this.tf.source.handle.read(bytes, 0, bytes.length, offset + page * pageBytes + y0 * width * bpe)
    return fromBytes(bytes, this.tf.layout.type, !littleEndian, this.path) as VoxelArray
  }

  protected override async release(): Promise<void> {
    await this.tf.source.close()
  }
}

/** Where a page's strips or tiles are, and how to read them without geotiff's general path. */
interface PageBlocks {
  image: GeoTIFFImage
  offsets: number[]
  counts: number[]
  blockWidth: number
  blockHeight: number
  bytesPerSample: number
  /** One sample per pixel in whole bytes, uncompressed or in a compression decoded block-wise. */
  direct: boolean
  /** geotiff's decoder for compressed blocks; absent when uncompressed. */
  decoder?: { decode(buffer: ArrayBufferLike): Promise<ArrayBufferLike> }
}

/**
 * Deflate through Node's zlib (native, on the libuv thread pool) instead of geotiff's pure-JS
 * inflate, which is several times slower; geotiff applies the predictor as for its own decoder.
 */
class NodeDeflateDecoder extends BaseDecoder {
  override async decodeBlock(buffer: ArrayBufferLike): Promise<ArrayBufferLike> {
    const out = await inflate(new Uint8Array(buffer))
    return out.buffer.slice(out.byteOffset, out.byteOffset + out.byteLength)
  }
}
addDecoder([8, 32946], async () => NodeDeflateDecoder as never)

/** Compressions read block-wise with geotiff's decoders: LZW, deflate, PackBits, zstd. */
const BLOCKWISE = new Set([5, 8, 32946, 32773, 50000])

/** The page's block table; refuses a page whose blocks reach past the end of the file (a truncated TIFF). */
async function pageBlocks(file: string, image: GeoTIFFImage, page: number, size: number): Promise<PageBlocks> {
  const dir = image.fileDirectory
  const tiled = !dir.hasTag('StripOffsets')
  const offsets = Array.from((await dir.loadValue(tiled ? 'TileOffsets' : 'StripOffsets')) as ArrayLike<number | bigint>, Number)
  const counts = Array.from((await dir.loadValue(tiled ? 'TileByteCounts' : 'StripByteCounts')) as ArrayLike<number | bigint>, Number)
  let end = 0
  for (let i = 0; i < offsets.length; i++) end = Math.max(end, offsets[i] + counts[i])
  if (end > size) {
    throw new StudioError('bad_format', `${file}: truncated: page ${page} needs bytes up to ${end}, the file has ${size}`, { file })
  }
  const bits = image.getBitsPerSample(0)
  const compression = (dir.getValue('Compression') as number | undefined) ?? 1
  const blockWidth = image.getTileWidth()
  const blockHeight = image.getTileHeight()
  const direct = image.getSamplesPerPixel() === 1 && bits % 8 === 0 && (compression === 1 || BLOCKWISE.has(compression))
  const blocks: PageBlocks = { image, offsets, counts, blockWidth, blockHeight, bytesPerSample: bits / 8, direct }
  if (direct && compression !== 1) {
    const predictor = ((await dir.loadValue('Predictor')) as number | undefined) ?? 1
    blocks.decoder = await getDecoder(compression, { tileWidth: blockWidth, tileHeight: blockHeight, planarConfiguration: 1, bitsPerSample: bits, predictor })
  }
  return blocks
}

/** Cache chunk of a page: whole strips or tiles, grown along x, then y, to a useful read size. */
function pageChunk(tf: TiffFile): Vec3 {
  const { first, layout } = tf
  const c: Vec3 = layout.contiguous ? [1, 1, layout.width] : [1, Math.min(first.getTileHeight(), layout.height), Math.min(first.getTileWidth(), layout.width)]
  const step: Vec3 = [1, c[1], c[2]]
  for (const a of [2, 1]) while (c[1] * c[2] < MIN_CHUNK_VOXELS && c[a] < (a === 1 ? layout.height : layout.width)) c[a] = Math.min(a === 1 ? layout.height : layout.width, c[a] + step[a])
  return c
}

export async function probeTiff(file: string): Promise<VolumeProbe> {
  const tf = await TiffFile.open(file)
  try {
    const shape = [tf.depth, tf.layout.height, tf.layout.width]
    const voxelSize = tf.layout.ij ? await imageJVoxelSize(tf.first, tf.layout.ij) : undefined
    // Chunks as stored: one page's tile, or its strip of rows (contiguous ImageJ pages: whole pages).
    const { first, layout } = tf
    const stored = layout.contiguous ? [1, layout.height, layout.width] : [1, Math.min(first.getTileHeight(), layout.height), Math.min(first.getTileWidth(), layout.width)]
    const datasets: DatasetEntry[] = tf.datasets().map((d) => arrayEntry(d.name, shape, layout.type, stored, voxelSize))
    return { path: file, format: 'tiff', datasets, defaultDataset: datasets[0].path }
  } finally {
    await tf.source.close()
  }
}

export async function openTiff(file: string, options: { dataset?: string } = {}): Promise<VolumeSource> {
  const tf = await TiffFile.open(file)
  try {
    const datasets = tf.datasets()
    const shape: Vec3 = [tf.depth, tf.layout.height, tf.layout.width]
    const probe: VolumeProbe = { path: file, format: 'tiff', datasets: datasets.map((d) => arrayEntry(d.name, shape, tf.layout.type)), defaultDataset: datasets[0].name }
    const name = chooseDataset(probe, options.dataset)
    const { c, t } = datasets.find((d) => d.name === name) as { c: number; t: number }
    const stored = storedType(tf.layout.type, file)
    const ij = tf.layout.ij
    // ImageJ orders pages with the channel fastest, then z, then the frame.
    const channels = ij?.channels ?? 1
    const firstPage = ij ? (t * ij.slices + 0) * channels + c : 0
    const voxelSize = ij ? await imageJVoxelSize(tf.first, ij) : undefined
    const meta: VolumeMeta = {
      name: name === '' ? basename(file) : `${basename(file)}:${name}`,
      path: file,
      format: 'tiff',
      shape,
      dtype: stored.dtype,
      chunkShape: pageChunk(tf),
      ...(name === '' ? {} : { dataset: name }),
      ...(voxelSize ? { voxelSize } : {}),
    }
    return new TiffVolume(meta, tf, stored, firstPage, channels)
  } catch (err) {
    await tf.source.close()
    throw err
  }
}

/** Size and stored type of a single-image TIFF (a slice in a folder). */
export async function tiffSliceHeader(file: string): Promise<{ width: number; height: number; type: string }> {
  const tf = await TiffFile.open(file)
  await tf.source.close()
  return { width: tf.layout.width, height: tf.layout.height, type: tf.layout.type }
}

/** The first page of a TIFF, whole (first sample of colour images). */
export async function readTiffSlice(file: string): Promise<{ width: number; height: number; type: string; data: VoxelArray }> {
  const tf = await TiffFile.open(file)
  try {
    const image = await tf.tiff.getImage(tf.ifds[0])
    await pageBlocks(file, image, 0, tf.source.size)
    const [band] = await image.readRasters({ samples: [0], interleave: false })
    return { width: tf.layout.width, height: tf.layout.height, type: tf.layout.type, data: band as unknown as VoxelArray }
  } catch (err) {
    if (err instanceof StudioError) throw err
    throw new StudioError('bad_format', `${file}: cannot decode (damaged?): ${(err as Error).message}`, { file, cause: err })
  } finally {
    await tf.source.close()
  }
}
