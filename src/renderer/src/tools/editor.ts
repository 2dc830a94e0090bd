/**
 * What the editing gestures do: merge pairs, split seeds, brush strokes, bookmarks, and their
 * commits to the project store. Views and keys call these; the engine does the edits.
 */
import { reactive } from 'vue'
import type { Vec3 } from '../../../shared/types'
import type { SliceView } from '../render/geometry'
import { useNoticesStore } from '../stores/notices'
import { useSegmentsStore } from '../stores/segments'
import { useToolsStore } from '../stores/tools'

export interface Hit {
  voxel: Vec3
  label: number | null
}

const state = reactive({ stroking: false })
let stroke: { view: SliceView; voxels: Vec3[] } | null = null

function needsStore(what: string): void {
  useNoticesStore().error(`${what}: the project store is not available in this build yet`)
}

/** Ctrl+click (Shift for the blue seed group) with the active tool. */
function toolClick(_view: SliceView, hit: Hit, shift: boolean): void {
  const tools = useToolsStore()
  const segments = useSegmentsStore()
  const notices = useNoticesStore()
  if (hit.label === null || hit.label === 0) {
    notices.info('no segment here')
    return
  }
  const segment = segments.segmentOf(hit.label)
  if (tools.tool === 'merge') {
    if (tools.mergeSource === null) {
      tools.mergeSource = segment
    } else if (tools.mergeSource !== segment) {
      tools.merges = [...tools.merges, [tools.mergeSource, segment]]
      tools.mergeSource = null
      notices.info(`${tools.merges.length} merge${tools.merges.length > 1 ? 's' : ''} queued: Enter commits, Esc cancels`)
    }
    segments.marked = [...new Set([...tools.merges.flat(), ...(tools.mergeSource === null ? [] : [tools.mergeSource])])]
  } else if (tools.tool === 'split') {
    if (tools.splitSegment !== null && tools.splitSegment !== segment) {
      notices.error(`seeds must lie in one segment: this is ${segment}, the split is of ${tools.splitSegment}`)
      return
    }
    tools.splitSegment = segment
    const group = shift ? 'blue' : 'red'
    tools.seeds = { ...tools.seeds, [group]: [...tools.seeds[group], { voxel: hit.voxel, segment }] }
    segments.marked = [segment]
  } else {
    segments.toggle(segment)
  }
}

function beginStroke(view: SliceView, voxel: Vec3): void {
  stroke = { view, voxels: [voxel] }
  state.stroking = true
}

function continueStroke(voxel: Vec3): void {
  const last = stroke?.voxels[stroke.voxels.length - 1]
  if (stroke && last && last.join() !== voxel.join()) stroke.voxels.push(voxel)
}

async function endStroke(): Promise<void> {
  state.stroking = false
  if (!stroke) return
  stroke = null
  needsStore('painting')
}

async function bookmark(_voxel: Vec3, _segment: number | null): Promise<void> {
  needsStore('bookmarks')
}

async function commit(): Promise<void> {
  needsStore('merge and split')
}

async function fill(threeD: boolean): Promise<void> {
  needsStore(threeD ? '3D fill' : 'fill')
}

async function review(): Promise<void> {
  needsStore('review')
}

async function lock(): Promise<void> {
  needsStore('lock')
}

async function undo(): Promise<void> {
  needsStore('undo')
}

async function redo(): Promise<void> {
  needsStore('redo')
}

function cancel(): void {
  useToolsStore().cancel()
  useSegmentsStore().marked = []
}

function swapSeeds(): void {
  const tools = useToolsStore()
  tools.seeds = { red: tools.seeds.blue, blue: tools.seeds.red }
}

const editor = {
  get stroking() {
    return state.stroking
  },
  toolClick,
  beginStroke,
  continueStroke,
  endStroke,
  bookmark,
  commit,
  fill,
  review,
  lock,
  undo,
  redo,
  cancel,
  swapSeeds,
}

export function useEditor() {
  return editor
}
