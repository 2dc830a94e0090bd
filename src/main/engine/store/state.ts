/**
 * The current proofreading state in memory: fragment -> segment and back, segment flags, and the
 * voxels that edits relabelled. SQLite is the truth; this is rebuilt from it (base assignment plus
 * the applied edits in order) and changed only by deltas SQLite has committed. No I/O here.
 *
 * Fragments of a segment form a doubly linked list over slots, so moving a fragment is O(1) and
 * a merge or split costs only the fragments it moves, whatever the project size.
 */
import type { Box3, SparseVoxels, Vec3 } from '../../../shared/types'
import { LOCKED, REVIEWED, type Changes, type EditDelta } from './delta'

/** Side of the cubic blocks that group voxel overrides for box queries. */
const BLOCK = 64

/** What automatic steps must keep exactly as it is (see ProjectState.frozen). */
export interface FrozenSet {
  /** Reviewed or locked segments, sorted. */
  segments: number[]
  /** Every fragment of those segments, sorted. */
  fragments: Float64Array
  /** Edited voxels whose current fragment belongs to a frozen segment, with that fragment. */
  voxels: SparseVoxels
  /** Edited voxels whose base fragment is frozen but which edits moved out of the frozen segments. */
  released: Float64Array
}

interface VoxelBlock {
  current: Map<number, number>
  /** The label before the first edit that touched the voxel (from the cached label volume). */
  base: Map<number, number>
}

/**
 * id -> non-negative integer, -1 when absent. Ids are mostly dense (watershed numbers fragments
 * 1..n), so they index a typed array that grows with the number of entries; rare larger ids go
 * to a Map. Maps alone cost microseconds per lookup at a million entries.
 */
class IdTable {
  private dense = new Int32Array(1024).fill(-1)
  private readonly sparse = new Map<number, number>()
  private entries = 0

  get count(): number {
    return this.entries
  }

  get(id: number): number {
    return id < this.dense.length ? this.dense[id] : (this.sparse.get(id) ?? -1)
  }

  set(id: number, value: number): void {
    if (id >= this.dense.length && id < Math.max(1 << 20, 4 * this.entries)) this.grow(id)
    if (id < this.dense.length) {
      if (this.dense[id] < 0) this.entries++
      this.dense[id] = value
    } else {
      if (!this.sparse.has(id)) this.entries++
      this.sparse.set(id, value)
    }
  }

  delete(id: number): void {
    if (id < this.dense.length) {
      if (this.dense[id] >= 0) this.entries--
      this.dense[id] = -1
    } else if (this.sparse.delete(id)) {
      this.entries--
    }
  }

  private grow(id: number): void {
    let size = this.dense.length
    while (size <= id) size *= 2
    const dense = new Int32Array(size).fill(-1)
    dense.set(this.dense)
    this.dense = dense
    for (const [k, v] of this.sparse) {
      if (k < size) {
        dense[k] = v
        this.sparse.delete(k)
      }
    }
  }
}

export class ProjectState {
  private readonly slotOf = new IdTable()
  private ids = new Float64Array(1024)
  private seg = new Float64Array(1024)
  private next = new Int32Array(1024)
  private prev = new Int32Array(1024)
  private slots = 0
  private assigned = 0
  /** segment -> first slot of its fragment list, and its fragment count */
  private readonly head = new IdTable()
  private readonly size = new IdTable()
  private readonly flags = new Map<number, number>()
  private readonly blocks = new Map<number, VoxelBlock>()
  private voxelCount = 0

  constructor(readonly labelShape: Vec3 | null) {}

  /** Starts from a base assignment (fragment ids unique). */
  loadBase(fragments: ArrayLike<number>, segments: ArrayLike<number>): void {
    this.reserve(this.slots + fragments.length)
    for (let i = 0; i < fragments.length; i++) this.setSegment(fragments[i], segments[i])
  }

  /** Applies a delta forward (do, redo) or backward (undo). */
  apply(delta: EditDelta, direction: 1 | -1): void {
    const ends = (c: Changes) => (direction === 1 ? [c.before, c.after] : [c.after, c.before])
    const { assign, flags, voxels } = delta
    const [, segmentTo] = ends(assign)
    for (let i = 0; i < assign.ids.length; i++) this.setSegment(assign.ids[i], segmentTo[i])
    const [, flagsTo] = ends(flags)
    for (let i = 0; i < flags.ids.length; i++) {
      if (flagsTo[i] === 0) this.flags.delete(flags.ids[i])
      else this.flags.set(flags.ids[i], flagsTo[i])
    }
    const [voxelFrom, voxelTo] = ends(voxels)
    for (let i = 0; i < voxels.ids.length; i++) this.setVoxel(voxels.ids[i], voxelFrom[i], voxelTo[i])
  }

