/**
 * The chunk cache: one least-recently-used cache, bounded in bytes, shared by every open volume.
 * Loads of the same chunk that overlap in time share one read.
 */
import type { VoxelArray } from './volume'

export interface CachedChunk {
  data: VoxelArray
  /** Dimensions (z, y, x) of `data` as stored: edge chunks may be padded past the volume. */
  dims: [number, number, number]
}

const DEFAULT_LIMIT = 512 * 1024 * 1024

export class ChunkCache {
  private readonly entries = new Map<string, CachedChunk>()
  private readonly loading = new Map<string, Promise<CachedChunk>>()
  private used = 0

  constructor(private limit: number = DEFAULT_LIMIT) {}

  get bytes(): number {
    return this.used
  }

  get limitBytes(): number {
    return this.limit
  }

  setLimit(bytes: number): void {
    if (!(bytes >= 0)) throw new RangeError(`chunk cache limit must be >= 0 bytes, got ${bytes}`)
    this.limit = bytes
    this.evict()
  }

  /** The cached chunk under `key`, or the one `load` makes (which is then cached). */
  async load(key: string, load: () => Promise<CachedChunk>): Promise<CachedChunk> {
    const hit = this.entries.get(key)
    if (hit) {
      // Re-insert: Map keeps insertion order, so the first key is always the least recently used.
      this.entries.delete(key)
      this.entries.set(key, hit)
      return hit
    }
    const pending = this.loading.get(key)
    if (pending) return pending
    const promise = load().then(
      (chunk) => {
        this.loading.delete(key)
        this.insert(key, chunk)
        return chunk
      },
      (err: unknown) => {
        this.loading.delete(key)
        throw err
      },
    )
    this.loading.set(key, promise)
    return promise
  }

  /** Drops every chunk whose key starts with `prefix` (a closed source's chunks). */
  drop(prefix: string): void {
    for (const [key, chunk] of this.entries) {
      if (key.startsWith(prefix)) {
        this.entries.delete(key)
        this.used -= chunk.data.byteLength
      }
    }
  }

  clear(): void {
    this.entries.clear()
    this.used = 0
  }

  private insert(key: string, chunk: CachedChunk): void {
    const size = chunk.data.byteLength
    if (size > this.limit) return
    const old = this.entries.get(key)
    if (old) this.used -= old.data.byteLength
    this.entries.delete(key)
    this.entries.set(key, chunk)
    this.used += size
    this.evict()
  }

  private evict(): void {
    for (const [key, chunk] of this.entries) {
      if (this.used <= this.limit) break
      this.entries.delete(key)
      this.used -= chunk.data.byteLength
    }
  }
}

let shared: ChunkCache | null = null

/** The process-wide cache every chunked volume reads through. */
export function chunkCache(): ChunkCache {
  shared ??= new ChunkCache(envLimit() ?? DEFAULT_LIMIT)
  return shared
}

/** Sets the shared cache's bound in bytes (default 512 MiB, or TOKENUNIFY_CHUNK_CACHE_MB). */
export function setChunkCacheLimit(bytes: number): void {
  chunkCache().setLimit(bytes)
}

function envLimit(): number | undefined {
  const raw = process.env.TOKENUNIFY_CHUNK_CACHE_MB
  if (!raw) return undefined
  const mb = Number(raw)
  return Number.isFinite(mb) && mb >= 0 ? mb * 1024 * 1024 : undefined
}
