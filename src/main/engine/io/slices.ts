/**
 * A folder of single-image slices (TIFF, PNG or JPEG), one z-slice per file in natural sort
 * order (slice2 before slice10). Each slice is one chunk, decoded when first read. Colour images
 * are read as their first channel.
 */
import { readdirSync, statSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { basename, extname, join } from 'node:path'
import { decode as decodePng } from 'fast-png'
import jpeg from 'jpeg-js'
import { StudioError } from '../../../shared/errors'
import type { Vec3, VolumeProbe } from '../../../shared/types'
import type { CachedChunk } from './cache'
import { ChunkedVolume, type VolumeMeta } from './chunked'
import { arrayEntry } from './datasets'
import { storedType, type StoredType } from './dtypes'
import { readHead } from './files'
import { readTiffSlice, tiffSliceHeader } from './tiff'
import type { VolumeSource, VoxelArray } from './volume'

type Kind = 'tiff' | 'png' | 'jpeg'
const KIND: Record<string, Kind> = { '.tif': 'tiff', '.tiff': 'tiff', '.png': 'png', '.jpg': 'jpeg', '.jpeg': 'jpeg' }

interface SliceHeader {
  width: number
  height: number
  type: string
}

/** The image files of a folder in natural sort order (hidden files skipped), all of one kind; or one image file. */
export function sliceFiles(dir: string): { kind: Kind; files: string[] } {
  if (statSync(dir).isFile()) {
    const kind = KIND[extname(dir).toLowerCase()]
    if (!kind) throw new StudioError('unsupported', `${dir}: not a TIFF, PNG or JPEG image`, { file: dir })
    return { kind, files: [dir] }
  }
  const names = readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isFile() && !d.name.startsWith('.') && KIND[extname(d.name).toLowerCase()] !== undefined)
    .map((d) => d.name)
    .sort(new Intl.Collator(undefined, { numeric: true }).compare)
  if (names.length === 0) {
    throw new StudioError('bad_input', `${dir}: no TIFF, PNG or JPEG slices in this folder (and it is not a Zarr or N5 store)`, { file: dir })
  }
  const kinds = new Set(names.map((n) => KIND[extname(n).toLowerCase()]))
  if (kinds.size > 1) {
    throw new StudioError('bad_input', `${dir}: mixes ${[...kinds].join(' and ')} slices; keep one kind of image per folder`, { file: dir })
  }
  return { kind: [...kinds][0], files: names.map((n) => join(dir, n)) }
}

function pngHeader(file: string): SliceHeader {
  const h = readHead(file, 33)
  if (h.length < 33 || h.readUInt32BE(0) !== 0x89504e47 || h.subarray(12, 16).toString('latin1') !== 'IHDR') {
    throw new StudioError('bad_format', `${file}: not a PNG file`, { file })
  }
  const depth = h[24]
  if (depth !== 8 && depth !== 16) throw new StudioError('unsupported', `${file}: ${depth}-bit PNG is not supported (8 or 16 bits)`, { file })
  return { width: h.readUInt32BE(16), height: h.readUInt32BE(20), type: depth === 16 ? 'uint16' : 'uint8' }
}

/** Size from the JPEG start-of-frame marker (the first SOFn segment). */
function jpegHeader(file: string): SliceHeader {
  const h = readHead(file, 256 * 1024)
  if (h.length < 4 || h[0] !== 0xff || h[1] !== 0xd8) throw new StudioError('bad_format', `${file}: not a JPEG file`, { file })
  let i = 2
  while (i + 9 < h.length) {
    if (h[i] !== 0xff) break
    const marker = h[i + 1]
    const len = h.readUInt16BE(i + 2)
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (h[i + 4] !== 8) throw new StudioError('unsupported', `${file}: ${h[i + 4]}-bit JPEG is not supported (8 bits)`, { file })
      return { width: h.readUInt16BE(i + 7), height: h.readUInt16BE(i + 5), type: 'uint8' }
    }
    i += 2 + len
  }
  throw new StudioError('bad_format', `${file}: no JPEG frame header found (damaged?)`, { file })
}

