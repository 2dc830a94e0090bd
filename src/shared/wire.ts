/**
 * Messages of the browser-mode WebSocket. A message is one binary frame:
 *   uint32 (little-endian) length of the JSON header, the UTF-8 JSON header, then the
 *   raw bytes of every typed array found in the payload, each 8-byte aligned.
 * Typed arrays travel without base64; in the JSON they are replaced by {"$bin": index}.
 */
import type { SerializedError } from './errors'

export type WireMessage =
  | { t: 'call'; id: number; method: string; args: unknown }
  | { t: 'result'; id: number; ok: true; value: unknown }
  | { t: 'result'; id: number; ok: false; error: SerializedError }
  | { t: 'event'; name: string; payload: unknown }

const TYPED_ARRAYS = {
  Uint8Array,
  Int8Array,
  Uint16Array,
  Int16Array,
  Uint32Array,
  Int32Array,
  Float32Array,
  Float64Array,
  BigUint64Array,
  BigInt64Array,
} as const
type TypedArrayName = keyof typeof TYPED_ARRAYS
type AnyTypedArray = InstanceType<(typeof TYPED_ARRAYS)[TypedArrayName]>

interface BinRef {
  $bin: number
  type: TypedArrayName
  length: number
}

function typedArrayName(v: unknown): TypedArrayName | null {
  if (!ArrayBuffer.isView(v) || v instanceof DataView) return null
  const name = v.constructor.name as TypedArrayName
  return name in TYPED_ARRAYS ? name : null
}

export function encodeMessage(msg: WireMessage): Uint8Array {
  const blobs: AnyTypedArray[] = []
  const json = JSON.stringify(msg, (_key, value: unknown) => {
    const name = typedArrayName(value)
    if (name === null) return value
    const arr = value as AnyTypedArray
    blobs.push(arr)
    const ref: BinRef = { $bin: blobs.length - 1, type: name, length: arr.length }
    return ref
  })
  const header = new TextEncoder().encode(json)
  const align = (n: number) => (n + 7) & ~7
  let size = align(4 + header.length)
  const offsets = blobs.map((b) => {
    const at = size
    size = align(size + b.byteLength)
    return at
  })
  const out = new Uint8Array(size)
  new DataView(out.buffer).setUint32(0, header.length, true)
  out.set(header, 4)
  blobs.forEach((b, i) => out.set(new Uint8Array(b.buffer, b.byteOffset, b.byteLength), offsets[i]))
  return out
}

export function decodeMessage(frame: Uint8Array): WireMessage {
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength)
  if (frame.byteLength < 4) throw new Error('wire: frame too short')
  const headerLength = view.getUint32(0, true)
  if (4 + headerLength > frame.byteLength) throw new Error('wire: header length beyond frame')
  const json = new TextDecoder().decode(frame.subarray(4, 4 + headerLength))
  const align = (n: number) => (n + 7) & ~7
  let at = align(4 + headerLength)
  const refs: BinRef[] = []
  const parsed = JSON.parse(json, (_key, value: unknown) => {
    if (value !== null && typeof value === 'object' && '$bin' in value) refs.push(value as BinRef)
    return value
  }) as WireMessage
  // Blobs were written in index order; copy each into its own aligned buffer.
  const arrays: AnyTypedArray[] = []
  for (const ref of refs.sort((a, b) => a.$bin - b.$bin)) {
    const ctor = TYPED_ARRAYS[ref.type]
    if (!ctor) throw new Error(`wire: unknown array type ${String(ref.type)}`)
    const bytes = ref.length * ctor.BYTES_PER_ELEMENT
    if (at + bytes > frame.byteLength) throw new Error('wire: array beyond frame')
    const copy = frame.slice(at, at + bytes)
    arrays[ref.$bin] = new ctor(copy.buffer, 0, ref.length)
    at = align(at + bytes)
  }
  return revive(parsed, arrays) as WireMessage
}

function revive(value: unknown, arrays: AnyTypedArray[]): unknown {
  if (Array.isArray(value)) return value.map((v) => revive(v, arrays))
  if (value !== null && typeof value === 'object') {
    if ('$bin' in value) return arrays[(value as BinRef).$bin]
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) out[k] = revive(v, arrays)
    return out
  }
  return value
}
