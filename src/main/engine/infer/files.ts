/**
 * Affinity files: a .npy file (float32, shape (3, z, y, x)) or a Zarr v3 array (uint8 =
 * round(255 * affinity), chunked; the project cache format), written as planes complete.
 */
import { extname } from 'node:path'
import { StudioError } from '../../../shared/errors'
import type { Vec3 } from '../../../shared/types'
import { NpyWriter } from '../io/npy'
import { ZarrArrayWriter } from '../io/zarr-store'
import { checkWrite, type AffinitySink } from './sinks'

/** A float32 .npy file of shape (3, z, y, x). */
export class NpySink implements AffinitySink {
  private constructor(
    readonly shape: Vec3,
    private readonly writer: NpyWriter,
  ) {}

  static async create(path: string, shape: Vec3): Promise<NpySink> {
    return new NpySink(shape, await NpyWriter.create(path, [3, ...shape], 'float32'))
  }

  async write(z0: number, n: number, data: Float32Array): Promise<void> {
    checkWrite(this, z0, n, data)
    const plane = this.shape[1] * this.shape[2]
    for (let c = 0; c < 3; c++) await this.writer.writeAt([c, z0, 0, 0], data.subarray(c * n * plane, (c + 1) * n * plane))
  }

  close(): Promise<void> {
    return this.writer.close()
  }
}

/** A uint8 Zarr v3 array (3, z, y, x), chunks (1, 16, 256, 256) by default, written as planes complete. */
export class ZarrSink implements AffinitySink {
  private constructor(
    readonly shape: Vec3,
    private readonly writer: ZarrArrayWriter,
  ) {}

  static async create(path: string, shape: Vec3, options: { chunkShape?: Vec3; overwrite?: boolean } = {}): Promise<ZarrSink> {
    const chunk = options.chunkShape ?? [16, 256, 256]
    const writer = await ZarrArrayWriter.create(path, {
      shape: [3, ...shape],
      dtype: 'uint8',
      chunkShape: [1, ...chunk.map((c, a) => Math.min(c, shape[a]))],
      dimensionNames: ['c', 'z', 'y', 'x'],
      attributes: { content: 'affinities (z, y, x) of the TokenUnify network', scale: 'uint8 = round(255 * affinity)' },
      overwrite: options.overwrite,
    })
    return new ZarrSink(shape, writer)
  }

  async write(z0: number, n: number, data: Float32Array): Promise<void> {
    checkWrite(this, z0, n, data)
    const bytes = new Uint8Array(data.length)
    for (let i = 0; i < data.length; i++) bytes[i] = Math.round(Math.min(1, Math.max(0, data[i])) * 255)
    await this.writer.writeBox({ start: [0, z0, 0, 0], stop: [3, z0 + n, this.shape[1], this.shape[2]] }, bytes)
  }

  close(): Promise<void> {
    return this.writer.flush()
  }
}

/** A sink for an output path: .npy (float32) or .zarr (uint8). */
export async function createSink(path: string, shape: Vec3, options: { overwrite?: boolean } = {}): Promise<AffinitySink> {
  const ext = extname(path).toLowerCase()
  if (ext === '.npy') return NpySink.create(path, shape)
  if (ext === '.zarr') return ZarrSink.create(path, shape, options)
  throw new StudioError('bad_input', `${path}: affinities are written as .npy (float32) or .zarr (uint8); name the output accordingly`, { file: path })
}
