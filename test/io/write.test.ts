/** Writers: every format reads back exactly; Zarr stores take boxes one by one; exports stream. */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { openVolume } from '../../src/main/engine/io/open'
import { ArrayVolume, type VoxelArray } from '../../src/main/engine/io/volume'
import { exportVolume, writeVolume } from '../../src/main/engine/io/write'
import { ZarrArrayWriter } from '../../src/main/engine/io/zarr-store'
import type { DType, Vec3 } from '../../src/shared/types'
import { StudioError } from '../../src/shared/errors'

const tmp = mkdtempSync(join(tmpdir(), 'tu-io-write-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

const SHAPE: Vec3 = [7, 50, 61]
const N = SHAPE[0] * SHAPE[1] * SHAPE[2]
const DATA: Record<DType, VoxelArray> = {
  uint8: new Uint8Array(N).map((_, i) => (i * 31) % 251),
  uint16: new Uint16Array(N).map((_, i) => (i * 7919) & 0xffff),
  float32: new Float32Array(N).map((_, i) => Math.sin(i) * 1000),
  uint32: new Uint32Array(N).map((_, i) => (i * 2654435761) >>> 0),
  uint64: new BigUint64Array(N).map((_, i) => BigInt(i) * 1000003n + 2n ** 40n),
}

async function readAll(path: string, options?: Parameters<typeof openVolume>[1]) {
  const v = await openVolume(path, options)
  try {
    return { volume: v, data: await v.read({ start: [0, 0, 0], stop: v.shape }) }
  } finally {
    await v.close()
  }
}

describe('writeVolume', () => {
  const cases: Array<[string, DType]> = [
    ['labels.tif', 'uint32'], ['raw.tif', 'uint16'], ['raw8.tif', 'uint8'], ['float.tif', 'float32'],
    ['labels.h5', 'uint64'], ['raw.h5', 'uint16'], ['labels.zarr', 'uint64'], ['float.zarr', 'float32'], ['raw.npy', 'uint16'], ['labels.npy', 'uint64'],
  ]
  it.each(cases)('%s (%s) reads back exactly, with its voxel size', async (name, dtype) => {
    const file = join(tmp, name)
    await writeVolume(file, DATA[dtype], SHAPE, dtype, { voxelSize: [40, 8, 8] })
    const { volume, data } = await readAll(file)
    expect(volume.dtype).toBe(dtype)
    expect(volume.shape).toEqual(SHAPE)
    expect(Array.from(data as ArrayLike<number | bigint>)).toEqual(Array.from(DATA[dtype] as ArrayLike<number | bigint>))
    // TIFF keeps the voxel size for ImageJ types, HDF5 and Zarr as `resolution`; .npy has no place for it.
    const kept = !name.endsWith('.npy') && !(name.endsWith('.tif') && dtype === 'uint32')
    expect(volume.voxelSize).toEqual(kept ? [40, 8, 8] : undefined)
    expect(existsSync(`${file}.partial`)).toBe(false)
  })

  it('writes affinities (3, z, y, x) to Zarr and HDF5, read back one channel at a time', async () => {
    const aff = new Uint8Array(3 * N).map((_, i) => (i * 13) % 256)
    for (const name of ['aff.zarr', 'aff.h5']) {
      await writeVolume(join(tmp, name), aff, [3, ...SHAPE], 'uint8', { dataset: 'affs' })
      for (const c of [0, 2]) {
        const { data } = await readAll(join(tmp, name), { channel: c, ...(name.endsWith('.h5') ? { dataset: 'affs' } : {}) })
        expect(Array.from(data as Uint8Array)).toEqual(Array.from(aff.subarray(c * N, (c + 1) * N)))
      }
    }
  })

  it('refuses to replace a file unless asked, and writes uint64 labels to TIFF only when they fit 32 bits', async () => {
    const file = join(tmp, 'twice.npy')
    await writeVolume(file, DATA.uint8, SHAPE, 'uint8')
    await expect(writeVolume(file, DATA.uint8, SHAPE, 'uint8')).rejects.toThrow(/twice\.npy: already exists/)
    await writeVolume(file, DATA.uint16, SHAPE, 'uint16', { overwrite: true })
    expect((await readAll(file)).volume.dtype).toBe('uint16')

    const small = BigUint64Array.from(DATA.uint32 as Uint32Array, (v) => BigInt(v))
    await writeVolume(join(tmp, 'narrow.tif'), small, SHAPE, 'uint64')
    const back = await readAll(join(tmp, 'narrow.tif'))
    expect(back.volume.dtype).toBe('uint32')
    expect(Array.from(back.data as Uint32Array)).toEqual(Array.from(DATA.uint32 as Uint32Array))

    const err = await writeVolume(join(tmp, 'wide.tif'), DATA.uint64, SHAPE, 'uint64').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(StudioError)
    expect((err as StudioError).message).toMatch(/wide\.tif: label id \d+ .* does not fit the 32 bits/)
    expect(existsSync(join(tmp, 'wide.tif')) || existsSync(join(tmp, 'wide.tif.partial'))).toBe(false)
  })
})

describe('exportVolume', () => {
  it('streams a volume to TIFF in slabs, reporting progress', async () => {
    const source = new ArrayVolume('src', SHAPE, 'uint16', DATA.uint16, [30, 6, 6])
    const seen: number[] = []
    const ctx = { signal: new AbortController().signal, progress: (f: number) => void seen.push(f), throwIfCancelled: () => {} }
    await exportVolume(source, join(tmp, 'export.tif'), {}, ctx)
    const { volume, data } = await readAll(join(tmp, 'export.tif'))
    expect(volume.voxelSize).toEqual([30, 6, 6])
    expect(Array.from(data as Uint16Array)).toEqual(Array.from(DATA.uint16 as Uint16Array))
    expect(seen.at(-1)).toBe(1)
  })
})

describe('ZarrArrayWriter (the project cache)', () => {
  it('takes unaligned, overlapping boxes one by one and keeps every voxel', async () => {
    const path = join(tmp, 'cache.zarr')
    const shape = [3, 20, 30, 40]
    const w = await ZarrArrayWriter.create(path, { shape, dtype: 'uint8', chunkShape: [3, 8, 16, 16], voxelSize: [40, 8, 8] })
    const expected = new Uint8Array(3 * 20 * 30 * 40)
    const boxes = [
      { start: [0, 0, 0, 0], stop: [3, 11, 17, 23] },
      { start: [0, 5, 9, 13], stop: [3, 20, 30, 40] },
      { start: [1, 3, 3, 3], stop: [2, 4, 25, 39] },
    ]
    // Issued together: the writer applies them in order, so later boxes win where they overlap.
    await Promise.all(
      boxes.map((box, k) => {
        const dims = box.stop.map((s, a) => s - box.start[a])
        const data = new Uint8Array(dims.reduce((a, b) => a * b, 1))
        let i = 0
        for (let c = box.start[0]; c < box.stop[0]; c++)
          for (let z = box.start[1]; z < box.stop[1]; z++)
            for (let y = box.start[2]; y < box.stop[2]; y++)
              for (let x = box.start[3]; x < box.stop[3]; x++) {
                const v = (k * 50 + c * 7 + z + y + x) % 256
                data[i++] = v
                expected[((c * 20 + z) * 30 + y) * 40 + x] = v
              }
        return w.writeBox(box, data)
      }),
    )
    const back = await w.readBox({ start: [0, 0, 0, 0], stop: shape })
    expect(Array.from(back as Uint8Array)).toEqual(Array.from(expected))
    // No temp files left behind by the atomic chunk writes.
    const files = readdirSync(path, { recursive: true }).map(String)
    expect(files.filter((f) => f.endsWith('.tmp'))).toEqual([])
    expect(JSON.parse(readFileSync(join(path, 'zarr.json'), 'utf8'))).toMatchObject({ zarr_format: 3, data_type: 'uint8', attributes: { resolution: [40, 8, 8] } })

    // Reopened later (a cache being filled across sessions), then read as a volume per channel.
    const again = await ZarrArrayWriter.open(path)
    await again.writeBox({ start: [2, 19, 29, 39], stop: [3, 20, 30, 40] }, Uint8Array.of(255))
    await again.flush()
    const channel2 = await readAll(path, { channel: 2 })
    expect((channel2.data as Uint8Array)[19 * 30 * 40 + 29 * 40 + 39]).toBe(255)
    expect(channel2.volume.voxelSize).toEqual([40, 8, 8])
  })

  it('stores fragments as uint64 with missing chunks read as zero', async () => {
    const path = join(tmp, 'fragments.zarr')
    const w = await ZarrArrayWriter.create(path, { shape: [10, 10, 10], dtype: 'uint64', chunkShape: [5, 5, 5] })
    await w.writeBox({ start: [5, 5, 5], stop: [10, 10, 10] }, new BigUint64Array(125).fill(2n ** 50n))
    const back = (await w.readBox({ start: [0, 0, 0], stop: [10, 10, 10] })) as BigUint64Array
    expect(back[0]).toBe(0n)
    expect(back[999]).toBe(2n ** 50n)
    await expect(w.writeBox({ start: [0, 0, 0], stop: [1, 1, 1] }, new Uint32Array(1) as never)).rejects.toThrow(/cannot write Uint32Array into a uint64 array/)
  })
})
