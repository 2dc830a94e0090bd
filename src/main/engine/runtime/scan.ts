/**
 * The selective scan on the CPU: the native fused kernel (native/src/scan.cc), with the channels
 * split over several libuv workers. Layout: u, delta, y (batch, channels, tokens);
 * A (channels, state); B, C (batch, state, tokens); all float32, C order. With deltaSoftplus,
 * delta is the pre-activation and the kernel takes softplus(delta).
 */
import { availableParallelism } from 'node:os'
import { StudioError } from '../../../shared/errors'
import { native } from '../native'

export interface ScanDims {
  batch: number
  channels: number
  tokens: number
  state: number
}

/** Runs the scan; writes into `out` when given (it must not alias an input). */
export async function selectiveScan(
  u: Float32Array,
  delta: Float32Array,
  A: Float32Array,
  B: Float32Array,
  C: Float32Array,
  dims: ScanDims,
  options: { out?: Float32Array; workers?: number; isa?: 'avx512' | 'avx2' | 'scalar'; deltaSoftplus?: boolean } = {},
): Promise<Float32Array> {
  const { batch, channels, tokens, state } = dims
  const y = options.out ?? new Float32Array(batch * channels * tokens)
  if (y === u || y === delta) throw new StudioError('internal', 'selectiveScan: out must not alias an input')
  const workers = Math.max(1, Math.min(channels, options.workers ?? availableParallelism()))
  const per = Math.ceil(channels / workers)
  const calls: Promise<void>[] = []
  for (let d0 = 0; d0 < channels; d0 += per) {
    calls.push(native().selectiveScan(u, delta, A, B, C, y, [batch, channels, tokens, state], [d0, Math.min(channels, d0 + per)], options.isa, options.deltaSoftplus))
  }
  await Promise.all(calls)
  return y
}
