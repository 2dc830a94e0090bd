import type { Box3, Histogram, VolumeInfo } from '../types'

export interface VolumeCalls {
  'volume.list': { args: Record<string, never>; result: VolumeInfo[] }
  /** Starts a histogram job over the whole volume; the result arrives when the job ends. */
  'volume.histogram': { args: { volumeId: string; bins?: number }; result: { jobId: string; histogram: Histogram } }
  /** Raw voxels of a box, in the volume's dtype, (z, y, x) C order. */
  'volume.read': {
    args: { volumeId: string; box: Box3 }
    result: { data: Uint8Array | Uint16Array | Float32Array | Uint32Array | BigUint64Array }
  }
}
