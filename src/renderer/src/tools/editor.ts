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
import { useSegmentationStore } from '../stores/segmentation'
import { useSegmentsStore } from '../stores/segments'
import { useToolsStore, type Tool } from '../stores/tools'
import { useViewStore } from '../stores/view'
import { fillRegion } from './fill'

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
    void previewSplit()
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
  useNoticesStore().info(`merged ${tools.merges.length} pair${tools.merges.length > 1 ? 's' : ''}`)
  cancel()
}

const RED: [number, number, number] = [255, 77, 77]
const BLUE: [number, number, number] = [77, 141, 255]

/** Asks the engine where the seeds would cut, and shows its two sides hatched red and blue. */
async function previewSplit(): Promise<void> {
  const tools = useToolsStore()
  const segmentation = useSegmentationStore()
  const segments = useSegmentsStore()
  const { red, blue } = tools.seeds
  const segment = tools.splitSegment
  if (segment === null || red.length === 0 || blue.length === 0) {
    segmentation.preview = null
    segments.previewColors = new Map()
    return
  }
  const preview = await edit('split preview', () =>
    api.call('segment.splitPreview', { segment, seeds: { red: red.map((s) => s.voxel), blue: blue.map((s) => s.voxel) } }),
  )
  // Seeds changed while the engine was working: a newer preview is on its way.
  if (!preview || tools.seeds.red !== red || tools.seeds.blue !== blue) return
  segmentation.preview = preview
  const colors = new Map<number, [number, number, number]>()
  for (const f of preview.red) colors.set(f, RED)
  for (const f of preview.blue) colors.set(f, BLUE)
  segments.previewColors = colors
}

/**
 * Commits the previewed split: fragments cut voxel by voxel first get their blue voxels as a new
 * fragment of the segment (project.paint), then the blue side leaves as a new segment.
 */
async function commitSplit(): Promise<void> {
  const segmentation = useSegmentationStore()
  const preview = segmentation.preview
  const shape = useViewStore().shape
  if (!preview || !shape) {
    useNoticesStore().error('split: place red seeds (Ctrl+click) and blue seeds (Ctrl+Shift+click) in one segment first')
    return
  }
  const { segment } = preview
  const blue = [...preview.blue]
  for (const cut of preview.cuts) {
    if (cut.blue.length === 0) continue
    const painted = await edit('split', () =>
      api.call('project.paint', { indices: cut.blue, before: new Float64Array(cut.blue.length).fill(cut.fragment), segment }),
    )
    if (!painted) return
    // The new fragment is whatever label the first blue voxel has now.
    const i = cut.blue[0]
    const at: Vec3 = [Math.floor(i / (shape[1] * shape[2])), Math.floor(i / shape[2]) % shape[1], i % shape[2]]
    const now = await api.call('project.voxelEdits', { box: { start: at, stop: [at[0] + 1, at[1] + 1, at[2] + 1] } })
    blue.push(now.labels[0])
  }
  const record = await edit('split', () => api.call('project.split', { segment, fragments: blue }))
  if (!record) return
  useNoticesStore().info(`split segment ${segment}: the blue side is segment ${record.segments[1]}`)
  cancel()
  useSegmentsStore().select([...useSegmentsStore().selected, ...record.segments])
}

async function commit(): Promise<void> {
  const tools = useToolsStore()
  if (tools.tool === 'merge') await commitMerges()
  else if (tools.tool === 'split') await commitSplit()
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

/** Voxels one fill may change: enough for a large cell section, small enough to stay responsive. */
const FILL_LIMIT = 2_000_000

/**
 * F / Shift+F: the region under the mouse (its label, connected, in the slice or in 3D) becomes
 * part of the selected segment.
 */
async function fill(threeD: boolean): Promise<void> {
  const view = useViewStore()
  const notices = useNoticesStore()
  const segment = useSegmentsStore().selected[0]
  const hover = view.hover
  const viewer = view.viewer
  if (!hover || !viewer || !view.shape) {
    notices.error('fill: point at the region to fill')
    return
  }
  const { h, v, n } = AXES[hover.view]
  const region = fillRegion(hover.voxel, threeD ? [h, v, n] : [h, v], view.shape, (p) => viewer.probe(p)?.label ?? null, FILL_LIMIT)
  if (region.indices.length === 0) return
  if (segment !== undefined && useSegmentsStore().segmentOf(region.label) === segment) {
    notices.info(`fill: this region is segment ${segment} already`)
    return
  }
  const done = await edit('fill', () =>
    api.call('project.paint', { indices: Float64Array.from(region.indices), before: new Float64Array(region.indices.length).fill(region.label), segment }),
  )
  if (done && region.truncated) notices.info(`fill: ${region.indices.length} voxels; it stopped where the views have no data loaded`)
}

function cancel(): void {
  useToolsStore().cancel()
  const segments = useSegmentsStore()
  segments.marked = []
  segments.previewColors = new Map()
  useSegmentationStore().preview = null
}

/** Switches tool (back to select when it is active already), dropping pending merges and seeds. */
function useTool(next: Tool): void {
  cancel()
  useToolsStore().use(next)
}

function swapSeeds(): void {
  const tools = useToolsStore()
  tools.seeds = { red: tools.seeds.blue, blue: tools.seeds.red }
  void previewSplit()
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
  useTool,
  swapSeeds,
}

export function useEditor() {
  return editor
}
