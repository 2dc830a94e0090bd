/** Shared by the io tests: fixture paths and the reference arrays the fixtures must read as. */
import { join } from 'node:path'
import { readNpy } from '../../src/main/engine/io/npy'
import type { Box3, Vec3 } from '../../src/shared/types'
import { seededRandom } from '../../src/main/engine/random'

export const FIXTURES = join(__dirname, '../fixtures/io')

export function fixture(name: string): string {
  return join(FIXTURES, name)
}

export interface Reference {
  shape: Vec3
  data: ArrayLike<number | bigint>
}

/** The values `make_fixtures.py` saved next to the fixtures, with numpy. */
export function reference(name: string): Reference {
  const npy = readNpy(join(FIXTURES, 'expected', `${name}.npy`))
  return { shape: npy.shape as Vec3, data: npy.data }
}

/** Voxels of `box` cut from a reference array, in (z, y, x) C order. */
export function cut(ref: Reference, box: Box3): Array<number | bigint> {
  const out: Array<number | bigint> = []
  const [, sy, sx] = ref.shape
  for (let z = box.start[0]; z < box.stop[0]; z++) {
    for (let y = box.start[1]; y < box.stop[1]; y++) {
      for (let x = box.start[2]; x < box.stop[2]; x++) out.push(ref.data[(z * sy + y) * sx + x])
    }
  }
  return out
}

/** Deterministic pseudo-random boxes inside `shape` (some thin, some whole-axis). */
export function someBoxes(shape: Vec3, n: number, seed = 1): Box3[] {
  const next = seededRandom(seed)
  const rand = (k: number) => Math.floor(next() * k)
  const boxes: Box3[] = [{ start: [0, 0, 0], stop: shape }]
  for (let i = 0; i < n; i++) {
    const start = shape.map((d) => rand(d)) as Vec3
    const stop = start.map((a, k) => a + 1 + rand(shape[k] - a)) as Vec3
    boxes.push({ start, stop })
  }
  return boxes
}
