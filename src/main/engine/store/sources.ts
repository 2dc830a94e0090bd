/**
 * Volumes a project reads, referenced by path (never copied). Each is recognised by its size and
 * modification time, and when those change, by a content hash of a few chunks; a moved volume is
 * re-linked after its content is confirmed to be the same.
 */
import { createHash } from 'node:crypto'
import { readdirSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type Database from 'better-sqlite3'
import { StudioError } from '../../../shared/errors'
import type { Box3, DType, SourceRecord, Vec3 } from '../../../shared/types'
import type { OpenOptions } from '../io/open'
import type { VolumeSource } from '../io/volume'
import { writeTransaction } from './database'

/** All contentHash needs from a volume; every VolumeSource is one. */
export interface ChunkReader {
  readonly shape: Vec3
  read(box: Box3): Promise<ArrayBufferView>
}

export type VolumeOpener = (path: string, options: OpenOptions) => Promise<VolumeSource>

/** Side of the sampled boxes (z, y, x), clipped to the volume. */
const SAMPLE: Vec3 = [8, 64, 64]
/** Where the sampled boxes sit along the volume's diagonal, as fractions of the free range. */
const SAMPLE_AT = [0, 1 / 3, 2 / 3, 1]

/** SHA-256 over the shape and the bytes of four boxes along the diagonal (first and last included). */
export async function contentHash(reader: ChunkReader): Promise<string> {
  const hash = createHash('sha256').update(reader.shape.join('x'))
  const size = reader.shape.map((n, a) => Math.min(n, SAMPLE[a])) as Vec3
  for (const f of SAMPLE_AT) {
    const start = reader.shape.map((n, a) => Math.floor((n - size[a]) * f)) as Vec3
    const box: Box3 = { start, stop: [start[0] + size[0], start[1] + size[1], start[2] + size[2]] }
    const data = await reader.read(box)
    hash.update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength))
  }
  return hash.digest('hex')
}

/** Size in bytes and latest modification time of a file, or of every file below a folder. */
export function fileStamp(path: string): { size: number; mtimeMs: number } {
  const st = statSync(path)
  if (!st.isDirectory()) return { size: st.size, mtimeMs: Math.floor(st.mtimeMs) }
  let size = 0
  let mtimeMs = Math.floor(st.mtimeMs)
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    const sub = fileStamp(join(path, entry.name))
    size += sub.size
    mtimeMs = Math.max(mtimeMs, sub.mtimeMs)
  }
  return { size, mtimeMs }
}

interface SourceRow {
  id: number
  role: string
  name: string
  path: string
  open_options: string
  shape: string
  dtype: string
  size: number
  mtime_ms: number
  content_hash: string
}

export class Sources {
  constructor(
    private readonly db: Database.Database,
    private readonly open: VolumeOpener,
  ) {}

  /** Registers the volume at `path` under a role ('raw', 'affinities', ...). */
  async add(path: string, role: string, options: OpenOptions = {}): Promise<SourceRecord> {
    const file = resolve(path)
    const { volume, hash } = await this.read(file, options)
    const stamp = fileStamp(file)
    const id = writeTransaction(this.db, () =>
      Number(
        this.db
          .prepare(
            `INSERT INTO volume_sources (role, name, path, open_options, shape, dtype, size, mtime_ms, content_hash, added_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(role, volume.name, file, JSON.stringify(options), JSON.stringify(volume.shape), volume.dtype, stamp.size, stamp.mtimeMs, hash, Date.now())
          .lastInsertRowid,
      ),
    )
    return { ...toRecord(this.row(id)), status: 'ok' }
  }

  list(): SourceRecord[] {
    return this.rows().map((r) => ({ ...toRecord(r), status: 'ok' }))
  }

  /** Checks every source: stamp first, content hash when the stamp changed. */
  async check(): Promise<SourceRecord[]> {
    const out: SourceRecord[] = []
    for (const row of this.rows()) {
      const record = toRecord(row)
      let stamp: { size: number; mtimeMs: number }
      try {
        stamp = fileStamp(row.path)
      } catch {
        out.push({ ...record, status: 'missing', detail: `${row.path} is gone; re-link the moved volume` })
        continue
      }
      if (stamp.size === row.size && stamp.mtimeMs === row.mtime_ms) {
        out.push({ ...record, status: 'ok' })
        continue
      }
      try {
        const { hash } = await this.read(row.path, JSON.parse(row.open_options) as OpenOptions)
        if (hash !== row.content_hash) {
          out.push({ ...record, status: 'modified', detail: `${row.path}: its content changed since it was added to the project` })
          continue
        }
      } catch (err) {
        out.push({ ...record, status: 'modified', detail: `${row.path}: cannot be read (${(err as Error).message})` })
        continue
      }
      // Touched but the same data: remember the new stamp so the next check is fast.
      writeTransaction(this.db, () =>
        this.db.prepare('UPDATE volume_sources SET size = ?, mtime_ms = ? WHERE id = ?').run(stamp.size, stamp.mtimeMs, row.id),
      )
      out.push({ ...record, status: 'ok' })
    }
    return out
  }

  /** Points a source at a new path, after checking the volume there is the same one. */
  async relink(id: number, path: string): Promise<SourceRecord> {
    const row = this.row(id)
    const file = resolve(path)
    const { volume, hash } = await this.read(file, JSON.parse(row.open_options) as OpenOptions)
    const same = JSON.stringify(volume.shape) === row.shape && volume.dtype === row.dtype && hash === row.content_hash
    if (!same) {
      throw new StudioError('conflict', `${file}: not the volume "${row.name}" this project used (shape, type or content differ)`, { file })
    }
    const stamp = fileStamp(file)
    writeTransaction(this.db, () =>
      this.db.prepare('UPDATE volume_sources SET path = ?, size = ?, mtime_ms = ? WHERE id = ?').run(file, stamp.size, stamp.mtimeMs, id),
    )
    return { ...toRecord(this.row(id)), status: 'ok' }
  }

  private async read(path: string, options: OpenOptions): Promise<{ volume: VolumeSource; hash: string }> {
    const volume = await this.open(path, options)
    try {
      return { volume, hash: await contentHash(volume) }
    } finally {
      await volume.close()
    }
  }

  private rows(): SourceRow[] {
    return this.db.prepare('SELECT * FROM volume_sources ORDER BY id').all() as SourceRow[]
  }

  private row(id: number): SourceRow {
    const row = this.db.prepare('SELECT * FROM volume_sources WHERE id = ?').get(id) as SourceRow | undefined
    if (!row) throw new StudioError('not_found', `no volume source with id ${id} in this project`)
    return row
  }
}

function toRecord(row: SourceRow): Omit<SourceRecord, 'status'> {
  const options = JSON.parse(row.open_options) as OpenOptions
  return {
    id: row.id,
    role: row.role,
    name: row.name,
    path: row.path,
    ...(options.dataset === undefined ? {} : { dataset: options.dataset }),
    ...(options.channel === undefined ? {} : { channel: options.channel }),
    shape: JSON.parse(row.shape) as Vec3,
    dtype: row.dtype as DType,
  }
}
