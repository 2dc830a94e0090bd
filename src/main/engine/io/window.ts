/**
 * Intensity window: how uint16 and float volumes become the network's input. The network takes
 * raw uint8 EM intensity divided by 255, with no mean/std normalisation (../shared/design/
 * TOKENUNIFY.md section 4), so every volume is first mapped to uint8: `low` → 0, `high` → 255,
 * linearly, clipped. uint8 volumes pass unchanged (window 0..255). For uint16 and float the
 * default window is the 0.5 and 99.5 percentiles of a sample of chunks spread over the volume;
 * the user can set another (API call 'volume.window').
 */
import { StudioError } from '../../../shared/errors'
import type { Box3, IntensityWindow, Vec3 } from '../../../shared/types'
import { native } from '../native'
import type { VolumeSource, VoxelArray } from './volume'

export const DEFAULT_PERCENTILES: [number, number] = [0.5, 99.5]
/** Chunks read to estimate the default window. */
const SAMPLE_CHUNKS = 32
const FLOAT_BINS = 4096

const chosen = new WeakMap<VolumeSource, IntensityWindow>()
const defaults = new WeakMap<VolumeSource, Promise<IntensityWindow>>()

/** Chunk-aligned boxes spread evenly over the volume (deterministic). */
function sampleBoxes(source: VolumeSource, count: number): Box3[] {
  const grid = source.shape.map((n, a) => Math.ceil(n / source.chunkShape[a])) as Vec3
  const total = grid[0] * grid[1] * grid[2]
  const picks = new Set<number>()
  for (let i = 0; i < Math.min(count, total); i++) picks.add(Math.round((i * (total - 1)) / Math.max(1, Math.min(count, total) - 1)))
  return [...picks].map((k) => {
    const index: Vec3 = [Math.floor(k / (grid[1] * grid[2])), Math.floor(k / grid[2]) % grid[1], k % grid[2]]
    const start = index.map((i, a) => i * source.chunkShape[a]) as Vec3
    return { start, stop: start.map((s, a) => Math.min(s + source.chunkShape[a], source.shape[a])) as Vec3 }
  })
}

/** The value below which `p` percent of `counts` lie, interpolated inside its bin of [lo, hi]. */
function percentile(counts: Float64Array, lo: number, hi: number, p: number): number {
  const total = counts.reduce((a, b) => a + b, 0)
  const target = (p / 100) * total
  const width = (hi - lo) / counts.length
  let seen = 0
  for (let b = 0; b < counts.length; b++) {
    if (seen + counts[b] >= target && counts[b] > 0) return lo + width * (b + (target - seen) / counts[b])
    seen += counts[b]
  }
  return hi
}

/** The 0.5/99.5 percentile window of a sample of chunks (identity for uint8). */
export async function estimateWindow(source: VolumeSource, percentiles: [number, number] = DEFAULT_PERCENTILES): Promise<IntensityWindow> {
  if (source.dtype === 'uint8') return { low: 0, high: 255 }
  if (source.dtype !== 'uint16' && source.dtype !== 'float32') {
    throw new StudioError('unsupported', `${source.name}: ${source.dtype} is a label volume; it has no intensity window`)
  }
  const samples: Array<Uint16Array | Float32Array> = []
  for (const box of sampleBoxes(source, SAMPLE_CHUNKS)) samples.push((await source.read(box)) as Uint16Array | Float32Array)
  let lo = 0
  let hi = 65536
  let bins = 65536
  if (source.dtype === 'float32') {
    lo = Infinity
    hi = -Infinity
    for (const s of samples) {
      for (let i = 0; i < s.length; i++) {
        const v = s[i]
        if (v < lo) lo = v
        if (v > hi) hi = v
      }
    }
    if (!Number.isFinite(lo) || !Number.isFinite(hi)) throw new StudioError('bad_input', `${source.name}: no finite values in the sampled chunks`)
    if (hi === lo) return { low: lo, high: lo + 1 }
    bins = FLOAT_BINS
  }
  const counts = new Float64Array(bins)
  for (const s of samples) {
    const part = await native().histogram(s, bins, lo, hi)
    for (let b = 0; b < bins; b++) counts[b] += part[b]
  }
  const low = percentile(counts, lo, hi, percentiles[0])
  const high = percentile(counts, lo, hi, percentiles[1])
  return high > low ? { low, high } : { low, high: low + 1 }
}

/** The default window of `source`, estimated once. */
export function defaultWindowOf(source: VolumeSource): Promise<IntensityWindow> {
  let estimate = defaults.get(source)
  if (!estimate) {
    estimate = estimateWindow(source)
    defaults.set(source, estimate)
  }
  return estimate
}

/** The window in force for `source`: the one set by the user, else the estimated default. */
export async function windowOf(source: VolumeSource): Promise<IntensityWindow> {
  return chosen.get(source) ?? defaultWindowOf(source)
}

/** Sets the user's window for `source`; `null` returns to the default. */
export function setWindow(source: VolumeSource, window: IntensityWindow | null): void {
  if (window === null) {
    chosen.delete(source)
    return
  }
  if (!(Number.isFinite(window.low) && Number.isFinite(window.high) && window.high > window.low)) {
    throw new StudioError('bad_input', `${source.name}: an intensity window needs finite low < high, got ${window.low}..${window.high}`)
  }
  chosen.set(source, { low: window.low, high: window.high })
}

/** Voxels mapped through the window to uint8: low → 0, high → 255, rounded, clipped. */
export function applyWindow(data: VoxelArray, window: IntensityWindow): Uint8Array {
  const out = new Uint8Array(data.length)
  const range = window.high - window.low
  const low = window.low
  const src = data as Float32Array
  for (let i = 0; i < out.length; i++) {
    const v = ((src[i] - low) * 255) / range + 0.5
    out[i] = v <= 0 ? 0 : v >= 255 ? 255 : v // Uint8Array assignment truncates: +0.5 rounds
  }
  return out
}

/** A volume as the network sees it before /255: uint8, through the volume's intensity window. */
export class NetworkInput implements VolumeSource {
  readonly dtype = 'uint8' as const
  readonly name: string
  readonly shape: Vec3
  readonly chunkShape: Vec3
  readonly path?: string
  readonly voxelSize?: Vec3

  constructor(readonly source: VolumeSource) {
    if (source.dtype === 'uint32' || source.dtype === 'uint64') {
      throw new StudioError('bad_input', `${source.name}: a ${source.dtype} label volume is not an image for the network`)
    }
    this.name = source.name
    this.shape = source.shape
    this.chunkShape = source.chunkShape
    if (source.path !== undefined) this.path = source.path
    if (source.voxelSize !== undefined) this.voxelSize = source.voxelSize
  }

  async read(box: Box3): Promise<Uint8Array> {
    const data = await this.source.read(box)
    if (this.source.dtype === 'uint8' && !chosen.has(this.source)) return data as Uint8Array
    return applyWindow(data, await windowOf(this.source))
  }

  async close(): Promise<void> {
    await this.source.close()
  }
}
