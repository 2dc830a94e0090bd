/** Per-segment colours: a stable hash of the id (and a seed that `l` changes) to a clear, not garish hue. */

function mix32(x: number): number {
  // lowbias32 (Chris Wellons): a fast integer hash with good avalanche.
  x ^= x >>> 16
  x = Math.imul(x, 0x7feb352d)
  x ^= x >>> 15
  x = Math.imul(x, 0x846ca68b)
  x ^= x >>> 16
  return x >>> 0
}

/** RGB (0..255) of segment `id` (an integer below 2^53). */
export function segmentColor(id: number, seed: number): [number, number, number] {
  const lo = id >>> 0
  const hi = Math.floor(id / 4294967296) >>> 0
  const h1 = mix32(lo ^ mix32(hi ^ mix32(seed)))
  const h2 = mix32(h1)
  const hue = h1 / 4294967296
  const sat = 0.55 + 0.4 * ((h2 & 0xffff) / 65535)
  const val = 0.8 + 0.2 * ((h2 >>> 16) / 65535)
  return hsvToRgb(hue, sat, val)
}

export function hsvToRgb(h: number, s: number, v: number): [number, number, number] {
  const i = Math.floor(h * 6)
  const f = h * 6 - i
  const p = v * (1 - s)
  const q = v * (1 - f * s)
  const t = v * (1 - (1 - f) * s)
  const [r, g, b] = [
    [v, t, p],
    [q, v, p],
    [p, v, t],
    [p, q, v],
    [t, p, v],
    [v, p, q],
  ][((i % 6) + 6) % 6]
  return [Math.round(r * 255), Math.round(g * 255), Math.round(b * 255)]
}

export function cssColor(rgb: [number, number, number]): string {
  return `rgb(${rgb[0]}, ${rgb[1]}, ${rgb[2]})`
}
