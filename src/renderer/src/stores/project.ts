/**
 * The open project (engine/store): its info, edit history, bookmarks, review state and the
 * fragment → segment assignment the views colour by. Kept current by 'project.changed' events,
 * whoever made the change (this window, another window, a job).
 */
import { defineStore } from 'pinia'
import { computed, ref, shallowRef } from 'vue'
import type { ApiEvents } from '../../../shared/api'
import type { Bookmark, Box3, EditRecord, ProjectInfo, SegmentState, VolumeInfo } from '../../../shared/types'
import { api } from '../api'
import type { Layer, VoxelArray } from '../render/chunkStore'
import { useNoticesStore } from './notices'
import { useSegmentsStore } from './segments'
import { useViewStore } from './view'

const RECENT_KEY = 'tokenunify.recentProjects'
/** Above this many segments touched, an edit reloads the whole assignment. */
const MANY_SEGMENTS = 64

function loadRecent(): string[] {
  try {
    const v: unknown = JSON.parse(localStorage.getItem(RECENT_KEY) ?? '[]')
    return Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : []
  } catch {
    return []
  }
}

/** Writes a project's edited voxels (linear indices into the whole volume) over a box's labels. */
export function overlayVoxelEdits(data: VoxelArray, box: Box3, shape: ProjectInfo['labelShape'], edits: { indices: Float64Array; labels: Float64Array }) {
  if (!shape || edits.indices.length === 0) return data
  const [, Y, X] = shape
  const dy = box.stop[1] - box.start[1]
  const dx = box.stop[2] - box.start[2]
  for (let i = 0; i < edits.indices.length; i++) {
    const lin = edits.indices[i]
    const z = Math.floor(lin / (Y * X))
    const rest = lin - z * Y * X
    const y = Math.floor(rest / X)
    const x = rest - y * X
    const local = ((z - box.start[0]) * dy + (y - box.start[1])) * dx + (x - box.start[2])
    if (data instanceof BigUint64Array) data[local] = BigInt(edits.labels[i])
    else data[local] = edits.labels[i]
  }
  return data
}

