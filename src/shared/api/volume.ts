import type { Box3, Histogram, IntensityWindow, VolumeInfo, VolumeProbe } from '../types'

export interface VolumeCalls {
  'volume.list': { args: Record<string, never>; result: VolumeInfo[] }
  /** Starts a histogram job over the whole volume; the result arrives when the job ends. */
  'volume.histogram': { args: { volumeId: string; bins?: number }; result: { jobId: string; histogram: Histogram } }
  /**
   * Opens a volume where it lies, read lazily: TIFF/BigTIFF, a folder of TIFF/PNG/JPEG slices,
   * HDF5, Zarr v2/v3 (OME-Zarr levels as datasets '0', '1', ...), N5, .npy. `dataset` names the
   * array in a container; `channel` picks one channel of an array like affinities (3, z, y, x).
   */
  'volume.open': { args: { path: string; dataset?: string; channel?: number }; result: VolumeInfo }
  /** What a file or folder holds, for a dataset picker: its format and every array in it. */
  'volume.probe': { args: { path: string }; result: VolumeProbe }
  /**
   * The intensity window mapping a uint16/float volume to the network's uint8 input (identity
   * for uint8). `window` sets it, `null` goes back to the default (0.5/99.5 percentiles).
   */
  'volume.window': {
    args: { volumeId: string; window?: IntensityWindow | null }
    result: { window: IntensityWindow; default: IntensityWindow }
  }
  /** Closes an open volume and drops its cached chunks. */
  'volume.close': { args: { volumeId: string }; result: { closed: boolean } }
  /** Raw voxels of a box, in the volume's dtype, (z, y, x) C order. */
  'volume.read': {
    args: { volumeId: string; box: Box3 }
    result: { data: Uint8Array | Uint16Array | Float32Array | Uint32Array | BigUint64Array }
  }
}
