/** Seeded uniform numbers in [0, 1) (mulberry32): reproducible streams for synthetic data, initial weights, sampling. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** `n` seeded uniform numbers in [lo, hi). */
export function uniformArray(n: number, lo: number, hi: number, seed: number): Float32Array {
  const next = seededRandom(seed)
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * next())
}
