/**
 * Chunks of the image and segmentation layers as 3D textures: requested through the API nearest
 * to the view centre first, a few at a time, kept while in use and evicted least recently used
 * beyond a memory budget. Typed arrays from the socket go into textures as they are; label
 * arrays are renumbered densely on the way (labelTable.ts).
 */
import {
  Data3DTexture,
  FloatType,
  NearestFilter,
  RedFormat,
  RedIntegerFormat,
  UnsignedByteType,
  UnsignedIntType,
  UnsignedShortType,
  type PixelFormat,
  type TextureDataType,
} from 'three'
import type { Box3, DType, Vec3, VolumeInfo } from '../../../shared/types'
import { ChunkGrid, type ChunkKey } from './chunkGrid'
import type { LabelArray, LabelTable } from './labelTable'

export type VoxelArray = Uint8Array | Uint16Array | Float32Array | Uint32Array | BigUint64Array

/** A volume the views draw, and how to read a box of it. */
export interface Layer {
  info: VolumeInfo
  read(box: Box3): Promise<VoxelArray>
}

export interface Chunk {
  key: ChunkKey
  coord: Vec3
  box: Box3
  state: 'queued' | 'loading' | 'ready' | 'failed'
  raw: Data3DTexture | null
  labels: Data3DTexture | null
  /** Frame in which a view last needed it. */
  lastUsed: number
  bytes: number
}

const FORMATS: Record<DType, { format: PixelFormat; type: TextureDataType; internal: string }> = {
  uint8: { format: RedIntegerFormat, type: UnsignedByteType, internal: 'R8UI' },
  uint16: { format: RedIntegerFormat, type: UnsignedShortType, internal: 'R16UI' },
  float32: { format: RedFormat, type: FloatType, internal: 'R32F' },
  uint32: { format: RedIntegerFormat, type: UnsignedIntType, internal: 'R32UI' },
  uint64: { format: RedIntegerFormat, type: UnsignedIntType, internal: 'R32UI' },
}

export function texture3D(data: Uint8Array | Uint16Array | Float32Array | Uint32Array, dtype: DType, box: Box3): Data3DTexture {
  const [d, h, w] = [0, 1, 2].map((a) => box.stop[a] - box.start[a])
  const t = new Data3DTexture(data, w, h, d)
  const f = FORMATS[dtype]
  t.format = f.format
  t.type = f.type
  t.internalFormat = f.internal as Data3DTexture['internalFormat']
  t.minFilter = NearestFilter
  t.magFilter = NearestFilter
  t.generateMipmaps = false
  t.unpackAlignment = 1
  t.needsUpdate = true
  return t
}

export interface ChunkStoreOptions {
  image: Layer | null
  labels: Layer | null
  grid: ChunkGrid
  table: LabelTable
  /** Bytes of chunk data (CPU copy plus texture) to keep before evicting. */
  budget?: number
  /** Requests in flight at once. */
  concurrency?: number
  onReady(chunk: Chunk): void
  onEvict(chunk: Chunk): void
  onError(message: string): void
}

export class ChunkStore {
  readonly chunks = new Map<ChunkKey, Chunk>()
  private queue: Chunk[] = []
  private inFlight = 0
  private bytes = 0
  private closed = false
  /** Bumped by reloadLabels so that a read begun before an edit cannot overwrite newer labels. */
  private labelEpoch = 0

  constructor(private readonly o: ChunkStoreOptions) {}

  get pending(): number {
    return this.queue.length + this.inFlight
  }

  get(coord: Vec3): Chunk | undefined {
    return this.chunks.get(this.o.grid.key(coord))
  }

