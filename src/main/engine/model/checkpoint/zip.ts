/**
 * Random access to the entries of a zip archive (what torch.save writes): the central directory
 * (zip64 included, for files over 4 GB) is read once; entry data is then read by file offset, a
 * byte range at a time, so large entries are never loaded whole. Stored entries (what torch
 * writes) are read in place; deflated ones are inflated with fflate, one entry at a time.
 */
import { open, type FileHandle } from 'node:fs/promises'
import { inflateSync } from 'fflate'
import { StudioError } from '../../../../shared/errors'

export interface ZipEntry {
  name: string
  /** 0 = stored, 8 = deflated. */
  method: number
  compressedSize: number
  size: number
  localHeaderOffset: number
}

const SIG_EOCD = 0x06054b50
const SIG_ZIP64_LOCATOR = 0x07064b50
const SIG_ZIP64_EOCD = 0x06064b50
const SIG_CENTRAL = 0x02014b50
const SIG_LOCAL = 0x04034b50
const U16_MAX = 0xffff
const U32_MAX = 0xffffffff

export const ZIP_MAGIC = [0x50, 0x4b, 0x03, 0x04]

export class ZipReader {
  private readonly dataOffsets = new Map<string, number>()

  private constructor(
    readonly path: string,
    private readonly fh: FileHandle,
    readonly fileSize: number,
    readonly entries: ReadonlyMap<string, ZipEntry>,
  ) {}

  static async open(path: string): Promise<ZipReader> {
    const fh = await open(path, 'r')
    try {
      const size = (await fh.stat()).size
      const entries = await readCentralDirectory(fh, size, path)
      return new ZipReader(path, fh, size, entries)
    } catch (err) {
      await fh.close()
      throw err
    }
  }

  async close(): Promise<void> {
    await this.fh.close()
  }

  /**
   * Bytes [start, start + length) of an entry's uncompressed data, written into `into` when
   * given (it must hold `length` bytes) so callers can read straight into a typed array.
   */
  async read(entry: ZipEntry, start = 0, length = entry.size - start, into?: Uint8Array): Promise<Uint8Array> {
    if (start < 0 || length < 0 || start + length > entry.size) {
      throw this.bad(`read of bytes ${start}..${start + length} is outside entry ${entry.name} (${entry.size} bytes)`)
    }
    const out = into ?? new Uint8Array(length)
    if (out.length < length) throw new StudioError('internal', `zip read: buffer of ${out.length} bytes for ${length}`)
    const dataOffset = await this.dataOffset(entry)
    if (entry.method === 0) {
      await this.readFully(out.subarray(0, length), dataOffset + start)
      return out.subarray(0, length)
    }
    const compressed = new Uint8Array(entry.compressedSize)
    await this.readFully(compressed, dataOffset)
    let inflated: Uint8Array
    try {
      inflated = inflateSync(compressed, start === 0 && length === entry.size ? { out } : undefined)
    } catch (err) {
      throw this.bad(`entry ${entry.name} does not inflate: ${(err as Error).message}`)
    }
    if (inflated.length !== entry.size) throw this.bad(`entry ${entry.name} inflates to ${inflated.length} bytes, expected ${entry.size}`)
    if (inflated !== out) out.set(inflated.subarray(start, start + length))
    return out.subarray(0, length)
  }

  private async dataOffset(entry: ZipEntry): Promise<number> {
    const known = this.dataOffsets.get(entry.name)
    if (known !== undefined) return known
    const head = new Uint8Array(30)
    await this.readFully(head, entry.localHeaderOffset)
    const view = new DataView(head.buffer)
    if (view.getUint32(0, true) !== SIG_LOCAL) throw this.bad(`entry ${entry.name} has no local header`)
    const offset = entry.localHeaderOffset + 30 + view.getUint16(26, true) + view.getUint16(28, true)
    if (offset + entry.compressedSize > this.fileSize) throw this.bad(`entry ${entry.name} runs past the end of the file (truncated?)`)
    this.dataOffsets.set(entry.name, offset)
    return offset
  }

  private async readFully(into: Uint8Array, position: number): Promise<void> {
    let done = 0
    while (done < into.length) {
      const { bytesRead } = await this.fh.read(into, done, into.length - done, position + done)
      if (bytesRead === 0) throw this.bad(`unexpected end of file at byte ${position + done}`)
      done += bytesRead
    }
  }

  private bad(why: string): StudioError {
    return new StudioError('bad_format', `${this.path}: broken zip archive: ${why}`, { file: this.path })
  }
}