  /** The fragment's segment; 0 when it is in none or unknown. */
  segmentOf(fragment: number): number {
    const s = this.slotOf.get(fragment)
    return s < 0 ? 0 : this.seg[s]
  }

  hasSegment(segment: number): boolean {
    return segment !== 0 && this.head.get(segment) >= 0
  }

  sizeOf(segment: number): number {
    return Math.max(0, this.size.get(segment))
  }

  /** Fragments of a segment, sorted. */
  fragmentsOf(segment: number): Float64Array {
    const out = new Float64Array(this.sizeOf(segment))
    let n = 0
    for (let s = this.head.get(segment); s >= 0; s = this.next[s]) out[n++] = this.ids[s]
    return out.sort()
  }

  flagsOf(segment: number): number {
    return this.flags.get(segment) ?? 0
  }

  /** Segments that have any of the flag bits, sorted. */
  segmentsFlagged(bits: number): number[] {
    const out: number[] = []
    for (const [segment, f] of this.flags) if (f & bits) out.push(segment)
    return out.sort((a, b) => a - b)
  }

  /** Fragments that are in a segment. */
  get fragmentCount(): number {
    return this.assigned
  }

  get segmentCount(): number {
    return this.head.count
  }

  get editedVoxelCount(): number {
    return this.voxelCount
  }

  /** The whole current assignment, sorted by fragment (fragments in no segment left out). */
  assignment(): { fragments: Float64Array; segments: Float64Array } {
    const fragments = new Float64Array(this.fragmentCount)
    let n = 0
    for (let s = 0; s < this.slots; s++) if (this.seg[s] !== 0) fragments[n++] = this.ids[s]
    fragments.sort()
    const segments = new Float64Array(n)
    for (let i = 0; i < n; i++) segments[i] = this.segmentOf(fragments[i])
    return { fragments, segments }
  }

  /** The current label of an edited voxel; undefined when no applied edit changed it. */
  voxelLabel(index: number): number | undefined {
    return this.blocks.get(this.blockOf(index))?.current.get(index)
  }

  /** Edited voxels inside a box with their current fragment labels, sorted by index. */
  voxelsIn(box: Box3): SparseVoxels {
    const shape = this.labelShape
    if (shape === null || this.blocks.size === 0) return { indices: new Float64Array(0), labels: new Float64Array(0) }
    const found: number[] = []
    const nb = shape.map((n) => Math.ceil(n / BLOCK))
    for (let bz = Math.floor(box.start[0] / BLOCK); bz <= Math.floor((box.stop[0] - 1) / BLOCK); bz++) {
      for (let by = Math.floor(box.start[1] / BLOCK); by <= Math.floor((box.stop[1] - 1) / BLOCK); by++) {
        for (let bx = Math.floor(box.start[2] / BLOCK); bx <= Math.floor((box.stop[2] - 1) / BLOCK); bx++) {
          const block = this.blocks.get((bz * nb[1] + by) * nb[2] + bx)
          if (!block) continue
          for (const index of block.current.keys()) {
            const [z, y, x] = this.coords(index)
            const inside =
              z >= box.start[0] && z < box.stop[0] && y >= box.start[1] && y < box.stop[1] && x >= box.start[2] && x < box.stop[2]
            if (inside) found.push(index)
          }
        }
      }
    }
    const indices = Float64Array.from(found).sort()
    return { indices, labels: indices.map((i) => this.voxelLabel(i) as number) }
  }

  /** Every edited voxel with its current label, sorted by index. */
  allVoxels(): SparseVoxels {
    const indices = new Float64Array(this.voxelCount)
    let n = 0
    for (const block of this.blocks.values()) for (const index of block.current.keys()) indices[n++] = index
    indices.sort()
    return { indices, labels: indices.map((i) => this.voxelLabel(i) as number) }
  }

