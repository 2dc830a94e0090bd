/**
 * Meshes of the selected segments in the 3D view, from the engine's native mesher
 * ('segment.mesh'). Made when a segment is selected, again when an edit changes it, dropped
 * when it is deselected.
 */
import { defineStore } from 'pinia'
import { ref, watch } from 'vue'
import { api } from '../api'
import { useNoticesStore } from './notices'
import { useProjectStore } from './project'
import { useSegmentsStore } from './segments'
import { useViewStore } from './view'
import { useVolumesStore } from './volumes'

export const useMeshesStore = defineStore('meshes', () => {
  const segments = useSegmentsStore()
  const project = useProjectStore()
  const view = useViewStore()
  const volumes = useVolumesStore()
  /** Segments whose mesh is being made. */
  const loading = ref(new Set<number>())
  /** Bumped per segment to drop a mesh that an edit made stale while it was being made. */
  const version = new Map<number, number>()

  async function make(segment: number) {
    const volumeId = volumes.labelsId
    const viewer = view.viewer
    if (!volumeId || !viewer) return
    const v = (version.get(segment) ?? 0) + 1
    version.set(segment, v)
    loading.value.add(segment)
    try {
      const labels = project.info?.labelShape ? Array.from((await api.call('project.fragmentsOf', { segment })).fragments) : [segment]
      const mesh = await api.call('segment.mesh', { volumeId, labels })
      if (version.get(segment) !== v || !segments.selectedSet.has(segment)) return
      viewer.setSegmentMesh(segment, mesh.positions, mesh.normals, mesh.indices, segments.colorOf(segment))
    } catch (err) {
      useNoticesStore().error(`mesh of segment ${segment}: ${(err as Error).message}`)
    } finally {
      if (version.get(segment) === v) loading.value.delete(segment)
    }
  }

  function drop(segment: number) {
    version.set(segment, (version.get(segment) ?? 0) + 1)
    loading.value.delete(segment)
    view.viewer?.removeSegmentMesh(segment)
  }

  watch(
    () => segments.selected,
    (now) => {
      const viewer = view.viewer
      if (!viewer) return
      const want = new Set(now)
      for (const id of viewer.segmentMeshIds()) if (!want.has(id)) drop(id)
      for (const id of now) if (!viewer.segmentMeshIds().includes(id) && !loading.value.has(id)) void make(id)
    },
  )

  // Edits re-make the meshes of the selected segments they touched; recolouring repaints them.
  api.on('project.changed', (change) => {
    for (const s of change.segments) if (segments.selectedSet.has(s)) void make(s)
  })
  watch(
    () => segments.colorSeed,
    () => {
      for (const id of view.viewer?.segmentMeshIds() ?? []) view.viewer?.setSegmentMeshColor(id, segments.colorOf(id))
    },
  )
  watch(
    () => volumes.labelsId,
    () => {
      for (const id of view.viewer?.segmentMeshIds() ?? []) drop(id)
      for (const id of segments.selected) void make(id)
    },
  )

  return { loading }
})
