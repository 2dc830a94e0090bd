/**
 * safetensors files: an 8-byte little-endian header length, a JSON header
 * {name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?: {string: string}}, then the
 * raw little-endian tensor bytes (offsets relative to the end of the header).
 */
import { open, rename, rm } from 'node:fs/promises'
import { StudioError } from '../../../../shared/errors'
import { ITEM_SIZE, toFloat32, type TensorDType } from './dtype'
import type { Tensor, TensorFile, TensorInfo } from './types'

const DTYPES: Record<string, TensorDType> = {
  F32: 'float32',
  F16: 'float16',
  BF16: 'bfloat16',
  F64: 'float64',
  I64: 'int64',
  I32: 'int32',
  I16: 'int16',
  I8: 'int8',
  U8: 'uint8',
  BOOL: 'bool',
}

/** Headers are JSON text; a longer one is not a safetensors file (the reference library caps at 100 MB). */
const MAX_HEADER = 100_000_000

/** True when the first bytes are an 8-byte header length followed by '{'. */
export function looksLikeSafetensors(head: Uint8Array): boolean {
  if (head.length < 9) return false
  const n = new DataView(head.buffer, head.byteOffset, 8).getBigUint64(0, true)
  return n > 1n && n < BigInt(MAX_HEADER) && head[8] === 0x7b
}

export async function openSafetensors(path: string): Promise<TensorFile> {
  const fh = await open(path, 'r')
  const bad = (why: string) => new StudioError('bad_format', `${path}: not a readable safetensors file: ${why}`, { file: path })
  try {
    const fileSize = (await fh.stat()).size
    const lengthBytes = new Uint8Array(8)
    await fh.read(lengthBytes, 0, 8, 0)
    const headerLength = Number(new DataView(lengthBytes.buffer).getBigUint64(0, true))
    if (fileSize < 8 || headerLength > MAX_HEADER || 8 + headerLength > fileSize) throw bad('header length is out of range')
    const headerBytes = new Uint8Array(headerLength)
    await fh.read(headerBytes, 0, headerLength, 8)
    let header: Record<string, unknown>
    try {
      header = JSON.parse(new TextDecoder().decode(headerBytes))
    } catch (err) {
      throw bad(`header is not JSON (${(err as Error).message})`)
    }
    if (typeof header !== 'object' || header === null || Array.isArray(header)) throw bad('header is not a JSON object')
    const dataStart = 8 + headerLength
    const entries: (TensorInfo & { begin: number; end: number })[] = []
    for (const [name, value] of Object.entries(header)) {
      if (name === '__metadata__') continue
      const v = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown }
      const dtype = DTYPES[String(v?.dtype)]
      const shape = v?.shape
      const offsets = v?.data_offsets
      if (!dtype) throw bad(`tensor ${name} has unsupported dtype ${String(v?.dtype)}`)
      if (!Array.isArray(shape) || !shape.every((n) => Number.isInteger(n) && n >= 0)) throw bad(`tensor ${name} has a malformed shape`)
      if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((n) => Number.isInteger(n) && n >= 0)) {
        throw bad(`tensor ${name} has malformed data_offsets`)
      }
      const [begin, end] = offsets as number[]
      const bytes = shape.reduce((a: number, b: number) => a * b, 1) * ITEM_SIZE[dtype]
      if (end - begin !== bytes) throw bad(`tensor ${name} spans ${end - begin} bytes, its shape needs ${bytes}`)
      if (dataStart + end > fileSize) throw bad(`tensor ${name} runs past the end of the file (truncated?)`)
      entries.push({ name, dtype, shape, begin, end })
    }
    entries.sort((a, b) => a.begin - b.begin)
    const byName = new Map(entries.map((e) => [e.name, e]))
    const metadata = header.__metadata__
    return {
      path,
      format: 'safetensors',
      tensors: entries.map(({ name, dtype, shape }) => ({ name, dtype, shape })),
      meta: metadata && typeof metadata === 'object' ? { metadata: metadata as Record<string, string> } : {},
      async read(name: string): Promise<Float32Array> {
        const e = byName.get(name)
        if (!e) throw new StudioError('not_found', `${path} has no tensor ${name}`, { file: path })
        const raw = new Uint8Array(e.end - e.begin)
        let done = 0
        while (done < raw.length) {
          const { bytesRead } = await fh.read(raw, done, raw.length - done, dataStart + e.begin + done)
          if (bytesRead === 0) throw bad(`unexpected end of file in tensor ${name}`)
          done += bytesRead
        }
        return toFloat32(raw, e.dtype, `${path}: tensor ${name}`)
      },
      close: () => fh.close(),
    }
  } catch (err) {
    await fh.close()
    throw err
  }
}

/**
 * Writes float32 tensors in the given order, streaming one tensor at a time, to a temporary file
 * renamed over `path` when complete.
 */
export async function saveSafetensors(
  path: string,
  weights: Iterable<[string, Tensor]>,
  options: { metadata?: Record<string, string> } = {},
): Promise<void> {
  const tensors = [...weights]
  const header: Record<string, unknown> = {}
  if (options.metadata) header.__metadata__ = options.metadata
  const names = new Set<string>(['__metadata__'])
  let offset = 0
  for (const [name, { shape, data }] of tensors) {
    const count = shape.reduce((a, b) => a * b, 1)
    if (count !== data.length) throw new StudioError('bad_input', `safetensors: tensor ${name} has ${data.length} values, shape (${shape.join(', ')}) needs ${count}`)
    if (names.has(name)) throw new StudioError('bad_input', `safetensors: tensor name ${name} is used twice or reserved`)
    names.add(name)
    header[name] = { dtype: 'F32', shape, data_offsets: [offset, offset + data.byteLength] }
    offset += data.byteLength
  }
  let json = JSON.stringify(header)
  // Pad with spaces so the data starts 8-byte aligned, as the reference writer does.
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8)
  const headerBytes = new TextEncoder().encode(json)
  const prefix = new Uint8Array(8 + headerBytes.length)
  new DataView(prefix.buffer).setBigUint64(0, BigInt(headerBytes.length), true)
  prefix.set(headerBytes, 8)

  const tmp = `${path}.partial`
  const fh = await open(tmp, 'w')
  try {
    const writeAll = async (bytes: Uint8Array) => {
      for (let done = 0; done < bytes.length; ) done += (await fh.write(bytes, done)).bytesWritten
    }
    await writeAll(prefix)
    for (const [, { data }] of tensors) await writeAll(new Uint8Array(data.buffer, data.byteOffset, data.byteLength))
    await fh.close()
    await rename(tmp, path)
  } catch (err) {
    await fh.close().catch(() => undefined)
    await rm(tmp, { force: true })
    throw err
  }
}
