/**
 * bench/io: read speed of every volume format the app opens, for a whole volume and for random
 * 64^3 boxes, next to reading the same bytes from the file system sequentially in the same run.
 *
 *   npx tsx bench/io/index.ts [--shape 64,512,512] [--boxes 40]
 *
 * The volume is synthetic EM (engine/io/synthetic.ts), so compressed formats compress as real
 * data does. Files sit in the OS page cache (written just before), so the reference is a
 * memory-speed sequential read and the ratios show the cost of each format's parsing and
 * decoding. Every measurement opens the volume afresh with an empty chunk cache.
 * The N5 container is written by this script (gzip blocks, as n5-java and zarr's N5Store do),
 * since the app writes Zarr, TIFF, HDF5 and .npy but not N5.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { encode as encodePng } from 'fast-png'
import { gzipSync } from 'fflate'
import { chunkCache, setChunkCacheLimit } from '../../src/main/engine/io/cache'
import { openVolume } from '../../src/main/engine/io/open'
import { syntheticVolume } from '../../src/main/engine/io/synthetic'
import { TiffWriter } from '../../src/main/engine/io/tiff-writer'
import type { VolumeSource } from '../../src/main/engine/io/volume'
import { writeVolume } from '../../src/main/engine/io/write'
import type { Vec3 } from '../../src/shared/types'
import { seededRandom } from '../../src/main/engine/random'

const { values } = parseArgs({ options: { shape: { type: 'string', default: '64,512,512' }, boxes: { type: 'string', default: '40' } } })
const shape = values.shape.split(',').map(Number) as Vec3
const boxes = Number(values.boxes)
const [depth, height, width] = shape
const MB = 1024 * 1024

/** Files under a path (a store or folder is all its files). */
function files(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path]
  return readdirSync(path, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => join(d.parentPath, d.name))
}

/** N5 with gzip blocks: attributes.json, then <x>/<y>/<z> block files (big-endian header). */
function writeN5(dir: string, data: Uint8Array, block: Vec3): void {
  mkdirSync(join(dir, 'raw'), { recursive: true })
  writeFileSync(join(dir, 'attributes.json'), JSON.stringify({ n5: '2.5.1' }))
  const dims = [...shape].reverse()
  writeFileSync(join(dir, 'raw/attributes.json'), JSON.stringify({ dimensions: dims, blockSize: [...block].reverse(), dataType: 'uint8', compression: { type: 'gzip', level: 6 } }))
  for (let bz = 0; bz * block[0] < depth; bz++) {
    for (let by = 0; by * block[1] < height; by++) {
      for (let bx = 0; bx * block[2] < width; bx++) {
        const size = [block[0], block[1], block[2]].map((b, a) => Math.min(b, shape[a] - [bz, by, bx][a] * b))
        const body = new Uint8Array(size[0] * size[1] * size[2])
        let i = 0
        for (let z = 0; z < size[0]; z++) {
          for (let y = 0; y < size[1]; y++) {
            const from = ((bz * block[0] + z) * height + by * block[1] + y) * width + bx * block[2]
            body.set(data.subarray(from, from + size[2]), i)
            i += size[2]
          }
        }
        const header = new DataView(new ArrayBuffer(4 + 12))
        header.setUint16(0, 0)
        header.setUint16(2, 3)
        size.reverse().forEach((n, k) => header.setUint32(4 + 4 * k, n))
        const file = join(dir, 'raw', String(bx), String(by), String(bz))
        mkdirSync(join(dir, 'raw', String(bx), String(by)), { recursive: true })
        writeFileSync(file, Buffer.concat([new Uint8Array(header.buffer), gzipSync(body)]))
      }
    }
  }
}

async function timed<T>(fn: () => Promise<T>): Promise<number> {
  const t = performance.now()
  await fn()
  return (performance.now() - t) / 1000
}

/** Seconds to read `path` (every file of it) from the file system, front to back. */
async function sequentialRead(path: string): Promise<number> {
  return timed(async () => {
    for (const f of files(path)) await readFile(f)
  })
}