  /**
   * What re-segmentation must keep: reviewed and locked segments. A voxel is frozen when it is
   * listed in `voxels` (keep that label), or when its base fragment is in `fragments` and it is
   * not in `released`.
   */
  frozen(): FrozenSet {
    const segments = this.segmentsFlagged(REVIEWED | LOCKED)
    const frozenSegment = (fragment: number) => fragment !== 0 && (this.flagsOf(this.segmentOf(fragment)) & (REVIEWED | LOCKED)) !== 0
    const fragmentLists = segments.map((s) => this.fragmentsOf(s))
    const fragments = new Float64Array(fragmentLists.reduce((n, l) => n + l.length, 0))
    let at = 0
    for (const l of fragmentLists) {
      fragments.set(l, at)
      at += l.length
    }
    fragments.sort()
    const kept: number[] = []
    const keptLabels: number[] = []
    const released: number[] = []
    for (const block of this.blocks.values()) {
      for (const [index, label] of block.current) {
        if (frozenSegment(label)) {
          kept.push(index)
          keptLabels.push(label)
        } else if (frozenSegment(block.base.get(index) as number)) {
          released.push(index)
        }
      }
    }
    const order = kept.map((_, i) => i).sort((a, b) => kept[a] - kept[b])
    return {
      segments,
      fragments,
      voxels: { indices: Float64Array.from(order, (i) => kept[i]), labels: Float64Array.from(order, (i) => keptLabels[i]) },
      released: Float64Array.from(released).sort(),
    }
  }

  private setSegment(fragment: number, segment: number): void {
    let s = this.slotOf.get(fragment)
    if (s < 0) {
      if (segment === 0) return
      this.reserve(this.slots + 1)
      s = this.slots++
      this.slotOf.set(fragment, s)
      this.ids[s] = fragment
      this.seg[s] = 0
    }
    const from = this.seg[s]
    if (from === segment) return
    if (from !== 0) {
      const p = this.prev[s]
      const n = this.next[s]
      if (p >= 0) this.next[p] = n
      else if (n >= 0) this.head.set(from, n)
      else this.head.delete(from)
      if (n >= 0) this.prev[n] = p
      const left = this.size.get(from) - 1
      if (left === 0) this.size.delete(from)
      else this.size.set(from, left)
      this.assigned--
    }
    this.seg[s] = segment
    if (segment !== 0) {
      const h = this.head.get(segment)
      this.next[s] = h
      this.prev[s] = -1
      if (h >= 0) this.prev[h] = s
      this.head.set(segment, s)
      this.size.set(segment, this.sizeOf(segment) + 1)
      this.assigned++
    }
  }

  /** Moves a voxel from label `from` to `to`; drops the override when it is back at its base label. */
  private setVoxel(index: number, from: number, to: number): void {
    const key = this.blockOf(index)
    let block = this.blocks.get(key)
    if (!block) {
      block = { current: new Map(), base: new Map() }
      this.blocks.set(key, block)
    }
    if (!block.current.has(index)) {
      block.base.set(index, from)
      this.voxelCount++
    }
    if (to === block.base.get(index)) {
      block.current.delete(index)
      block.base.delete(index)
      this.voxelCount--
      if (block.current.size === 0) this.blocks.delete(key)
    } else {
      block.current.set(index, to)
    }
  }

  private coords(index: number): Vec3 {
    const [, sy, sx] = this.labelShape as Vec3
    const z = Math.floor(index / (sy * sx))
    const r = index - z * sy * sx
    const y = Math.floor(r / sx)
    return [z, y, r - y * sx]
  }

  private blockOf(index: number): number {
    const shape = this.labelShape as Vec3
    const [z, y, x] = this.coords(index)
    return (Math.floor(z / BLOCK) * Math.ceil(shape[1] / BLOCK) + Math.floor(y / BLOCK)) * Math.ceil(shape[2] / BLOCK) + Math.floor(x / BLOCK)
  }

  private reserve(n: number): void {
    if (n <= this.ids.length) return
    let cap = this.ids.length
    while (cap < n) cap *= 2
    const grow = <T extends Float64Array | Int32Array>(a: T): T => {
      const b = new (a.constructor as new (n: number) => T)(cap)
      b.set(a)
      return b
    }
    this.ids = grow(this.ids)
    this.seg = grow(this.seg)
    this.next = grow(this.next)
    this.prev = grow(this.prev)
  }
}
