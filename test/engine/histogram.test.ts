import { describe, expect, it } from 'vitest'
import { createEngine } from '../../src/main/engine/api'
import { ArrayVolume } from '../../src/main/engine/io/volume'
import { native } from '../../src/main/engine/native'
import type { JobInfo } from '../../src/shared/types'

function jsHistogram(data: ArrayLike<number>, bins: number, lo: number, hi: number): number[] {
  const counts = new Array<number>(bins).fill(0)
  for (let i = 0; i < data.length; i++) {
    const v = data[i]
    if (!(v >= lo && v <= hi)) continue
    counts[Math.min(bins - 1, Math.floor(((v - lo) * bins) / (hi - lo)))]++
  }
  return counts
}

describe('native histogram', () => {
  it('matches a plain count for uint8, uint16 and float32 (NaN and out-of-range skipped)', async () => {
    const u8 = Uint8Array.from({ length: 10007 }, (_, i) => (i * 37) % 256)
    expect([...(await native().histogram(u8, 256, 0, 255))]).toEqual(jsHistogram(u8, 256, 0, 255))
    const u16 = Uint16Array.from({ length: 5000 }, (_, i) => (i * 7919) % 65536)
    expect([...(await native().histogram(u16, 100, 1000, 60000))]).toEqual(jsHistogram(u16, 100, 1000, 60000))
    const f32 = Float32Array.from({ length: 3000 }, (_, i) => Math.sin(i) * 2)
    f32[5] = NaN
    expect([...(await native().histogram(f32, 10, -1, 1))]).toEqual(jsHistogram(f32, 10, -1, 1))
  })

  it('refuses bad arguments with an error instead of crashing', () => {
    expect(() => native().histogram([1, 2] as unknown as Uint8Array, 4, 0, 1)).toThrow(/typed array/)
    expect(() => native().histogram(new Uint8Array(4), 0, 0, 1)).toThrow(/bins/)
    return expect(native().histogram(new Uint32Array(4) as unknown as Uint8Array, 4, 0, 1)).rejects.toThrow(/uint8, uint16 or float32/)
  })
})

describe('volume.histogram through the engine API', () => {
  it('runs as a job over every slab and reports progress events', async () => {
    const engine = createEngine({ mode: 'cli' })
    const shape: [number, number, number] = [300, 256, 256] // several 16 Mi-voxel slabs
    const data = new Uint8Array(shape[0] * shape[1] * shape[2])
    for (let i = 0; i < data.length; i++) data[i] = (i ^ (i >> 9)) & 255
    const vol = engine.addVolume(new ArrayVolume('ramp', shape, 'uint8', data))
    const updates: JobInfo[] = []
    engine.on('job.update', (j) => updates.push(j))
    const { histogram, jobId } = await engine.call('volume.histogram', { volumeId: vol.id, bins: 256 })
    expect(histogram.counts).toEqual(jsHistogram(data, 256, 0, 255))
    expect(updates.filter((u) => u.id === jobId).at(-1)?.state).toBe('done')
    expect(updates.some((u) => u.id === jobId && u.progress > 0 && u.progress < 1)).toBe(true)
    await engine.close()
  })

  it('names an unknown volume and an unknown call', async () => {
    const engine = createEngine({ mode: 'cli' })
    await expect(engine.call('volume.histogram', { volumeId: 'nope' })).rejects.toThrow(/no open volume with id nope/)
    await expect(engine.call('no.such' as 'app.info', {})).rejects.toThrow(/unknown API call: no.such/)
  })
})
