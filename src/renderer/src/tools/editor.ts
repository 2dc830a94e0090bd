/**
 * What the editing gestures do: merge pairs, split seeds, brush strokes, review, lock, bookmarks,
 * undo and redo, each one call to the project store in the engine. The views then follow the
 * 'project.changed' event (stores/project.ts), so an edit from anywhere shows the same way.
 */
import { reactive } from 'vue'
import type { Vec3 } from '../../../shared/types'
import { api } from '../api'
import { AXES, type SliceView } from '../render/geometry'
import { useAppStore } from '../stores/app'
import { useNoticesStore } from '../stores/notices'
import { useProjectStore } from '../stores/project'
import { useSegmentsStore } from '../stores/segments'
import { useToolsStore } from '../stores/tools'
import { useViewStore } from '../stores/view'

export interface Hit {
  voxel: Vec3
  label: number | null
}

const state = reactive({ stroking: false, busy: false })
let stroke: { view: SliceView; last: Vec3; voxels: Map<number, Vec3> } | null = null

/** Runs an edit call, reporting its refusal (a locked segment, no project) in the status bar. */
async function edit<T>(what: string, call: () => Promise<T>): Promise<T | null> {
  const project = useProjectStore()
  const notices = useNoticesStore()
  if (!project.open) {
    notices.error(`${what}: open or create a project first; edits are kept in the project`)
    return null
  }
  state.busy = true
  try {
    return await call()
  } catch (err) {
    notices.error(`${what}: ${(err as Error).message}`)
    return null
  } finally {
    state.busy = false
  }
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
    tools.seeds = { ...tools.seeds, [group]: [...tools.seeds[group], { voxel: hit.voxel, segment, fragment: hit.label }] }
    segments.marked = [segment]
  } else {
    segments.toggle(segment)
  }
}

/** Queued merges, in order; a pair whose segment an earlier pair absorbed uses the survivor. */
async function commitMerges(): Promise<void> {
  const tools = useToolsStore()
  const survivor = new Map<number, number>()
  const resolve = (s: number) => {
    while (survivor.has(s)) s = survivor.get(s) as number
    return s
  }
  for (const [source, target] of tools.merges) {
    const absorb = resolve(source)
    const keep = resolve(target)
    if (absorb === keep) continue
    const done = await edit('merge', () => api.call('project.merge', { keep, absorb }))
    if (!done) return
    survivor.set(absorb, keep)
  }
  cancel()
}

async function commit(): Promise<void> {
  const tools = useToolsStore()
  if (tools.tool === 'merge') await commitMerges()
  else if (tools.tool === 'split') useNoticesStore().error('split: the seeded split of the segmentation engine is not available in this build yet')
}

/** Voxels of a brush disc in the view's plane around `centre` (size in voxels of the horizontal axis). */
function disc(view: SliceView, centre: Vec3, size: number, shape: Vec3, voxelSize: Vec3): Vec3[] {
  const { h, v } = AXES[view]
  const radius = (size / 2) * voxelSize[h]
  const rh = Math.ceil(radius / voxelSize[h])
  const rv = Math.ceil(radius / voxelSize[v])
  const out: Vec3[] = []
  for (let dv = -rv; dv <= rv; dv++) {
    for (let dh = -rh; dh <= rh; dh++) {
      if ((dh * voxelSize[h]) ** 2 + (dv * voxelSize[v]) ** 2 > radius * radius + 1e-9 && (dh !== 0 || dv !== 0)) continue
      const p: Vec3 = [...centre]
      p[h] += dh
      p[v] += dv
      if (p[h] >= 0 && p[h] < shape[h] && p[v] >= 0 && p[v] < shape[v]) out.push(p)
    }
  }
  return out
}

function addDisc(centre: Vec3) {
  const view = useViewStore()
  const tools = useToolsStore()
  const shape = view.shape
  if (!stroke || !shape) return
  for (const p of disc(stroke.view, centre, tools.brushSize, shape, view.voxelSize)) {
    stroke.voxels.set((p[0] * shape[1] + p[1]) * shape[2] + p[2], p)
  }
}

function beginStroke(view: SliceView, voxel: Vec3): void {
  stroke = { view, last: voxel, voxels: new Map() }
  state.stroking = true
  addDisc(voxel)
}

