/**
 * What one edit changes, with every value before and after, so it applies forward (do, redo)
 * and backward (undo) exactly. Stored compressed in edits.delta.
 */
import { StudioError } from '../../../shared/errors'
import { decodeColumns, encodeColumns } from './codec'

/** Parallel columns: `ids[i]` goes from `before[i]` to `after[i]`. Ids are sorted and unique. */
export interface Changes {
  ids: Float64Array
  before: Float64Array
  after: Float64Array
}

export interface EditDelta {
  /** Fragments that change segment; segment 0 means "in no segment". */
  assign: Changes
  /** Voxels (linear (z, y, x) C-order index into the label volume) that change fragment; 0 is background. */
  voxels: Changes
  /** Segments whose flags (REVIEWED | LOCKED bits) change. */
  flags: Changes
}

export const REVIEWED = 1
export const LOCKED = 2

const DELTA_FORMAT = 1

export function noChanges(): Changes {
  return { ids: new Float64Array(0), before: new Float64Array(0), after: new Float64Array(0) }
}

export function emptyDelta(): EditDelta {
  return { assign: noChanges(), voxels: noChanges(), flags: noChanges() }
}

export function isEmptyDelta(d: EditDelta): boolean {
  return d.assign.ids.length === 0 && d.voxels.ids.length === 0 && d.flags.ids.length === 0
}

/**
 * Changes from unsorted triples: sorts by id and drops entries whose value does not change.
 * An id given twice is refused (`what` names the ids in the error, e.g. "voxel").
 */
export function changes(ids: ArrayLike<number>, before: ArrayLike<number>, after: ArrayLike<number>, what: string): Changes {
  const n = ids.length
  const order = new Uint32Array(n)
  for (let i = 0; i < n; i++) order[i] = i
  let sorted = true
  for (let i = 1; i < n && sorted; i++) sorted = ids[i - 1] < ids[i]
  if (!sorted) {
    order.sort((a, b) => ids[a] - ids[b])
    for (let i = 1; i < n; i++) {
      if (ids[order[i]] === ids[order[i - 1]]) throw new StudioError('bad_input', `${what} ${ids[order[i]]} is given twice`)
    }
  }
  let kept = 0
  for (let i = 0; i < n; i++) if (before[order[i]] !== after[order[i]]) kept++
  const out = { ids: new Float64Array(kept), before: new Float64Array(kept), after: new Float64Array(kept) }
  let j = 0
  for (let i = 0; i < n; i++) {
    const k = order[i]
    if (before[k] === after[k]) continue
    out.ids[j] = ids[k]
    out.before[j] = before[k]
    out.after[j] = after[k]
    j++
  }
  return out
}

export function encodeDelta(d: EditDelta): Uint8Array {
  const cols = (c: Changes) => [c.ids, c.before, c.after]
  return encodeColumns([[DELTA_FORMAT], ...cols(d.assign), ...cols(d.voxels), ...cols(d.flags)])
}

export function decodeDelta(blob: Uint8Array, what: string): EditDelta {
  const c = decodeColumns(blob, what)
  if (c.length !== 10 || c[0].length !== 1 || c[0][0] !== DELTA_FORMAT) {
    throw new StudioError('bad_format', `${what}: not an edit delta of format ${DELTA_FORMAT}`)
  }
  const at = (i: number): Changes => {
    if (c[i].length !== c[i + 1].length || c[i].length !== c[i + 2].length) throw new StudioError('bad_format', `${what}: columns of unequal length`)
    return { ids: c[i], before: c[i + 1], after: c[i + 2] }
  }
  return { assign: at(1), voxels: at(4), flags: at(7) }
}
