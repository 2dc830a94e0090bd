/** The chunk cache: one LRU, bounded in bytes, shared by every open volume. */
import { afterEach, describe, expect, it } from 'vitest'
import { ChunkCache, chunkCache, setChunkCacheLimit } from '../../src/main/engine/io/cache'
import { openVolume } from '../../src/main/engine/io/open'
import { fixture } from './helpers'

const chunk = (bytes: number) => ({ data: new Uint8Array(bytes), dims: [1, 1, bytes] as [number, number, number] })

describe('ChunkCache', () => {
  it('keeps at most its limit in bytes, evicting the least recently used first', async () => {
    const cache = new ChunkCache(300)
    let loads = 0
    const load = (key: string) => cache.load(key, async () => (loads++, chunk(100)))
    await load('a')
    await load('b')
    await load('c')
    await load('a') // a is now the most recent
    await load('d') // evicts b
    expect(cache.bytes).toBe(300)
    expect(loads).toBe(4)
    await load('a')
    await load('c')
    expect(loads).toBe(4)
    await load('b')
    expect(loads).toBe(5)
    cache.setLimit(100)
    expect(cache.bytes).toBe(100)
  })

  it('shares one read between loads of the same chunk that overlap in time, and forgets failures', async () => {
    const cache = new ChunkCache(1000)
    let loads = 0
    const slow = () => new Promise<ReturnType<typeof chunk>>((resolve) => setTimeout(() => resolve((loads++, chunk(10))), 20))
    const [a, b] = await Promise.all([cache.load('k', slow), cache.load('k', slow)])
    expect(a).toBe(b)
    expect(loads).toBe(1)
    await expect(cache.load('bad', async () => Promise.reject(new Error('disk')))).rejects.toThrow('disk')
    expect((await cache.load('bad', async () => chunk(5))).data.length).toBe(5)
  })

  it('never caches a chunk larger than the whole limit', async () => {
    const cache = new ChunkCache(50)
    await cache.load('big', async () => chunk(100))
    expect(cache.bytes).toBe(0)
  })
})

describe('the shared cache', () => {
  afterEach(() => setChunkCacheLimit(512 * 1024 * 1024))

  it('holds the chunks of every open volume within its limit, and drops a volume\'s chunks when it closes', async () => {
    chunkCache().clear()
    setChunkCacheLimit(64 * 1024)
    const a = await openVolume(fixture('v2.zarr'), { dataset: 'labels' })
    const b = await openVolume(fixture('cremi.h5'))
    await a.read({ start: [0, 0, 0], stop: a.shape })
    expect(chunkCache().bytes).toBeGreaterThan(0)
    await b.read({ start: [0, 0, 0], stop: b.shape })
    expect(chunkCache().bytes).toBeLessThanOrEqual(64 * 1024)
    const before = chunkCache().bytes
    await b.close()
    expect(chunkCache().bytes).toBeLessThan(before)
    await a.close()
    expect(chunkCache().bytes).toBe(0)
  })
})
