/** The native addon (native/), loaded once. Its functions are typed here, in one place. */
import { createRequire } from 'node:module'
import { existsSync } from 'node:fs'
import { appPaths } from './paths'
import { StudioError } from '../../shared/errors'

export interface NativeAddon {
  /** Counts of values in [min, max] over `bins` equal bins, on a worker thread. */
  histogram(array: Uint8Array | Uint16Array | Float32Array, bins: number, min: number, max: number): Promise<Float64Array>
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
