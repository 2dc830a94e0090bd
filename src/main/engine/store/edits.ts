/**
 * Turns a request (merge these, split that, paint here) into the delta of one edit, checked
 * against the current state. Pure: the project commits the delta and then applies it.
 *
 * The review contract: a locked segment is not changed by anyone until it is unlocked; reviewed
 * and locked segments are not changed by anything automatic (origin 'auto').
 */
import { StudioError } from '../../../shared/errors'
import type { EditKind, EditOrigin } from '../../../shared/types'
import { isStorableInteger } from './codec'
import { LOCKED, REVIEWED, changes, emptyDelta, type EditDelta } from './delta'
import type { ProjectState } from './state'

export interface PlannedEdit {
  kind: EditKind
  delta: EditDelta
  /** The segments the edit is about, for the history list. */
  segments: number[]
  note?: string
}

export function planMerge(state: ProjectState, keep: number, absorb: number, origin: EditOrigin): PlannedEdit {
  requireSegment(state, keep)
  requireSegment(state, absorb)
  if (keep === absorb) throw new StudioError('bad_input', `cannot merge segment ${keep} with itself`)
  checkEditable(state, [keep, absorb], origin)
  const moved = state.fragmentsOf(absorb)
  const delta = emptyDelta()
  delta.assign = { ids: moved, before: new Float64Array(moved.length).fill(absorb), after: new Float64Array(moved.length).fill(keep) }
  // The absorbed segment disappears; its review flag goes with it (undo brings it back).
  const absorbFlags = state.flagsOf(absorb)
  if (absorbFlags !== 0) delta.flags = changes([absorb], [absorbFlags], [0], 'segment')
  return { kind: 'merge', delta, segments: [keep, absorb] }
}

/** Moves `fragments` (all in `segment`, not all of it) into the new segment `into`, which starts unreviewed. */
export function planSplit(state: ProjectState, segment: number, fragments: ArrayLike<number>, into: number, origin: EditOrigin): PlannedEdit {
  requireSegment(state, segment)
  if (fragments.length === 0) throw new StudioError('bad_input', `split of segment ${segment}: no fragments given`)
  for (let i = 0; i < fragments.length; i++) {
    if (state.segmentOf(fragments[i]) !== segment) {
      throw new StudioError('bad_input', `split of segment ${segment}: fragment ${fragments[i]} is not in it (it is in ${state.segmentOf(fragments[i]) || 'no segment'})`)
    }
  }
  checkEditable(state, [segment], origin)
  const delta = emptyDelta()
  delta.assign = changes(fragments, new Float64Array(fragments.length).fill(segment), new Float64Array(fragments.length).fill(into), 'fragment')
  if (delta.assign.ids.length === state.sizeOf(segment)) {
    throw new StudioError('bad_input', `split of segment ${segment}: that is every fragment of it; nothing would be split`)
  }
  return { kind: 'split', delta, segments: [segment, into] }
}

export interface PaintRequest {
  /** Linear (z, y, x) C-order indices into the label volume. */
  indices: ArrayLike<number>
  /** The fragment label of each voxel before the stroke, as the caller saw it. */
  before: ArrayLike<number>
  /** The fragment the voxels become (0 erases). */
  fragment: number
  /** A fragment the edit creates and puts in this segment (painting a new object). */
  create?: { fragment: number; segment: number }
}

export function planPaint(state: ProjectState, req: PaintRequest, origin: EditOrigin): PlannedEdit {
  const shape = state.labelShape
  if (shape === null) throw new StudioError('conflict', 'this project has no segmentation yet; there is nothing to paint on')
  const { indices, before, fragment } = req
  if (indices.length !== before.length) {
    throw new StudioError('bad_input', `paint: ${indices.length} voxel indices but ${before.length} labels before`)
  }
  if (indices.length === 0) throw new StudioError('bad_input', 'paint: no voxels given')
  const voxels = shape[0] * shape[1] * shape[2]
  const touched = new Set<number>()
  for (let i = 0; i < indices.length; i++) {
    const v = indices[i]
    if (!Number.isInteger(v) || v < 0 || v >= voxels) {
      throw new StudioError('bad_input', `paint: voxel index ${v} is outside the label volume ${shape.join('x')}`)
    }
    if (!isStorableInteger(before[i])) throw new StudioError('bad_input', `paint: label ${before[i]} of voxel ${v} is not a valid fragment id`)
    const current = state.voxelLabel(v)
    if (current !== undefined && current !== before[i]) {
      throw new StudioError('conflict', `paint: voxel ${v} is fragment ${current} now, not ${before[i]}; reload the labels and try again`)
    }
    if (before[i] !== 0) touched.add(state.segmentOf(before[i]))
  }
  const delta = emptyDelta()
  if (req.create) {
    const { fragment: created, segment } = req.create
    if (state.segmentOf(created) !== 0) throw new StudioError('internal', `paint: fragment ${created} exists already`)
    delta.assign = changes([created], [0], [segment], 'fragment')
    touched.add(segment)
  } else if (fragment !== 0) {
    if (state.segmentOf(fragment) === 0) throw new StudioError('not_found', `paint: fragment ${fragment} is in no segment of this project`)
    touched.add(state.segmentOf(fragment))
  }
  touched.delete(0)
  const segments = [...touched].sort((a, b) => a - b)
  checkEditable(state, segments.filter((s) => state.hasSegment(s)), origin)
  delta.voxels = changes(indices, before, new Float64Array(indices.length).fill(fragment), 'voxel')
  if (delta.voxels.ids.length === 0) throw new StudioError('bad_input', `paint: every voxel is fragment ${fragment} already`)
  return { kind: fragment === 0 ? 'erase' : 'paint', delta, segments }
}

