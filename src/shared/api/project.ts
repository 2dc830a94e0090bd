import type { Bookmark, Box3, EditRecord, ProjectInfo, SegmentState, SourceRecord, SparseVoxels, Vec3 } from '../types'

type None = Record<string, never>

/**
 * The open project: proofreading edits, review, history, bookmarks, corrections files.
 * Fragment and segment ids are plain numbers (integers below 2^52). Every edit returns its
 * EditRecord; every change of the history also arrives as a 'project.changed' event.
 */
export interface ProjectCalls {
  /** Makes a new project folder (project.sqlite, cache/, models/) and opens it. */
  'project.create': { args: { dir: string; author?: string }; result: ProjectInfo }
  /** Opens a project folder (upgrading an older schema), checking its volume sources. */
  'project.open': { args: { dir: string; author?: string }; result: ProjectInfo }
  'project.close': { args: None; result: { closed: boolean } }
  'project.info': { args: None; result: ProjectInfo }
  /** Records a volume the project reads (by path, with a content hash), under a role such as 'raw'. */
  'project.addSource': { args: { path: string; role: string; dataset?: string; channel?: number }; result: SourceRecord }
  /** Points a moved volume at its new path, after checking its content is the same. */
  'project.relinkSource': { args: { sourceId: number; path: string }; result: SourceRecord }

  /** Segment of each fragment (0: in none). */
  'project.segmentOf': { args: { fragments: number[] }; result: { segments: number[] } }
  /** Fragments of a segment, sorted. */
  'project.fragmentsOf': { args: { segment: number }; result: { fragments: Float64Array } }
  /** The whole fragment -> segment map, sorted by fragment, e.g. to colour a label volume. */
  'project.assignment': { args: None; result: { fragments: Float64Array; segments: Float64Array } }
  'project.segments': { args: { segments: number[] }; result: SegmentState[] }
  /** Reviewed and locked segments, sorted. */
  'project.reviewState': { args: None; result: { reviewed: number[]; locked: number[] } }
  /** Voxels in `box` that edits relabelled, with their current fragment: overlay them on the label volume. */
  'project.voxelEdits': { args: { box: Box3 }; result: SparseVoxels }

  /** Segment `absorb` joins `keep`. */
  'project.merge': { args: { keep: number; absorb: number }; result: EditRecord }
  /** `fragments` (e.g. from a seeded split) leave `segment` and form a new segment: record.segments[1]. */
  'project.split': { args: { segment: number; fragments: number[] }; result: EditRecord }
  /**
   * Relabels voxels (linear (z, y, x) C-order indices) with `fragment`; `before` is each voxel's
   * fragment as the caller saw it. Without `fragment`, a new fragment is made in `segment`, or in
   * a new segment when that is absent too.
   */
  'project.paint': { args: { indices: Float64Array; before: Float64Array; fragment?: number; segment?: number }; result: EditRecord }
  'project.erase': { args: { indices: Float64Array; before: Float64Array }; result: EditRecord }
  'project.review': { args: { segments: number[]; reviewed: boolean }; result: EditRecord }
  /** A locked segment refuses every edit until unlocked; reviewed and locked ones refuse automatic changes. */
  'project.lock': { args: { segments: number[]; locked: boolean }; result: EditRecord }
  'project.note': { args: { text: string; segment?: number }; result: EditRecord }

  'project.undo': { args: None; result: { edit: EditRecord | null } }
  'project.redo': { args: None; result: { edit: EditRecord | null } }
  /** Edits newest first; page with `before` = the smallest id already shown. */
  'project.history': { args: { limit?: number; before?: number }; result: EditRecord[] }
  /** Undoes everything after edit `edit` (0: every edit) or after the last edit at or before `time`; redo brings them back. */
  'project.revert': { args: { edit: number } | { time: number }; result: { undone: EditRecord[] } }

  'project.bookmarks': { args: None; result: Bookmark[] }
  'project.addBookmark': { args: { position: Vec3; title: string; segment?: number }; result: Bookmark }
  'project.removeBookmark': { args: { id: number }; result: { removed: boolean } }

  /** Writes the applied edits and the edited labels to one .zip (format in engine/store/exchange.ts). */
  'project.exportCorrections': { args: { file: string }; result: { file: string; edits: number; bytes: number } }
  /** Applies a corrections file made on the same segmentation, all or nothing. */
  'project.importCorrections': { args: { file: string }; result: { edits: EditRecord[] } }
}

export interface ProjectEvents {
  /** After every edit, undo, redo, revert, import, or a new segmentation: redraw these segments. */
  'project.changed': {
    action: 'edit' | 'undo' | 'redo' | 'revert' | 'import' | 'segmentation'
    edits: EditRecord[]
    segments: number[]
  }
}
