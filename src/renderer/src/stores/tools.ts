/**
 * The active tool and its pending work: merge pairs queued (Ctrl+click source, then target),
 * split seeds in a red and a blue group, the brush size.
 */
import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import type { Vec3 } from '../../../shared/types'

export type Tool = 'select' | 'merge' | 'split' | 'brush' | 'eraser'

export interface Seed {
  voxel: Vec3
  segment: number
  /** The label (fragment) under the seed. */
  fragment: number
}

export const useToolsStore = defineStore('tools', () => {
  const tool = ref<Tool>('select')
  /** Merge mode: a source waiting for its target, and the pairs waiting for Enter. */
  const mergeSource = ref<number | null>(null)
  const merges = ref<Array<[number, number]>>([])
  /** Split mode: the segment being split and its two seed groups. */
  const splitSegment = ref<number | null>(null)
  const seeds = ref<{ red: Seed[]; blue: Seed[] }>({ red: [], blue: [] })
  const brushSize = ref(8)

  /** True while a tool holds work that Esc would throw away. */
  const pending = computed(
    () => mergeSource.value !== null || merges.value.length > 0 || seeds.value.red.length + seeds.value.blue.length > 0,
  )
  const painting = computed(() => tool.value === 'brush' || tool.value === 'eraser')

  /** Switches to a tool (or back to select when it is already active), dropping pending work. */
  function use(next: Tool) {
    cancel()
    tool.value = tool.value === next ? 'select' : next
  }

  function cancel() {
    mergeSource.value = null
    merges.value = []
    splitSegment.value = null
    seeds.value = { red: [], blue: [] }
  }

  function resizeBrush(delta: number) {
    brushSize.value = Math.min(128, Math.max(1, Math.round(brushSize.value + delta)))
  }

  return { tool, mergeSource, merges, splitSegment, seeds, brushSize, pending, painting, use, cancel, resizeBrush }
})
