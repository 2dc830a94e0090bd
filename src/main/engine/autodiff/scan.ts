/**
 * The selective scan's backward on the CPU: the native reverse-time kernel
 * (native/src/scan_backward.cc), with the channels split over several libuv workers like the
 * forward (runtime/scan.ts, which documents the layout). dB and dC sum over channels, so each
 * worker writes its own partial sums and they are added here.
 */
import { availableParallelism } from 'node:os'
import { native } from '../native'
import type { ScanDims } from '../runtime/scan'

export interface ScanGradients {
  du: Float32Array
  ddelta: Float32Array
  dA: Float32Array
  dB: Float32Array
  dC: Float32Array
}

export async function selectiveScanBackward(
  u: Float32Array,
  delta: Float32Array,
  A: Float32Array,
  B: Float32Array,
  C: Float32Array,
  dy: Float32Array,
  dims: ScanDims,
  options: { workers?: number; isa?: 'avx512' | 'avx2' | 'scalar' } = {},
): Promise<ScanGradients> {
  const { batch, channels, tokens, state } = dims
  const seq = batch * channels * tokens
  const out: ScanGradients = {
    du: new Float32Array(seq),
    ddelta: new Float32Array(seq),
    dA: new Float32Array(channels * state),
    dB: new Float32Array(batch * state * tokens),
    dC: new Float32Array(batch * state * tokens),
  }
  const workers = Math.max(1, Math.min(channels, options.workers ?? availableParallelism()))
  const per = Math.ceil(channels / workers)
  const calls: Promise<[Float32Array, Float32Array]>[] = []
  for (let d0 = 0; d0 < channels; d0 += per) {
    // The first worker writes straight into the result; the others into buffers added below.
    const first = d0 === 0
    const dB = first ? out.dB : new Float32Array(out.dB.length)
    const dC = first ? out.dC : new Float32Array(out.dC.length)
    calls.push(
      native()
        .selectiveScanBackward(u, delta, A, B, C, dy, out.du, out.ddelta, out.dA, dB, dC, [batch, channels, tokens, state], [d0, Math.min(channels, d0 + per)], options.isa)
        .then(() => [dB, dC]),
    )
  }
  const parts = await Promise.all(calls)
  for (const [dB, dC] of parts.slice(1)) {
    for (let i = 0; i < dB.length; i++) {
      out.dB[i] += dB[i]
      out.dC[i] += dC[i]
    }
  }
  return out
}