/** Sets or clears the reviewed or locked flag of segments. */
export function planFlag(state: ProjectState, kind: 'review' | 'lock', segments: readonly number[], on: boolean): PlannedEdit {
  const bit = kind === 'review' ? REVIEWED : LOCKED
  if (segments.length === 0) throw new StudioError('bad_input', `${kind}: no segments given`)
  for (const s of segments) requireSegment(state, s)
  const before = segments.map((s) => state.flagsOf(s))
  const after = before.map((f) => (on ? f | bit : f & ~bit))
  const delta = emptyDelta()
  delta.flags = changes(segments, before, after, 'segment')
  if (delta.flags.ids.length === 0) {
    const word = kind === 'review' ? 'reviewed' : 'locked'
    throw new StudioError('bad_input', `${kind}: segment${segments.length > 1 ? 's' : ''} ${segments.join(', ')} ${on ? 'already' : 'not'} ${word}`)
  }
  return { kind, delta, segments: [...delta.flags.ids] }
}

export function planNote(state: ProjectState, text: string, segment: number | undefined): PlannedEdit {
  if (text.trim() === '') throw new StudioError('bad_input', 'note: the text is empty')
  if (segment !== undefined) requireSegment(state, segment)
  return { kind: 'note', delta: emptyDelta(), segments: segment === undefined ? [] : [segment], note: text }
}

/**
 * A new assignment for some fragments from an automatic step (agglomeration at a new threshold,
 * re-segmentation after fine-tuning): refused as a whole if it would move a fragment out of or
 * into a reviewed or locked segment.
 */
export function planReassign(state: ProjectState, fragments: ArrayLike<number>, segments: ArrayLike<number>, origin: EditOrigin): PlannedEdit {
  if (fragments.length !== segments.length) {
    throw new StudioError('bad_input', `reassign: ${fragments.length} fragments but ${segments.length} segments`)
  }
  const before = new Float64Array(fragments.length)
  for (let i = 0; i < fragments.length; i++) {
    if (!isStorableInteger(fragments[i]) || fragments[i] === 0) throw new StudioError('bad_input', `reassign: ${fragments[i]} is not a valid fragment id`)
    if (!isStorableInteger(segments[i])) throw new StudioError('bad_input', `reassign: ${segments[i]} is not a valid segment id`)
    before[i] = state.segmentOf(fragments[i])
  }
  const delta = emptyDelta()
  delta.assign = changes(fragments, before, segments, 'fragment')
  const touched = new Set<number>()
  for (let i = 0; i < delta.assign.ids.length; i++) {
    touched.add(delta.assign.before[i])
    touched.add(delta.assign.after[i])
  }
  touched.delete(0)
  const list = [...touched].sort((a, b) => a - b)
  checkEditable(state, list, origin)
  return { kind: 'reassign', delta, segments: list }
}

/** Refuses edits of locked segments, and automatic edits of reviewed ones. */
export function checkEditable(state: ProjectState, segments: readonly number[], origin: EditOrigin): void {
  const frozen = origin === 'auto' ? REVIEWED | LOCKED : LOCKED
  const hit = segments.filter((s) => (state.flagsOf(s) & frozen) !== 0)
  if (hit.length === 0) return
  const list = hit.slice(0, 5).join(', ') + (hit.length > 5 ? ` and ${hit.length - 5} more` : '')
  if (origin === 'auto') {
    throw new StudioError('conflict', `segment${hit.length > 1 ? 's' : ''} ${list} ${hit.length > 1 ? 'are' : 'is'} reviewed or locked: automatic changes to ${hit.length > 1 ? 'them' : 'it'} are refused`)
  }
  throw new StudioError('conflict', `segment${hit.length > 1 ? 's' : ''} ${list} ${hit.length > 1 ? 'are' : 'is'} locked: unlock before editing`)
}

function requireSegment(state: ProjectState, segment: number): void {
  if (!state.hasSegment(segment)) throw new StudioError('not_found', `segment ${segment} does not exist in this project`)
}
