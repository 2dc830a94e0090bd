/** The native addon (native/), loaded once. Its functions are typed here, in one place. */
import { createRequire } from 'node:module'
import { existsSync } from 'node:fs'
import { appPaths } from './paths'
import { StudioError } from '../../shared/errors'

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
  ): Promise<void>
  /** The instruction set the scan kernel uses on this CPU: 'avx512', 'avx2' or 'scalar'. */
  selectiveScanIsa(): string
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
