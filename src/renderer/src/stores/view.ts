/**
 * Where the user is looking: layout, crosshair position, zoom, display settings, hover. The
 * three.js Viewer (render/viewer.ts) draws this state; it is pushed to it from here.
 */
import { defineStore } from 'pinia'
import { computed, ref, shallowRef, watch } from 'vue'
import type { Vec3 } from '../../../shared/types'
import { AXES, fitScale, type SliceView, type ViewId } from '../render/geometry'
import type { Viewer } from '../render/viewer'

export type Layout = 'four' | ViewId

export interface Hover {
  view: SliceView
  voxel: Vec3
  label: number | null
  raw: number | null
}

const MIN_SCALE = 0.02

export const useViewStore = defineStore('view', () => {
  const viewer = shallowRef<Viewer | null>(null)
  const layout = ref<Layout>('four')
  /** The slice view the mouse was last over: keys that step slices act on it. */
  const activeView = ref<SliceView>('xy')
  const shape = ref<Vec3 | null>(null)
  const voxelSize = ref<Vec3>([1, 1, 1])
  const position = ref<Vec3>([0, 0, 0])
  const scale = ref(1)
  const window = ref<[number, number]>([0, 255])
  const showImage = ref(true)
  const showSegmentation = ref(true)
  const opacity = ref(0.45)
  const selectedOpacity = ref(0.75)
  const showSlicesIn3d = ref(true)
  const hover = ref<Hover | null>(null)

  const slice = computed(() => position.value.map((p) => Math.floor(p)) as Vec3)

  /** A new volume: centre the crosshair and fit the XY slice into a view of about that size. */
  function reset(newShape: Vec3, newVoxelSize: Vec3, paneSize: [number, number]) {
    shape.value = newShape
    voxelSize.value = newVoxelSize
    position.value = newShape.map((s) => Math.floor(s / 2) + 0.5) as Vec3
    scale.value = fitScale('xy', newShape, newVoxelSize, paneSize[0], paneSize[1])
  }

  function clamp(p: Vec3): Vec3 {
    const s = shape.value
    if (!s) return p
    return p.map((c, a) => Math.min(s[a] - 0.5, Math.max(0.5, c))) as Vec3
  }

  function moveTo(voxel: Vec3) {
    position.value = clamp(voxel)
  }

  /** Steps the slice of `view` by `delta` slices (keeping the crosshair at voxel centres). */
  function stepSlice(view: SliceView, delta: number) {
    const { n } = AXES[view]
    const p: Vec3 = [...position.value]
    p[n] = Math.floor(p[n]) + delta + 0.5
    moveTo(p)
  }

  /** Moves by whole voxels along a view's horizontal and vertical axes. */
  function pan(view: SliceView, dh: number, dv: number) {
    const { h, v } = AXES[view]
    const p: Vec3 = [...position.value]
    p[h] += dh
    p[v] += dv
    moveTo(p)
  }

  /** Zooms by `factor` (>1 zooms out), keeping the voxel `anchor` (when given) under the mouse. */
  function zoom(factor: number, anchor?: { view: SliceView; voxel: Vec3 }) {
    const next = Math.max(MIN_SCALE, scale.value * factor)
    const f = next / scale.value
    scale.value = next
    if (anchor) {
      const { h, v } = AXES[anchor.view]
      const p: Vec3 = [...position.value]
      p[h] = anchor.voxel[h] + (p[h] - anchor.voxel[h]) * f
      p[v] = anchor.voxel[v] + (p[v] - anchor.voxel[v]) * f
      moveTo(p)
    }
  }

  function toggleLayout(view: ViewId) {
    layout.value = layout.value === view ? 'four' : view
  }

  watch(
    [viewer, position, scale, window, opacity, selectedOpacity, showSlicesIn3d, showImage, showSegmentation],
    () =>
      viewer.value?.update({
        position: position.value,
        scale: scale.value,
        window: window.value,
        opacity: showSegmentation.value ? opacity.value : 0,
        selectedOpacity: showSegmentation.value ? selectedOpacity.value : 0,
        showSlicesIn3d: showSlicesIn3d.value,
        showImage: showImage.value,
      }),
    { flush: 'sync' },
  )

  return {
    viewer,
    layout,
    activeView,
    shape,
    voxelSize,
    position,
    slice,
    scale,
    window,
    showImage,
    showSegmentation,
    opacity,
    selectedOpacity,
    showSlicesIn3d,
    hover,
    reset,
    moveTo,
    stepSlice,
    pan,
    zoom,
    toggleLayout,
  }
})
