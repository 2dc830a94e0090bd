import { describe, expect, it } from 'vitest'
import { decodeMessage, encodeMessage } from '../../src/shared/wire'

describe('wire format', () => {
  it('round-trips nested typed arrays of every width, byte for byte', () => {
    const u8 = Uint8Array.from([1, 2, 3])
    const f32 = Float32Array.from([0.5, -1.25, 3e-8])
    const u64 = BigUint64Array.from([0n, 2n ** 63n + 5n])
    const u16 = new Uint16Array(new ArrayBuffer(16), 2, 3).fill(65535)
    const msg = encodeMessage({ t: 'result', id: 7, ok: true, value: { a: u8, list: [f32, { deep: u64 }], odd: u16, n: 4 } })
    const back = decodeMessage(msg)
    expect(back.t).toBe('result')
    const value = (back as { value: { a: Uint8Array; list: [Float32Array, { deep: BigUint64Array }]; odd: Uint16Array; n: number } }).value
    expect(value.a).toBeInstanceOf(Uint8Array)
    expect([...value.a]).toEqual([1, 2, 3])
    expect([...value.list[0]]).toEqual([...f32])
    expect(value.list[1].deep[1]).toBe(2n ** 63n + 5n)
    expect([...value.odd]).toEqual([65535, 65535, 65535])
    expect(value.n).toBe(4)
  })

  it('rejects frames whose header claims more bytes than exist', () => {
    const frame = encodeMessage({ t: 'event', name: 'x', payload: new Float64Array(4) })
    expect(() => decodeMessage(frame.subarray(0, frame.length - 8))).toThrow(/beyond frame/)
    expect(() => decodeMessage(new Uint8Array(2))).toThrow(/too short/)
  })
})