async function header(kind: Kind, file: string): Promise<SliceHeader> {
  if (kind === 'png') return pngHeader(file)
  if (kind === 'jpeg') return jpegHeader(file)
  return tiffSliceHeader(file)
}

/** Every slice's header; they must all match the first. */
async function checkSlices(dir: string, kind: Kind, files: string[]): Promise<SliceHeader> {
  const first = await header(kind, files[0])
  for (const file of files.slice(1)) {
    const h = await header(kind, file)
    if (h.width !== first.width || h.height !== first.height || h.type !== first.type) {
      throw new StudioError(
        'bad_input',
        `${dir}: mixed slice sizes: ${basename(file)} is ${h.width}x${h.height} ${h.type}, ${basename(files[0])} is ${first.width}x${first.height} ${first.type}`,
        { file },
      )
    }
  }
  return first
}

/** The first channel of interleaved pixel data. */
function firstChannel<T extends Uint8Array | Uint16Array>(data: T, channels: number): T {
  if (channels === 1) return data
  const out = new (data.constructor as { new (n: number): T })(data.length / channels)
  for (let i = 0, j = 0; i < out.length; i++, j += channels) out[i] = data[j]
  return out
}

async function decodeSlice(kind: Kind, file: string): Promise<{ width: number; height: number; data: VoxelArray }> {
  if (kind === 'tiff') return readTiffSlice(file)
  const bytes = await readFile(file)
  try {
    if (kind === 'png') {
      const png = decodePng(bytes)
      let data = png.data as Uint8Array | Uint16Array
      let channels = png.channels
      if (png.palette) {
        // Indexed colour: the palette entry's first channel.
        const palette = png.palette
        data = Uint8Array.from(data, (i) => palette[i]?.[0] ?? 0)
        channels = 1
      }
      return { width: png.width, height: png.height, data: firstChannel(data, channels) }
    }
    const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false, maxResolutionInMP: 4000, maxMemoryUsageInMB: 8192 })
    return { width: img.width, height: img.height, data: firstChannel(img.data, img.data.length / (img.width * img.height)) }
  } catch (err) {
    throw new StudioError('bad_format', `${file}: cannot decode (damaged?): ${(err as Error).message}`, { file, cause: err })
  }
}

class SliceVolume extends ChunkedVolume {
  constructor(
    meta: VolumeMeta,
    private readonly kind: Kind,
    private readonly files: string[],
    private readonly stored: StoredType,
  ) {
    super(meta)
  }

  protected async loadChunk([z]: Vec3): Promise<CachedChunk> {
    const file = this.files[z]
    const slice = await decodeSlice(this.kind, file)
    const [, h, w] = this.shape
    if (slice.width !== w || slice.height !== h) {
      throw new StudioError('bad_input', `${this.path}: mixed slice sizes: ${basename(file)} is ${slice.width}x${slice.height}, the stack is ${w}x${h}`, { file })
    }
    return { data: this.stored.convert ? this.stored.convert(slice.data) : slice.data, dims: [1, h, w] }
  }
}

export async function probeSlices(dir: string): Promise<VolumeProbe> {
  const { kind, files } = sliceFiles(dir)
  const h = await checkSlices(dir, kind, files)
  return { path: dir, format: 'slices', datasets: [arrayEntry('', [files.length, h.height, h.width], h.type, [1, h.height, h.width])], defaultDataset: '' }
}

export async function openSlices(dir: string): Promise<VolumeSource> {
  const { kind, files } = sliceFiles(dir)
  const h = await checkSlices(dir, kind, files)
  const stored = storedType(h.type, files[0])
  const meta: VolumeMeta = { name: basename(dir), path: dir, format: 'slices', shape: [files.length, h.height, h.width], dtype: stored.dtype, chunkShape: [1, h.height, h.width] }
  return new SliceVolume(meta, kind, files, stored)
}