async function withVolume(path: string, dataset: string | undefined, fn: (v: VolumeSource) => Promise<unknown>): Promise<number> {
  chunkCache().clear()
  const v = await openVolume(path, dataset ? { dataset } : {})
  try {
    return await timed(() => fn(v))
  } finally {
    await v.close()
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tu-bench-io-'))
  try {
    process.stderr.write(`synthetic EM ${shape.join('x')} ...\n`)
    const raw = syntheticVolume({ shape, seed: 1 }).raw.data as Uint8Array
    const volumeMB = raw.length / MB
    const entries: Array<{ name: string; path: string; dataset?: string }> = []
    const add = (name: string, path: string, dataset?: string) => entries.push({ name, path, ...(dataset ? { dataset } : {}) })

    const tifRaw = join(dir, 'raw.tif')
    const tw = await TiffWriter.create(tifRaw, { shape, dtype: 'uint8', compression: 'none' })
    await tw.writeSlab(0, raw)
    await tw.close()
    add('TIFF, uncompressed', tifRaw)
    await writeVolume(join(dir, 'deflate.tif'), raw, shape, 'uint8')
    add('TIFF, deflate', join(dir, 'deflate.tif'))
    const png = join(dir, 'png')
    mkdirSync(png)
    for (let z = 0; z < depth; z++) {
      writeFileSync(join(png, `s${z}.png`), encodePng({ width, height, data: raw.subarray(z * height * width, (z + 1) * height * width), channels: 1, depth: 8 }))
    }
    add('PNG slices', png)
    await writeVolume(join(dir, 'v.h5'), raw, shape, 'uint8', { chunkShape: [16, 128, 128] })
    add('HDF5, gzip, chunks 16x128x128', join(dir, 'v.h5'))
    await writeVolume(join(dir, 'v.zarr'), raw, shape, 'uint8', { chunkShape: [32, 128, 128] })
    add('Zarr v3, zstd, chunks 32x128x128', join(dir, 'v.zarr'))
    writeN5(join(dir, 'v.n5'), raw, [32, 128, 128])
    add('N5, gzip, blocks 32x128x128', join(dir, 'v.n5'), 'raw')
    await writeVolume(join(dir, 'v.npy'), raw, shape, 'uint8')
    add('.npy', join(dir, 'v.npy'))

    // Random 64^3 boxes (the same ones for every format).
    const next = seededRandom(7)
    const rand = (n: number) => Math.floor(next() * n)
    const boxList = Array.from({ length: boxes }, () => {
      const start = shape.map((n) => rand(Math.max(1, n - 64))) as Vec3
      return { start, stop: start.map((s, a) => Math.min(shape[a], s + 64)) as Vec3 }
    })
    const boxMB = boxList.reduce((sum, b) => sum + b.stop.reduce((p, s, a) => p * (s - b.start[a]), 1), 0) / MB

    setChunkCacheLimit(256 * MB)
    const rows: string[][] = [['format', 'on disk MB', 'file read MB/s', 'whole volume MB/s', 'x file read', `${boxes} boxes 64^3 MB/s`, 'x file read']]
    for (const e of entries) {
      const diskMB = files(e.path).reduce((s, f) => s + statSync(f).size, 0) / MB
      const seq = await sequentialRead(e.path)
      const whole = await withVolume(e.path, e.dataset, (v) => v.read({ start: [0, 0, 0], stop: shape }))
      const box = await withVolume(e.path, e.dataset, async (v) => {
        for (const b of boxList) await v.read(b)
      })
      const seqRate = volumeMB / seq // voxel MB delivered per second by a plain read of the file
      rows.push([
        e.name,
        diskMB.toFixed(1),
        seqRate.toFixed(0),
        (volumeMB / whole).toFixed(0),
        (volumeMB / whole / seqRate).toFixed(3),
        (boxMB / box).toFixed(0),
        (boxMB / box / seqRate).toFixed(3),
      ])
    }
    const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)))
    process.stdout.write(`Volume ${shape.join(' x ')} uint8 (${volumeMB.toFixed(0)} MB of voxels); MB/s counts voxel bytes delivered.\n`)
    process.stdout.write(`File read: the format's files read whole with fs.readFile (page cache warm), as voxel MB/s.\n\n`)
    for (const r of rows) process.stdout.write(`${r.map((v, c) => (c === 0 ? v.padEnd(widths[c]) : v.padStart(widths[c]))).join('  ')}\n`)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

await main()
