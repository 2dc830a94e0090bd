/** Bookmarks: places in the volume to come back to. Removing one only marks it removed. */
import type Database from 'better-sqlite3'
import { StudioError } from '../../../shared/errors'
import type { Bookmark, Vec3 } from '../../../shared/types'
import { writeTransaction } from './database'

interface BookmarkRow {
  id: number
  z: number
  y: number
  x: number
  segment: number | null
  title: string
  author: string
  created_at: number
}

export class Bookmarks {
  constructor(private readonly db: Database.Database) {}

  add(position: Vec3, title: string, author: string, segment?: number): Bookmark {
    if (position.length !== 3 || !position.every((v) => Number.isInteger(v) && v >= 0)) {
      throw new StudioError('bad_input', `bookmark: position ${JSON.stringify(position)} is not three voxel coordinates`)
    }
    const id = writeTransaction(this.db, () =>
      Number(
        this.db
          .prepare('INSERT INTO bookmarks (z, y, x, segment, title, author, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
          .run(position[0], position[1], position[2], segment ?? null, title, author, Date.now()).lastInsertRowid,
      ),
    )
    return this.list().find((b) => b.id === id) as Bookmark
  }

  /** Bookmarks not removed, oldest first. */
  list(): Bookmark[] {
    const rows = this.db.prepare('SELECT * FROM bookmarks WHERE removed_at IS NULL ORDER BY id').all() as BookmarkRow[]
    return rows.map((r) => ({ id: r.id, position: [r.z, r.y, r.x], segment: r.segment, title: r.title, author: r.author, time: r.created_at }))
  }

  remove(id: number): void {
    const changed = writeTransaction(this.db, () =>
      this.db.prepare('UPDATE bookmarks SET removed_at = ? WHERE id = ? AND removed_at IS NULL').run(Date.now(), id).changes,
    )
    if (changed === 0) throw new StudioError('not_found', `no bookmark with id ${id}`)
  }
}
