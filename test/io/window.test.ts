/** Intensity window: uint16/float volumes → the network's uint8 (/255) input. */
import { describe, expect, it } from 'vitest'
import { ArrayVolume } from '../../src/main/engine/io/volume'
import { applyWindow, estimateWindow, NetworkInput, setWindow, windowOf } from '../../src/main/engine/io/window'

describe('intensity window', () => {
  it('defaults to the 0.5 and 99.5 percentiles of a uint16 volume', async () => {
    // Values 0..9999, each equally often: the percentiles are at 50 and 9950.
    const data = Uint16Array.from({ length: 40 * 100 * 100 }, (_, i) => (i * 7919) % 10000)
    const w = await estimateWindow(new ArrayVolume('u16', [40, 100, 100], 'uint16', data))
    expect(w.low).toBeCloseTo(50, 0)
    expect(w.high).toBeCloseTo(9950, 0)
  })

  it('finds the percentiles of float data from a histogram of the sampled chunks', async () => {
    const data = Float32Array.from({ length: 20 * 64 * 64 }, (_, i) => -1 + (2 * ((i * 104729) % 81920)) / 81920)
    const w = await estimateWindow(new ArrayVolume('f32', [20, 64, 64], 'float32', data))
    expect(w.low).toBeCloseTo(-0.99, 2)
    expect(w.high).toBeCloseTo(0.99, 2)
  })

  it('leaves uint8 volumes as they are (the network was trained on raw uint8 / 255)', async () => {
    const data = Uint8Array.from({ length: 1000 }, (_, i) => i % 256)
    const v = new ArrayVolume('u8', [10, 10, 10], 'uint8', data)
    expect(await windowOf(v)).toEqual({ low: 0, high: 255 })
    const box = { start: [0, 0, 0] as [number, number, number], stop: [10, 10, 10] as [number, number, number] }
    expect(Array.from(await new NetworkInput(v).read(box))).toEqual(Array.from(data))
  })

  it('maps low to 0 and high to 255, linearly, rounded and clipped; the user can set it', async () => {
    expect(Array.from(applyWindow(Float32Array.of(-5, 100, 150, 200, 300, 1000), { low: 100, high: 300 }))).toEqual([0, 0, 64, 128, 255, 255])
    const v = new ArrayVolume('u16', [1, 1, 4], 'uint16', Uint16Array.of(1000, 1500, 2000, 4000))
    setWindow(v, { low: 1000, high: 2000 })
    const input = new NetworkInput(v)
    expect(input.dtype).toBe('uint8')
    expect(Array.from(await input.read({ start: [0, 0, 0], stop: [1, 1, 4] }))).toEqual([0, 128, 255, 255])
    expect(() => setWindow(v, { low: 5, high: 5 })).toThrow(/u16: an intensity window needs finite low < high, got 5\.\.5/)
    setWindow(v, null)
    expect(await windowOf(v)).not.toEqual({ low: 1000, high: 2000 })
    expect(() => new NetworkInput(new ArrayVolume('ids', [1, 1, 1], 'uint32', Uint32Array.of(1)))).toThrow(/label volume is not an image/)
  })
})
