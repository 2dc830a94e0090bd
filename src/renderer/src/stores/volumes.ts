/**
 * The volumes the engine has open and which two the views show: an image (uint8/uint16/float32)
 * and a segmentation (uint32/uint64 labels) of the same shape. Contrast starts from the image's
 * histogram (the 'volume.histogram' job).
 */
import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import type { Box3, Histogram, VolumeInfo } from '../../../shared/types'
import { api } from '../api'
import type { Layer, VoxelArray } from '../render/chunkStore'
import { useProjectStore } from './project'
import { useSegmentationStore } from './segmentation'
import { useSegmentsStore } from './segments'
import { useViewStore } from './view'

export function isLabelVolume(v: VolumeInfo): boolean {
  return v.dtype === 'uint32' || v.dtype === 'uint64'
}

/** A layer read through 'volume.read'. */
export function volumeLayer(info: VolumeInfo): Layer {
  return {
    info,
    read: async (box: Box3): Promise<VoxelArray> => (await api.call('volume.read', { volumeId: info.id, box })).data,
  }
}

/** The values at the given fractions of a histogram's mass (auto contrast). */
export function percentiles(h: Histogram, fractions: number[]): number[] {
  const total = h.counts.reduce((a, b) => a + b, 0)
  const width = (h.max - h.min) / h.counts.length
  return fractions.map((f) => {
    let seen = 0
    for (let i = 0; i < h.counts.length; i++) {
      seen += h.counts[i]
      if (seen >= f * total) return h.min + (i + 1) * width
    }
    return h.max
  })
}

/** The size of the XY pane (the zoom that fits a new volume is chosen for it). */
function paneSize(): [number, number] {
  const r = document.querySelector('[data-testid="pane-xy"]')?.getBoundingClientRect()
  return r && r.width > 0 ? [r.width, r.height] : [800, 800]
}

export const useVolumesStore = defineStore('volumes', () => {
  const all = ref<VolumeInfo[]>([])
  const imageId = ref<string | null>(null)
  const labelsId = ref<string | null>(null)
  const histogram = ref<Histogram | null>(null)
  const error = ref<string | null>(null)
  const image = computed(() => all.value.find((v) => v.id === imageId.value) ?? null)
  const labels = computed(() => all.value.find((v) => v.id === labelsId.value) ?? null)
  const images = computed(() => all.value.filter((v) => !isLabelVolume(v)))
  const segmentations = computed(() => all.value.filter(isLabelVolume))

  async function refresh(): Promise<VolumeInfo[]> {
    all.value = await api.call('volume.list', {})
    return all.value
  }

  /** Shows an image and a segmentation (either may be null) in every view. */
  async function show(newImageId: string | null, newLabelsId: string | null, fitTo: [number, number] = paneSize()) {
    const view = useViewStore()
    error.value = null
    const img = all.value.find((v) => v.id === newImageId) ?? null
    const lab = all.value.find((v) => v.id === newLabelsId) ?? null
    const info = img ?? lab
    const previous = image.value ?? labels.value
    try {
      // The project's own segmentation shows its edits and is coloured by its assignment; any
      // other label volume (ground truth, say) is drawn as it is on disk.
      const project = useProjectStore()
      const owned = lab !== null && project.owns(lab, useSegmentationStore().summary?.fragments.id ?? null)
      useSegmentsStore().mappingActive = owned
      view.viewer?.setLayers(img && volumeLayer(img), lab && (owned ? project.labelsLayer(lab) : volumeLayer(lab)))
    } catch (err) {
      error.value = (err as Error).message
      return
    }
    const sameSpace = previous !== null && info !== null && previous.shape.join() === info.shape.join()
    imageId.value = img?.id ?? null
    labelsId.value = lab?.id ?? null
    if (info && !sameSpace) view.reset(info.shape, img?.voxelSize ?? lab?.voxelSize ?? [1, 1, 1], fitTo)
    if (img && img.id !== histogramOf) await autoContrast(img)
  }

  /**
   * Shows a volume just opened with a volume of the other kind of the same shape: the one shown,
   * else the first open one.
   */
  async function showOpened(info: VolumeInfo) {
    await refresh()
    const partner = (shown: string | null, candidates: VolumeInfo[]) => {
      const fits = (v: VolumeInfo | undefined) => v !== undefined && v.shape.join() === info.shape.join()
      const current = all.value.find((v) => v.id === shown)
      return fits(current) ? (current as VolumeInfo).id : (candidates.find(fits)?.id ?? null)
    }
    if (isLabelVolume(info)) await show(partner(imageId.value, images.value), info.id)
    else await show(info.id, partner(labelsId.value, segmentations.value))
  }

  /** Shows the first image and a segmentation of its shape, when nothing is shown yet. */
  async function showDefault() {
    await refresh()
    if (imageId.value || labelsId.value || all.value.length === 0) return
    const img = images.value[0] ?? null
    const lab = segmentations.value.find((s) => !img || s.shape.join() === img.shape.join()) ?? null
    await show(img?.id ?? null, lab?.id ?? null, paneSize())
  }

  let histogramOf: string | null = null
  async function autoContrast(img: VolumeInfo) {
    const view = useViewStore()
    histogramOf = img.id
    view.window = img.dtype === 'uint16' ? [0, 65535] : img.dtype === 'uint8' ? [0, 255] : [0, 1]
    try {
      const { histogram: h } = await api.call('volume.histogram', { volumeId: img.id, bins: 256 })
      histogram.value = h
      const [lo, hi] = percentiles(h, [0.005, 0.995])
      view.window = [lo, hi]
    } catch (err) {
      error.value = `histogram: ${(err as Error).message}`
    }
  }

  return { all, imageId, labelsId, image, labels, images, segmentations, histogram, error, refresh, show, showOpened, showDefault }
})
