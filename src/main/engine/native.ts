/** The native addon (native/), loaded once. Its functions are typed here, in one place. */
import { createRequire } from 'node:module'
import { existsSync } from 'node:fs'
import { appPaths } from './paths'
import { StudioError } from '../../shared/errors'
import type { RegionGraph } from './segment/graph'

export interface NativeAddon {
  /** Counts of values in [min, max] over `bins` equal bins, on a worker thread. */
  histogram(array: Uint8Array | Uint16Array | Float32Array, bins: number, min: number, max: number): Promise<Float64Array>
  /**
   * The Mamba selective scan for channels [d0, d1) on a worker thread, writing y in place
   * (runtime/scan.ts documents the layout). dims = [batch, channels, tokens, state].
   */
  selectiveScan(
    u: Float32Array,
    delta: Float32Array,
    A: Float32Array,
    B: Float32Array,
    C: Float32Array,
    y: Float32Array,
    dims: [number, number, number, number],
    range: [number, number],
    isa?: 'avx512' | 'avx2' | 'scalar',
    /** delta is the pre-activation: the kernel applies softplus (threshold 20) itself. */
    deltaSoftplus?: boolean,
  ): Promise<void>
  /** The instruction set the scan kernel uses on this CPU: 'avx512', 'avx2' or 'scalar'. */
  selectiveScanIsa(): string
  /**
   * The scan's backward for channels [d0, d1) on a worker thread (autodiff/scan.ts documents it):
   * writes du, ddelta and those rows of dA, and into dB and dC the sums over those channels only.
   */
  selectiveScanBackward(
    u: Float32Array,
    delta: Float32Array,
    A: Float32Array,
    B: Float32Array,
    C: Float32Array,
    dy: Float32Array,
    du: Float32Array,
    ddelta: Float32Array,
    dA: Float32Array,
    dB: Float32Array,
    dC: Float32Array,
    dims: [number, number, number, number],
    range: [number, number],
    isa?: 'avx512' | 'avx2' | 'scalar',
  ): Promise<void>

  // Segmentation (native/src/segment.cc and the modules it registers). engine/segment/ is the typed,
  // validated face; call that, not these. Label arrays are Uint32Array or BigUint64Array, affinities
  // (3, z, y, x) Float32Array or Uint8Array (value / 255). Every call runs on a worker thread.
  /** Watershed fragments into `out` (ids 1..count); resolves to the count. */
  fragments(
    affinities: Float32Array | Uint8Array,
    shape: [number, number, number],
    out: Uint32Array | BigUint64Array,
    options: { mode: '2d' | '3d'; sampling?: [number, number, number] },
  ): Promise<number>
  /** Region graph of the fragments inside box [z0, y0, x0, z1, y1, x1] (default: all). */
  regionGraph(
    fragments: Uint32Array | BigUint64Array,
    affinities: Float32Array | Uint8Array,
    shape: [number, number, number],
    box?: number[],
  ): Promise<RegionGraph>
  /** Every merge of hierarchical agglomeration, in order: node indices a, b and the score. */
  agglomerate(
    nodes: number,
    u: Uint32Array,
    v: Uint32Array,
    binOffsets: Float64Array,
    bins: Uint8Array,
    scoring: 'median' | 'waterz',
  ): Promise<{ a: Uint32Array; b: Uint32Array; score: Float64Array }>
  /** Cuts fragment `id` between seed groups, rewriting its voxels in `fragments` to newIds[group]. */
  splitFragment(
    fragments: Uint32Array | BigUint64Array,
    affinities: Float32Array | Uint8Array,
    shape: [number, number, number],
    id: number | bigint,
    seeds: Float64Array,
    groups: Uint32Array,
    newIds: Uint32Array | BigUint64Array,
  ): Promise<{ box: number[]; voxels: Float64Array }>
  /** 6-connected components of equal non-zero labels into `out` (ids 1..count). */
  connectedComponents(labels: Uint32Array | BigUint64Array, shape: [number, number, number], out: Uint32Array | BigUint64Array): Promise<number>
  /** Sorted distinct non-zero ids. */
  uniqueLabels<T extends Uint32Array | BigUint64Array>(labels: T): Promise<T>
  /** out[i] = values[k] where keys[k] == labels[i] (keys ascending); 0 stays 0; out may be labels. */
  mapLabels(
    labels: Uint32Array | BigUint64Array,
    keys: Uint32Array | BigUint64Array,
    values: Uint32Array | BigUint64Array,
    out: Uint32Array | BigUint64Array,
  ): Promise<void>
  /** Surface of the voxels labelled with any of `ids` inside box [z0, y0, x0, z1, y1, x1]; positions in nm, (x, y, z). */
  mesh(
    labels: Uint32Array | BigUint64Array,
    shape: [number, number, number],
    ids: Uint32Array | BigUint64Array,
    box: number[],
    options: { voxelSize?: [number, number, number]; smooth?: number; cluster?: number },
  ): Promise<{ positions: Float32Array; normals: Float32Array; indices: Uint32Array }>
  /** VOI split/merge (bits) and adapted Rand error, ground-truth 0 ignored, with per-id VOI terms. */
  evaluate(
    gt: Uint32Array | BigUint64Array,
    seg: Uint32Array | BigUint64Array,
  ): Promise<{
    voiSplit: number
    voiMerge: number
    arand: number
    voxels: number
    gtIds: Uint32Array | BigUint64Array
    gtSplit: Float64Array
    segIds: Uint32Array | BigUint64Array
    segMerge: Float64Array
  }>
}

let cached: NativeAddon | null = null

export function native(): NativeAddon {
  if (cached) return cached
  const file = appPaths().nativeAddon
  if (!existsSync(file)) {
    throw new StudioError('not_found', `native addon not built: ${file} is missing (run \`npm run build:native\`)`, { file })
  }
  const require = createRequire(import.meta.url)
  cached = require(file) as NativeAddon
  return cached
}

export function nativeAvailable(): boolean {
  try {
    native()
    return true
  } catch {
    return false
  }
}