  /**
   * The chunks the views need now (first) and soon (after), in order. Anything queued but no
   * longer wanted is dropped from the queue.
   */
  want(now: Vec3[], soon: Vec3[], frame: number): void {
    const queue = new Set<Chunk>()
    for (const coord of [...now, ...soon]) {
      const key = this.o.grid.key(coord)
      let chunk = this.chunks.get(key)
      if (!chunk) {
        chunk = { key, coord, box: this.o.grid.box(coord), state: 'queued', raw: null, labels: null, lastUsed: frame, bytes: 0 }
        this.chunks.set(key, chunk)
      }
      chunk.lastUsed = frame
      if (chunk.state === 'queued') queue.add(chunk)
    }
    for (const c of this.queue) if (!queue.has(c)) this.chunks.delete(c.key)
    this.queue = [...queue]
    this.pump()
  }

  /** Re-reads the labels of every loaded chunk that meets `box` (all when absent), after an edit. */
  reloadLabels(box?: Box3): Promise<void> {
    const layer = this.o.labels
    if (!layer) return Promise.resolve()
    const epoch = ++this.labelEpoch
    const jobs: Promise<void>[] = []
    for (const chunk of this.chunks.values()) {
      if (chunk.state !== 'ready' || (box && !intersects(box, chunk.box))) continue
      jobs.push(
        layer.read(chunk.box).then((data) => {
          if (this.closed || epoch !== this.labelEpoch || !chunk.labels || this.chunks.get(chunk.key) !== chunk) return
          chunk.labels.image.data = this.o.table.densify(data as LabelArray)
          chunk.labels.needsUpdate = true
          this.o.onReady(chunk)
        }),
      )
    }
    return Promise.all(jobs).then(() => undefined)
  }

  dispose(): void {
    this.closed = true
    for (const c of this.chunks.values()) this.free(c)
    this.chunks.clear()
    this.queue = []
  }

  private pump(): void {
    const limit = this.o.concurrency ?? 6
    while (this.inFlight < limit && this.queue.length > 0) {
      const chunk = this.queue.shift() as Chunk
      chunk.state = 'loading'
      this.inFlight++
      this.load(chunk).finally(() => {
        this.inFlight--
        if (!this.closed) this.pump()
      })
    }
  }

  private async load(chunk: Chunk): Promise<void> {
    const { image, labels, table } = this.o
    try {
      const epoch = this.labelEpoch
      const [raw, lab] = await Promise.all([image?.read(chunk.box), labels?.read(chunk.box)])
      if (this.closed || this.chunks.get(chunk.key) !== chunk) return
      if (raw && image) chunk.raw = texture3D(raw as Uint8Array, image.info.dtype, chunk.box)
      if (lab) chunk.labels = texture3D(table.densify(lab as LabelArray), 'uint32', chunk.box)
      chunk.bytes = 2 * ((raw?.byteLength ?? 0) + (lab ? 4 * lab.length : 0))
      chunk.state = 'ready'
      this.bytes += chunk.bytes
      this.o.onReady(chunk)
      this.evict()
      // An edit landed while this read was on its way: read the labels again.
      if (lab && epoch !== this.labelEpoch) void this.reloadLabels(chunk.box)
    } catch (err) {
      chunk.state = 'failed'
      this.o.onError((err as Error).message)
    }
  }

  private evict(): void {
    const budget = this.o.budget ?? 768 * 1024 * 1024
    if (this.bytes <= budget) return
    const ready = [...this.chunks.values()].filter((c) => c.state === 'ready').sort((a, b) => a.lastUsed - b.lastUsed)
    const newest = ready.length > 0 ? ready[ready.length - 1].lastUsed : 0
    for (const c of ready) {
      if (this.bytes <= budget * 0.9 || c.lastUsed >= newest) break
      this.chunks.delete(c.key)
      this.free(c)
      this.o.onEvict(c)
    }
  }

  private free(c: Chunk): void {
    c.raw?.dispose()
    c.labels?.dispose()
    this.bytes -= c.bytes
    c.bytes = 0
  }
}

export function intersects(a: Box3, b: Box3): boolean {
  return [0, 1, 2].every((i) => a.start[i] < b.stop[i] && b.start[i] < a.stop[i])
}
