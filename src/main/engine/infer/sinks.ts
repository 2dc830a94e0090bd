/**
 * Where inferred affinities go, plane range by plane range. Memory here; files in files.ts.
 */
import { StudioError } from '../../../shared/errors'
import type { Vec3 } from '../../../shared/types'

export interface AffinitySink {
  /** (z, y, x) of the volume. */
  readonly shape: Vec3
  /** Planes [z0, z0 + n) of all three channels: data is (3, n, y, x) float32 in [0, 1]. */
  write(z0: number, n: number, data: Float32Array): Promise<void>
  close(): Promise<void>
}

export function checkWrite(sink: AffinitySink, z0: number, n: number, data: Float32Array): void {
  const [sz, sy, sx] = sink.shape
  if (z0 < 0 || n < 1 || z0 + n > sz || data.length !== 3 * n * sy * sx) {
    throw new StudioError('internal', `affinity sink: planes ${z0}..${z0 + n} (${data.length} values) do not fit ${sink.shape.join('x')}`)
  }
}

/** All affinities in one (3, z, y, x) float32 array. */
export class MemorySink implements AffinitySink {
  readonly data: Float32Array

  constructor(readonly shape: Vec3) {
    this.data = new Float32Array(3 * shape[0] * shape[1] * shape[2])
  }

  async write(z0: number, n: number, data: Float32Array): Promise<void> {
    checkWrite(this, z0, n, data)
    const [sz, sy, sx] = this.shape
    const plane = sy * sx
    for (let c = 0; c < 3; c++) this.data.set(data.subarray(c * n * plane, (c + 1) * n * plane), (c * sz + z0) * plane)
  }

  async close(): Promise<void> {}
}
