/**
 * Label volumes with known answers for the segmentation tests and benchmark, and affinities made
 * from them the way the official training data are (../shared/design/TOKENUNIFY.md section 4):
 * borders widened per slice (seg_widen_border), then seg_to_aff, plus noise.
 */
import type { Vec3 } from '../../src/shared/types'

/** Deterministic uniform numbers in [0, 1). */
export function random(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = Math.imul(a ^ (a >>> 15), a | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * Neurite-like cells: a Voronoi diagram of jittered seeds on a `cell`-pixel grid in each slice,
 * the seeds drifting slowly with z, so cells are long columns with tilted, curved sides.
 * Ids 1..n, no background.
 */
export function cellLabels(shape: Vec3, cell: number, seed: number): Uint32Array {
  const [Z, Y, X] = shape
  const rnd = random(seed)
  const gy = Math.ceil(Y / cell) + 1
  const gx = Math.ceil(X / cell) + 1
  const jitter = Array.from({ length: gy * gx }, () => [rnd() * cell, rnd() * cell, (rnd() - 0.5) * 0.3, (rnd() - 0.5) * 0.3])
  const out = new Uint32Array(Z * Y * X)
  for (let z = 0, i = 0; z < Z; z++) {
    for (let y = 0; y < Y; y++) {
      for (let x = 0; x < X; x++, i++) {
        const cy = Math.floor(y / cell)
        const cx = Math.floor(x / cell)
        let best = 0
        let bestD = Infinity
        for (let a = Math.max(0, cy - 1); a <= Math.min(gy - 1, cy + 1); a++) {
          for (let b = Math.max(0, cx - 1); b <= Math.min(gx - 1, cx + 1); b++) {
            const j = jitter[a * gx + b]
            const dy = y - (a * cell + j[0] + j[2] * z)
            const dx = x - (b * cell + j[1] + j[3] * z)
            const d = dy * dy + dx * dx
            if (d < bestD) {
              bestD = d
              best = a * gx + b + 1
            }
          }
        }
        out[i] = best
      }
    }
  }
  return out
}

/** seg_widen_border(tsz_h=1): per slice, a voxel whose 3x3 neighbourhood (reflected) holds two non-zero ids becomes 0. */
export function widenBorders(labels: Uint32Array, shape: Vec3): Uint32Array {
  const [Z, Y, X] = shape
  const out = labels.slice()
  const reflect = (v: number, n: number) => (v < 0 ? -v : v >= n ? 2 * n - 2 - v : v)
  for (let z = 0; z < Z; z++) {
    for (let y = 0; y < Y; y++) {
      for (let x = 0; x < X; x++) {
        let first = 0
        let two = false
        for (let dy = -1; dy <= 1 && !two; dy++) {
          for (let dx = -1; dx <= 1; dx++) {
            const v = labels[(z * Y + reflect(y + dy, Y)) * X + reflect(x + dx, X)]
            if (v === 0) continue
            if (first === 0) first = v
            else if (v !== first) {
              two = true
              break
            }
          }
        }
        if (two) out[(z * Y + y) * X + x] = 0
      }
    }
  }
  return out
}

/**
 * seg_to_aff(mknhood3d(1)) as uint8 (255 = 1): channel c is 1 where a voxel and its predecessor
 * along z, y, x share a non-zero id (first plane: id > 0). `noise` adds a uniform perturbation
 * of that amplitude (in [0, 1] units) after mapping 0 -> 0.1 and 1 -> 0.9.
 */
export function labelAffinities(labels: Uint32Array, shape: Vec3, noise: number, seed: number): Uint8Array {
  const [Z, Y, X] = shape
  const n = Z * Y * X
  const rnd = random(seed)
  const out = new Uint8Array(3 * n)
  const strides = [Y * X, X, 1]
  for (let z = 0, i = 0; z < Z; z++) {
    for (let y = 0; y < Y; y++) {
      for (let x = 0; x < X; x++, i++) {
        const l = labels[i]
        const at = [z, y, x]
        for (let c = 0; c < 3; c++) {
          const same = l !== 0 && (at[c] === 0 || labels[i - strides[c]] === l)
          const v = (same ? 0.9 : 0.1) + (rnd() - 0.5) * 2 * noise
          out[c * n + i] = Math.round(255 * Math.min(1, Math.max(0, v)))
        }
      }
    }
  }
  return out
}
