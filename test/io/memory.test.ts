/**
 * Volumes larger than memory: multi-gigabyte volumes on disk (sparse files, and stores with most
 * chunks missing, so the test writes only megabytes) are read slice by slice and box by box in a
 * child process, whose peak resident memory must stay under 400 MB with a 64 MB chunk cache.
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { build } from 'esbuild'
import { afterAll, describe, expect, it } from 'vitest'
import { Hdf5Writer } from '../../src/main/engine/io/hdf5'
import { NpyWriter } from '../../src/main/engine/io/npy'
import { TiffWriter } from '../../src/main/engine/io/tiff-writer'
import { ZarrArrayWriter } from '../../src/main/engine/io/zarr-store'
import { pattern, type ChildVolume } from './memory-spec'

const PEAK_RSS_BOUND_MB = 400
const CACHE_MB = 64
const GiB = 2 ** 30

const tmp = mkdtempSync(join(tmpdir(), 'tu-io-big-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

/** Rows y0..y1 (full width w) of z-slice z of the pattern: each row a run of a 0..250 cycle. */
function slab(z: number, y0: number, y1: number, w: number, ctor: Uint8ArrayConstructor | Uint16ArrayConstructor = Uint8Array) {
  const cycle = new ctor(w + 251)
  for (let i = 0; i < cycle.length; i++) cycle[i] = i % 251
  const out = new ctor((y1 - y0) * w)
  for (let y = y0; y < y1; y++) {
    const start = pattern(z, y, 0)
    out.set(cycle.subarray(start, start + w), (y - y0) * w)
  }
  return out
}

describe('volumes larger than memory', () => {
  it(`reads slices and boxes of multi-GB TIFF, Zarr, HDF5 and .npy volumes in < ${PEAK_RSS_BOUND_MB} MB`, async () => {
    const specs: ChildVolume[] = []

    // BigTIFF, uncompressed strips, 288 x 4096 x 4096 uint8 = 4.5 GiB; two pages written.
    const tif = join(tmp, 'big.tif')
    const tiff = await TiffWriter.create(tif, { shape: [288, 4096, 4096], dtype: 'uint8', compression: 'none' })
    for (const z of [177, 287]) await tiff.writeSlab(z, slab(z, 0, 4096, 4096))
    await tiff.close()
    expect(tiff.bigTiff).toBe(true)
    expect(statSync(tif).size).toBeGreaterThan(4.5 * GiB)
    specs.push({ path: tif, written: [177, 287] })

    // .npy, 288 x 4096 x 4096 uint8 = 4.5 GiB (a sparse file); two slices written.
    const npy = join(tmp, 'big.npy')
    const np = await NpyWriter.create(npy, [288, 4096, 4096], 'uint8')
    for (const z of [100, 200]) await np.writeSlab(z, slab(z, 0, 4096, 4096))
    await np.close()
    expect(statSync(npy).size).toBeGreaterThan(4.5 * GiB)
    specs.push({ path: npy, written: [100, 200] })

    // Zarr v3, 512 x 2048 x 4096 uint8 = 4 GiB logical; one slice written in rows 0..128.
    const zarr = join(tmp, 'big.zarr')
    const z = await ZarrArrayWriter.create(zarr, { shape: [512, 2048, 4096], dtype: 'uint8', chunkShape: [8, 128, 128] })
    await z.writeBox({ start: [40, 0, 0], stop: [41, 128, 4096] }, slab(40, 0, 128, 4096))
    await z.flush()
    specs.push({ path: zarr, written: [40], writtenRows: [0, 128] })

    // HDF5, chunked and gzip-compressed, 256 x 2048 x 2048 uint16 = 2 GiB logical; one slice written.
    const h5 = join(tmp, 'big.h5')
    const hw = await Hdf5Writer.create(h5, { dataset: 'volumes/raw', shape: [256, 2048, 2048], dtype: 'uint16', chunkShape: [8, 256, 256] })
    await hw.writeSlab(200, slab(200, 0, 2048, 2048, Uint16Array))
    await hw.close()
    specs.push({ path: h5, written: [200] })

    // The child runs as the app does: our code bundled, dependencies from node_modules, plain node.
    const dir = join(import.meta.dirname, '../../node_modules/.cache/tokenunify-io')
    mkdirSync(dir, { recursive: true })
    const child = join(dir, 'memory-child.mjs')
    await build({ entryPoints: [join(import.meta.dirname, 'memory-child.ts')], bundle: true, platform: 'node', format: 'esm', packages: 'external', outfile: child, logLevel: 'error' })
    const out = execFileSync(process.execPath, [child, JSON.stringify(specs)], {
      encoding: 'utf8',
      env: { ...process.env, TOKENUNIFY_CHUNK_CACHE_MB: String(CACHE_MB) },
      timeout: 120_000,
    })
    const result = JSON.parse(out.trim().split('\n').at(-1) as string) as { peakKB: number; errors: string[]; seconds: number }
    expect(result.errors).toEqual([])
    expect(result.peakKB / 1024).toBeLessThan(PEAK_RSS_BOUND_MB)
  }, 120_000)
})
