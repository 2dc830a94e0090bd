/**
 * Lossless, compact encoding of integer columns (fragment and segment ids, voxel indices, labels)
 * for the blobs in project.sqlite.
 *
 * A blob is one byte (0: stored, 1: raw DEFLATE) and then the column stream, deflated when it is
 * at least DEFLATE_FROM bytes long (below that, compressing costs more time than it saves bytes).
 * The stream: a varint column count, then for each column a varint length and its values, each
 * as the zigzag-mapped difference to the previous value in the column (the first against 0), as
 * an unsigned LEB128 varint. Sorted id columns and runs of equal labels take about one byte per
 * value before deflate.
 *
 * Values are integers in [0, MAX_VALUE]; 2^52 - 1 keeps every zigzag difference an exact double.
 * node:zlib rather than fflate here: it costs a tenth as much per call on small blobs, and replay
 * on open decodes every edit.
 */
import { deflateRawSync, inflateRawSync } from 'node:zlib'
import { StudioError } from '../../../shared/errors'

export const MAX_VALUE = 2 ** 52 - 1
const DEFLATE_FROM = 256
const STORED = 0
const DEFLATED = 1

export function isStorableInteger(v: number): boolean {
  return Number.isInteger(v) && v >= 0 && v <= MAX_VALUE
}

export function encodeColumns(columns: readonly ArrayLike<number>[]): Uint8Array {
  let total = 0
  for (const c of columns) total += c.length
  // A varint holds 7 bits a byte: 8 bytes cover 2^53; lengths need at most 8 more each.
  const out = new Uint8Array(8 * (total + columns.length + 1))
  let at = putVarint(out, 0, columns.length)
  for (const column of columns) {
    at = putVarint(out, at, column.length)
    let previous = 0
    for (let i = 0; i < column.length; i++) {
      const v = column[i]
      if (!isStorableInteger(v)) throw new StudioError('internal', `codec: ${v} is not an integer in [0, 2^52)`)
      const d = v - previous
      at = putVarint(out, at, d >= 0 ? 2 * d : -2 * d - 1)
      previous = v
    }
  }
  const stream = out.subarray(0, at)
  const deflate = stream.length >= DEFLATE_FROM
  const body = deflate ? deflateRawSync(stream) : stream
  const blob = new Uint8Array(1 + body.length)
  blob[0] = deflate ? DEFLATED : STORED
  blob.set(body, 1)
  return blob
}

/** Inverse of encodeColumns; `what` names the blob in the error for a damaged one. */
export function decodeColumns(blob: Uint8Array, what: string): Float64Array[] {
  let raw: Uint8Array
  if (blob[0] === STORED) {
    raw = blob.subarray(1)
  } else if (blob[0] === DEFLATED) {
    try {
      raw = inflateRawSync(blob.subarray(1))
    } catch (err) {
      throw new StudioError('bad_format', `${what}: damaged compressed data (${(err as Error).message})`, { cause: err })
    }
  } else {
    throw new StudioError('bad_format', `${what}: unknown encoding ${blob[0]}`)
  }
  const reader = { at: 0 }
  const next = () => getVarint(raw, reader, what)
  const count = next()
  const columns: Float64Array[] = []
  for (let c = 0; c < count; c++) {
    const length = next()
    if (length > raw.length - reader.at) throw new StudioError('bad_format', `${what}: column ${c} claims ${length} values past the end`)
    const column = new Float64Array(length)
    let previous = 0
    for (let i = 0; i < length; i++) {
      const z = next()
      previous += z % 2 === 0 ? z / 2 : -(z + 1) / 2
      column[i] = previous
    }
    columns.push(column)
  }
  if (reader.at !== raw.length) throw new StudioError('bad_format', `${what}: ${raw.length - reader.at} stray bytes after the columns`)
  return columns
}

function putVarint(out: Uint8Array, at: number, v: number): number {
  while (v >= 0x80000000) {
    out[at++] = (v % 0x80) | 0x80
    v = Math.floor(v / 0x80)
  }
  while (v >= 0x80) {
    out[at++] = (v & 0x7f) | 0x80
    v >>>= 7
  }
  out[at++] = v
  return at
}

function getVarint(raw: Uint8Array, reader: { at: number }, what: string): number {
  let v = 0
  let scale = 1
  for (let i = 0; i < 8; i++) {
    if (reader.at >= raw.length) throw new StudioError('bad_format', `${what}: truncated data`)
    const b = raw[reader.at++]
    v += (b & 0x7f) * scale
    if (b < 0x80) return v
    scale *= 0x80
  }
  throw new StudioError('bad_format', `${what}: a number longer than 8 bytes`)
}
