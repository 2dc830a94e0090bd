/**
 * The base of every on-disk volume: a format module says how to load one chunk, and this class
 * serves any box from chunks held in the shared cache (cache.ts), so memory stays bounded by the
 * cache and the box asked for, whatever the size of the volume.
 */
import { StudioError } from '../../../shared/errors'
import type { Box3, DType, Vec3, VolumeFormat } from '../../../shared/types'
import { chunkCache, type CachedChunk } from './cache'
import { BYTES_PER_VOXEL } from './dtypes'
import { allocate, boxSize, checkBox, type VolumeSource, type VoxelArray } from './volume'

/** What a format module knows about a volume once it has opened it. */
export interface VolumeMeta {
  name: string
  path: string
  format: VolumeFormat
  dataset?: string
  shape: Vec3
  dtype: DType
  chunkShape: Vec3
  voxelSize?: Vec3
}

/** Chunks read at the same time by one `read`: enough to overlap I/O, few enough to bound memory. */
const READ_CONCURRENCY = 8
/** Largest box one `read` returns (typed arrays beyond this are slow to allocate or refused). */
const MAX_READ_BYTES = 2 ** 31

let nextSourceId = 0

export abstract class ChunkedVolume implements VolumeSource {
  readonly name: string
  readonly path: string
  readonly format: VolumeFormat
  readonly dataset?: string
  readonly shape: Vec3
  readonly dtype: DType
  readonly chunkShape: Vec3
  readonly voxelSize?: Vec3
  /** Prefix of this source's keys in the shared cache. */
  private readonly cacheKey = `${nextSourceId++}/`

  constructor(meta: VolumeMeta) {
    this.name = meta.name
    this.path = meta.path
    this.format = meta.format
    this.shape = meta.shape
    this.dtype = meta.dtype
    this.chunkShape = meta.chunkShape
    if (meta.dataset !== undefined) this.dataset = meta.dataset
    if (meta.voxelSize !== undefined) this.voxelSize = meta.voxelSize
  }

  /**
   * Loads chunk `index` (chunk coordinates, z, y, x) in C order. Its dims may exceed the volume
   * at the far edges (padded chunks as Zarr stores them) but must cover the part inside it.
   */
  protected abstract loadChunk(index: Vec3): Promise<CachedChunk>

  /** Releases file handles; called once by close(). */
  protected async release(): Promise<void> {}

  async read(box: Box3): Promise<VoxelArray> {
    checkBox(box, this.shape, this.name)
    const [dz, dy, dx] = boxSize(box)
    if (dz * dy * dx * BYTES_PER_VOXEL[this.dtype] > MAX_READ_BYTES) {
      throw new StudioError('bad_input', `${this.name}: a box of ${dz}x${dy}x${dx} voxels is too large to read at once; read it in parts`)
    }
    const out = allocate(this.dtype, dz * dy * dx)
    const indices: Vec3[] = []
    const [c0, c1, c2] = this.chunkShape
    for (let z = Math.floor(box.start[0] / c0); z * c0 < box.stop[0]; z++) {
      for (let y = Math.floor(box.start[1] / c1); y * c1 < box.stop[1]; y++) {
        for (let x = Math.floor(box.start[2] / c2); x * c2 < box.stop[2]; x++) indices.push([z, y, x])
      }
    }
    let next = 0
    const worker = async () => {
      while (next < indices.length) {
        const index = indices[next++]
        const chunk = await chunkCache().load(this.cacheKey + index.join(','), () => this.loadChecked(index))
        this.copyInto(out, box, index, chunk)
      }
    }
    await Promise.all(Array.from({ length: Math.min(READ_CONCURRENCY, indices.length) }, worker))
    return out
  }

  async close(): Promise<void> {
    chunkCache().drop(this.cacheKey)
    await this.release()
  }

  private async loadChecked(index: Vec3): Promise<CachedChunk> {
    const chunk = await this.loadChunk(index)
    const need = index.map((i, a) => Math.min(this.chunkShape[a], this.shape[a] - i * this.chunkShape[a]))
    const [d0, d1, d2] = chunk.dims
    if (chunk.data.length !== d0 * d1 * d2 || chunk.dims.some((d, a) => d < need[a])) {
      throw new StudioError(
        'bad_format',
        `${this.path}: chunk (${index.join(', ')}) holds ${chunk.data.length} voxels as ${chunk.dims.join('x')}, expected at least ${need.join('x')}`,
        { file: this.path },
      )
    }
    return chunk
  }

  private copyInto(out: VoxelArray, box: Box3, index: Vec3, chunk: CachedChunk): void {
    const origin = index.map((i, a) => i * this.chunkShape[a])
    const lo = origin.map((o, a) => Math.max(o, box.start[a]))
    const hi = origin.map((o, a) => Math.min(o + this.chunkShape[a], box.stop[a]))
    const [, dy, dx] = boxSize(box)
    const [, cy, cx] = chunk.dims
    const len = hi[2] - lo[2]
    const src = chunk.data as Uint8Array
    const dst = out as Uint8Array
    for (let z = lo[0]; z < hi[0]; z++) {
      for (let y = lo[1]; y < hi[1]; y++) {
        const from = ((z - origin[0]) * cy + (y - origin[1])) * cx + (lo[2] - origin[2])
        dst.set(src.subarray(from, from + len), ((z - box.start[0]) * dy + (y - box.start[1])) * dx + (lo[2] - box.start[2]))
      }
    }
  }
}