async function readCentralDirectory(fh: FileHandle, fileSize: number, path: string): Promise<Map<string, ZipEntry>> {
  const bad = (why: string) => new StudioError('bad_format', `${path}: broken zip archive: ${why}`, { file: path })
  const readAt = async (position: number, length: number) => {
    const buf = new Uint8Array(length)
    const { bytesRead } = await fh.read(buf, 0, length, position)
    if (bytesRead !== length) throw bad(`unexpected end of file at byte ${position + bytesRead}`)
    return new DataView(buf.buffer)
  }

  // The end-of-central-directory record sits in the last 22 bytes plus a comment of <= 64 KiB.
  const tailLength = Math.min(fileSize, 22 + U16_MAX)
  const tail = await readAt(fileSize - tailLength, tailLength)
  let eocd = -1
  for (let i = tailLength - 22; i >= 0; i--) {
    if (tail.getUint32(i, true) === SIG_EOCD) {
      eocd = i
      break
    }
  }
  if (eocd < 0) throw bad('no end-of-central-directory record')
  let count = tail.getUint16(eocd + 10, true)
  let cdSize = tail.getUint32(eocd + 12, true)
  let cdOffset = tail.getUint32(eocd + 16, true)
  if (count === U16_MAX || cdSize === U32_MAX || cdOffset === U32_MAX) {
    const locatorAt = fileSize - tailLength + eocd - 20
    if (locatorAt < 0) throw bad('zip64 locator missing')
    const locator = await readAt(locatorAt, 20)
    if (locator.getUint32(0, true) !== SIG_ZIP64_LOCATOR) throw bad('zip64 locator missing')
    const record = await readAt(Number(locator.getBigUint64(8, true)), 56)
    if (record.getUint32(0, true) !== SIG_ZIP64_EOCD) throw bad('zip64 end-of-central-directory record missing')
    count = Number(record.getBigUint64(32, true))
    cdSize = Number(record.getBigUint64(40, true))
    cdOffset = Number(record.getBigUint64(48, true))
  }
  if (cdOffset + cdSize > fileSize) throw bad('central directory runs past the end of the file (truncated?)')

  const cd = await readAt(cdOffset, cdSize)
  const decoder = new TextDecoder()
  const entries = new Map<string, ZipEntry>()
  let p = 0
  for (let n = 0; n < count; n++) {
    if (p + 46 > cdSize || cd.getUint32(p, true) !== SIG_CENTRAL) throw bad(`central directory entry ${n} is malformed`)
    const flags = cd.getUint16(p + 8, true)
    const method = cd.getUint16(p + 10, true)
    let compressedSize = cd.getUint32(p + 20, true)
    let size = cd.getUint32(p + 24, true)
    const nameLength = cd.getUint16(p + 28, true)
    const extraLength = cd.getUint16(p + 30, true)
    const commentLength = cd.getUint16(p + 32, true)
    let localHeaderOffset = cd.getUint32(p + 42, true)
    const name = decoder.decode(new Uint8Array(cd.buffer, p + 46, nameLength))
    // The zip64 extra field holds, in this order, only the fields saturated above.
    for (let e = p + 46 + nameLength; e + 4 <= p + 46 + nameLength + extraLength; ) {
      const id = cd.getUint16(e, true)
      const length = cd.getUint16(e + 2, true)
      if (id === 0x0001) {
        let q = e + 4
        const next = () => {
          if (q + 8 > e + 4 + length) throw bad(`zip64 field of ${name} is too short`)
          const v = Number(cd.getBigUint64(q, true))
          q += 8
          return v
        }
        if (size === U32_MAX) size = next()
        if (compressedSize === U32_MAX) compressedSize = next()
        if (localHeaderOffset === U32_MAX) localHeaderOffset = next()
      }
      e += 4 + length
    }
    if (flags & 1) throw new StudioError('unsupported', `${path}: entry ${name} is encrypted`, { file: path })
    if (method !== 0 && method !== 8) {
      throw new StudioError('unsupported', `${path}: entry ${name} uses zip compression method ${method} (only stored and deflate are read)`, {
        file: path,
      })
    }
    if (method === 0 && compressedSize !== size) throw bad(`stored entry ${name} has ${compressedSize} bytes on disk but ${size} uncompressed`)
    entries.set(name, { name, method, compressedSize, size, localHeaderOffset })
    p += 46 + nameLength + extraLength + commentLength
  }
  return entries
}