export const useProjectStore = defineStore('project', () => {
  const info = ref<ProjectInfo | null>(null)
  const history = ref<EditRecord[]>([])
  const bookmarks = ref<Bookmark[]>([])
  const reviewed = shallowRef(new Set<number>())
  const locked = shallowRef(new Set<number>())
  /** Segment states asked for (hover, the segments panel), dropped when an edit touches them. */
  const states = ref(new Map<number, SegmentState>())
  const recent = ref<string[]>(loadRecent())
  const busy = ref(false)
  const open = computed(() => info.value !== null)

  function remember(dir: string) {
    recent.value = [dir, ...recent.value.filter((d) => d !== dir)].slice(0, 8)
    localStorage.setItem(RECENT_KEY, JSON.stringify(recent.value))
  }

  /** Opens (or with create, makes) the project in `dir` and loads everything the UI shows of it. */
  async function openDir(dir: string, create = false) {
    busy.value = true
    try {
      info.value = await api.call(create ? 'project.create' : 'project.open', { dir })
      remember(info.value.dir)
      await reload()
    } finally {
      busy.value = false
    }
  }

  /** Picks up the project the engine already has open (after a page reload), if any. */
  async function attach(): Promise<boolean> {
    try {
      info.value = await api.call('project.info', {})
    } catch {
      info.value = null
      return false
    }
    await reload()
    return true
  }

  async function close() {
    await api.call('project.close', {})
    info.value = null
    history.value = []
    bookmarks.value = []
    reviewed.value = new Set()
    locked.value = new Set()
    useSegmentsStore().setMapping([], [])
  }

  async function reload() {
    const segments = useSegmentsStore()
    const [assignment] = await Promise.all([
      info.value?.labelShape ? api.call('project.assignment', {}) : null,
      refreshHistory(),
      refreshBookmarks(),
      refreshReview(),
    ])
    if (assignment) segments.setMapping(assignment.fragments, assignment.segments)
    states.value = new Map()
  }

  async function refreshInfo() {
    info.value = await api.call('project.info', {})
  }

  async function refreshHistory() {
    history.value = await api.call('project.history', { limit: 200 })
  }

  async function refreshBookmarks() {
    bookmarks.value = await api.call('project.bookmarks', {})
  }

  async function refreshReview() {
    const r = await api.call('project.reviewState', {})
    reviewed.value = new Set(r.reviewed)
    locked.value = new Set(r.locked)
  }

  /** Size and review state of segments, cached until an edit touches them. */
  async function segmentStates(ids: number[]): Promise<SegmentState[]> {
    const missing = ids.filter((s) => !states.value.has(s))
    if (missing.length > 0 && info.value?.labelShape) {
      for (const s of await api.call('project.segments', { segments: missing })) states.value.set(s.segment, s)
    }
    return ids.map((s) => states.value.get(s)).filter((s): s is SegmentState => s !== undefined)
  }

  /**
   * Whether a label volume is the project's segmentation: the fragments of its automatic
   * segmentation, or (a project segmented elsewhere) any label volume of its label shape.
   */
  function owns(volume: VolumeInfo, fragmentsId: string | null): boolean {
    if (!info.value?.labelShape) return false
    return fragmentsId !== null ? volume.id === fragmentsId : info.value.labelShape.join() === volume.shape.join()
  }

  /** The project's segmentation layer: its label volume with the painted voxels over it. */
  function labelsLayer(volume: VolumeInfo): Layer {
    return {
      info: volume,
      read: async (box) => {
        const [{ data }, voxels] = await Promise.all([
          api.call('volume.read', { volumeId: volume.id, box }),
          api.call('project.voxelEdits', { box }),
        ])
        return overlayVoxelEdits(data, box, volume.shape, voxels)
      },
    }
  }

  /** Brings the views up to date after any change of the history. */
  async function onChanged(change: ApiEvents['project.changed']) {
    if (!info.value) return
    const segments = useSegmentsStore()
    const view = useViewStore()
    try {
      if (change.action === 'segmentation') {
        await refreshInfo()
        await reload()
        await view.viewer?.reloadLabels()
        return
      }
      const touched = change.segments.filter((s) => s !== 0)
      if (touched.length > MANY_SEGMENTS || change.edits.some((e) => e.kind === 'reassign')) {
        // A new threshold or a whole run: one read of the assignment beats a call per segment.
        const all = await api.call('project.assignment', {})
        segments.setMapping(all.fragments, all.segments)
        states.value = new Map()
      } else {
        const moved = await Promise.all(touched.map((s) => api.call('project.fragmentsOf', { segment: s })))
        const fragments: number[] = []
        const owners: number[] = []
        moved.forEach((m, i) => {
          for (const f of m.fragments) {
            fragments.push(f)
            owners.push(touched[i])
          }
        })
        segments.reassign(fragments, owners)
        for (const s of touched) states.value.delete(s)
      }
      // A merged-away segment that was selected hands its place to the segment that absorbed it.
      for (const e of change.edits) {
        if (e.kind !== 'merge' || e.state !== 'applied') continue
        const [kept, absorbed] = e.segments
        if (segments.selectedSet.has(absorbed)) segments.select(segments.selected.map((s) => (s === absorbed ? kept : s)))
      }
      const relabelled = change.edits.some((e) => e.voxels > 0)
      await Promise.all([
        refreshInfo(),
        refreshHistory(),
        refreshReview(),
        change.edits.some((e) => e.kind === 'note') ? refreshBookmarks() : null,
        relabelled ? view.viewer?.reloadLabels() : null,
      ])
    } catch (err) {
      useNoticesStore().error(`project: ${(err as Error).message}`)
    }
  }

  api.on('project.changed', (change) => void onChanged(change))

  return {
    info,
    open,
    busy,
    history,
    bookmarks,
    reviewed,
    locked,
    states,
    recent,
    openDir,
    attach,
    close,
    reload,
    refreshInfo,
    refreshHistory,
    refreshBookmarks,
    segmentStates,
    owns,
    labelsLayer,
  }
})
