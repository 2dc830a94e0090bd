/**
 * Child process of memory.test.ts: opens each volume given, reads whole slices along every axis
 * and random 64^3 boxes, checks the voxels the parent wrote (pattern) and that holes read 0,
 * and prints its peak resident memory. Bundled and run with plain node, as the app runs.
 */
import { readFileSync } from 'node:fs'
import { openVolume } from '../../src/main/engine/io/open'
import type { Box3, Vec3 } from '../../src/shared/types'
import { pattern, type ChildVolume } from './memory-spec'
import { seededRandom } from '../../src/main/engine/random'

function peakKB(): number {
  return Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1])
}

async function check(spec: ChildVolume): Promise<string[]> {
  const errors: string[] = []
  const v = await openVolume(spec.path)
  const [d, h, w] = v.shape
  const rows = spec.writtenRows ?? [0, h]
  const expect = (z: number, y: number, x: number) => (spec.written.includes(z) && y >= rows[0] && y < rows[1] ? pattern(z, y, x) : 0)
  const verify = async (box: Box3, what: string) => {
    const data = await v.read(box)
    const [bz, by, bx] = box.stop.map((s, a) => s - box.start[a]) as Vec3
    let bad = 0
    for (let i = 0; i < data.length && bad === 0; i += 97) {
      const z = box.start[0] + Math.floor(i / (by * bx))
      const y = box.start[1] + (Math.floor(i / bx) % by)
      const x = box.start[2] + (i % bx)
      if (Number(data[i]) !== expect(z, y, x)) bad++
    }
    if (bad) errors.push(`${spec.path}: ${what} ${JSON.stringify(box)} has wrong voxels`)
    if (data.length !== bz * by * bx) errors.push(`${spec.path}: ${what} returned ${data.length} voxels`)
  }
  const zs = spec.written.at(-1) as number
  await verify({ start: [zs, 0, 0], stop: [zs + 1, h, w] }, 'z-slice')
  await verify({ start: [0, rows[0] + 3, 0], stop: [d, rows[0] + 4, w] }, 'y-slice (xz plane)')
  await verify({ start: [0, 0, Math.floor(w / 2)], stop: [d, Math.min(h, 128), Math.floor(w / 2) + 1] }, 'x-slice (yz plane, 128 rows)')
  const next = seededRandom(12345)
  const rand = (n: number) => Math.floor(next() * n)
  for (let i = 0; i < 10; i++) {
    // The first boxes cut through written slices, the rest land anywhere.
    const start: Vec3 = [i < 3 ? Math.max(0, Math.min(d - 64, spec.written[i % spec.written.length] - 30)) : rand(d - 64), i < 3 ? rand(64) : rand(h - 64), rand(w - 64)]
    await verify({ start, stop: start.map((s) => s + 64) as Vec3 }, '64^3 box')
  }
  await v.close()
  return errors
}

const specs = JSON.parse(process.argv[2]) as ChildVolume[]
const errors: string[] = []
const t0 = performance.now()
for (const spec of specs) errors.push(...(await check(spec)))
process.stdout.write(`${JSON.stringify({ peakKB: peakKB(), errors, seconds: (performance.now() - t0) / 1000 })}\n`)
