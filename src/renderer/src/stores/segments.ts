/**
 * Segments as the user sees them: which label (fragment) belongs to which segment, which are
 * selected, hovered or marked by a tool, and their colours. Any change recolours the views
 * through the lookup table only (Viewer.restyle), never the label textures.
 */
import { defineStore } from 'pinia'
import { computed, ref, shallowRef, watch } from 'vue'
import { FLAG } from '../render/labelTable'
import { segmentColor } from '../render/colors'
import { useViewStore } from './view'

export const useSegmentsStore = defineStore('segments', () => {
  const view = useViewStore()
  /** Selected segments, in the order they were selected. */
  const selected = ref<number[]>([])
  const colorSeed = ref(0)
  const showSelectedOnly = ref(false)
  /** Segments a tool points out (merge source, split target): drawn hatched. */
  const marked = ref<number[]>([])
  /** fragment → segment where they differ; labels absent from it are their own segment. */
  const mapping = shallowRef(new Map<number, number>())
  /** False while the shown labels are not the project's (ground truth): they are their own segments. */
  const mappingActive = ref(true)
  const colorCache = new Map<number, [number, number, number]>()
  /** Labels drawn in a fixed colour, hatched (a split preview's red and blue sides). */
  const previewColors = shallowRef(new Map<number, [number, number, number]>())

  const hoverSegment = computed(() => {
    const label = view.hover?.label
    return label === null || label === undefined || label === 0 ? null : segmentOf(label)
  })
  const selectedSet = computed(() => new Set(selected.value))

  function segmentOf(label: number): number {
    return mappingActive.value ? (mapping.value.get(label) ?? label) : label
  }

  function colorOf(segment: number): [number, number, number] {
    let c = colorCache.get(segment)
    if (!c) colorCache.set(segment, (c = segmentColor(segment, colorSeed.value)))
    return c
  }

  /** The lookup-table entry of a label: its segment's colour and flags. */
  function style(label: number): readonly [number, number, number, number] {
    const preview = previewColors.value.get(label)
    if (preview) return [...preview, FLAG.visible | FLAG.selected | FLAG.marked]
    const segment = segmentOf(label)
    const [r, g, b] = colorOf(segment)
    const isSelected = selectedSet.value.has(segment)
    let flags = showSelectedOnly.value && !isSelected ? 0 : FLAG.visible
    if (isSelected) flags |= FLAG.selected
    if (flags !== 0 && segment === hoverSegment.value) flags |= FLAG.hover
    if (flags !== 0 && marked.value.includes(segment)) flags |= FLAG.marked
    return [r, g, b, flags]
  }

  function toggle(segment: number) {
    if (segment === 0) return
    selected.value = selectedSet.value.has(segment) ? selected.value.filter((s) => s !== segment) : [...selected.value, segment]
  }

  function select(segments: number[]) {
    selected.value = [...new Set(segments.filter((s) => s !== 0))]
  }

  function clear() {
    selected.value = []
  }

  function shuffleColors() {
    colorCache.clear()
    colorSeed.value = (colorSeed.value + 1) >>> 0
  }

  /** Replaces the whole fragment → segment assignment. */
  function setMapping(fragments: ArrayLike<number>, segments: ArrayLike<number>) {
    const m = new Map<number, number>()
    for (let i = 0; i < fragments.length; i++) if (fragments[i] !== segments[i]) m.set(fragments[i], segments[i])
    mapping.value = m
  }

  /** Moves some fragments to new segments (an edit, an undo). */
  function reassign(fragments: ArrayLike<number>, segments: ArrayLike<number>) {
    const m = new Map(mapping.value)
    for (let i = 0; i < fragments.length; i++) {
      if (fragments[i] === segments[i]) m.delete(fragments[i])
      else m.set(fragments[i], segments[i])
    }
    mapping.value = m
  }

  watch(
    () => [view.viewer, selected.value, colorSeed.value, showSelectedOnly.value, hoverSegment.value, marked.value, mapping.value, mappingActive.value, previewColors.value],
    () => view.viewer?.restyle(style),
    { flush: 'sync' },
  )

  return {
    selected,
    selectedSet,
    colorSeed,
    showSelectedOnly,
    marked,
    mapping,
    mappingActive,
    previewColors,
    hoverSegment,
    segmentOf,
    colorOf,
    style,
    toggle,
    select,
    clear,
    shuffleColors,
    setMapping,
    reassign,
  }
})