/** Adds discs along the line from the last point, so a fast drag leaves no gaps. */
function continueStroke(voxel: Vec3): void {
  if (!stroke) return
  const { h, v } = AXES[stroke.view]
  const from = stroke.last
  const steps = Math.max(Math.abs(voxel[h] - from[h]), Math.abs(voxel[v] - from[v]))
  for (let i = 1; i <= steps; i++) {
    const p: Vec3 = [...from]
    p[h] = Math.round(from[h] + ((voxel[h] - from[h]) * i) / steps)
    p[v] = Math.round(from[v] + ((voxel[v] - from[v]) * i) / steps)
    addDisc(p)
  }
  stroke.last = voxel
}

/** The voxels of the stroke so far (for its preview). */
function strokeVoxels(): Vec3[] {
  return stroke ? [...stroke.voxels.values()] : []
}

async function endStroke(): Promise<void> {
  state.stroking = false
  const s = stroke
  stroke = null
  if (!s) return
  const view = useViewStore()
  const tools = useToolsStore()
  const segments = useSegmentsStore()
  const indices: number[] = []
  const before: number[] = []
  for (const [index, voxel] of s.voxels) {
    const label = view.viewer?.probe(voxel)?.label
    if (label === null || label === undefined) continue
    if (tools.tool === 'eraser' && label === 0) continue
    indices.push(index)
    before.push(label)
  }
  if (indices.length === 0) return
  if (tools.tool === 'eraser') {
    await edit('erase', () => api.call('project.erase', { indices: Float64Array.from(indices), before: Float64Array.from(before) }))
    return
  }
  const segment = segments.selected[0]
  const record = await edit('paint', () =>
    api.call('project.paint', { indices: Float64Array.from(indices), before: Float64Array.from(before), ...(segment === undefined ? {} : { segment }) }),
  )
  // Painting with nothing selected made a new segment: the newest id the edit touched.
  if (record && segment === undefined && record.segments.length > 0) segments.select([Math.max(...record.segments)])
}

/** R: reviewed, or back to unreviewed when every selected segment is reviewed already. */
async function review(): Promise<void> {
  const project = useProjectStore()
  const selected = useSegmentsStore().selected
  const reviewed = !selected.every((s) => project.reviewed.has(s))
  await edit('review', () => api.call('project.review', { segments: [...selected], reviewed }))
}

async function lock(): Promise<void> {
  const project = useProjectStore()
  const selected = useSegmentsStore().selected
  const locked = !selected.every((s) => project.locked.has(s))
  await edit('lock', () => api.call('project.lock', { segments: [...selected], locked }))
}

async function undo(): Promise<void> {
  const r = await edit('undo', () => api.call('project.undo', {}))
  if (r && !r.edit) useNoticesStore().info('nothing to undo')
}

async function redo(): Promise<void> {
  const r = await edit('redo', () => api.call('project.redo', {}))
  if (r && !r.edit) useNoticesStore().info('nothing to redo')
}

/** Opens the bookmark dialog for a place (and segment); the note is asked for there. */
async function bookmark(voxel: Vec3, segment: number | null): Promise<void> {
  if (!useProjectStore().open) {
    useNoticesStore().error('bookmark: open or create a project first; bookmarks are kept in the project')
    return
  }
  useAppStore().bookmarkDraft = { position: [...voxel], segment }
}

async function saveBookmark(position: Vec3, title: string, segment: number | null): Promise<void> {
  const project = useProjectStore()
  const done = await edit('bookmark', () =>
    api.call('project.addBookmark', { position, title, ...(segment === null ? {} : { segment }) }),
  )
  if (done) await project.refreshBookmarks()
}

async function fill(threeD: boolean): Promise<void> {
  useNoticesStore().error(`${threeD ? '3D fill' : 'fill'}: the segmentation engine's fill is not available in this build yet`)
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
  get busy() {
    return state.busy
  },
  toolClick,
  beginStroke,
  continueStroke,
  strokeVoxels,
  endStroke,
  commit,
  review,
  lock,
  undo,
  redo,
  bookmark,
  saveBookmark,
  fill,
  cancel,
  swapSeeds,
}

export function useEditor() {
  return editor
}
