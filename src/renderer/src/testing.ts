/**
 * `window.__studio`: the stores and the viewer, for the end-to-end tests and bench/ui, which
 * drive and time the real UI in Chromium. Nothing in the app reads it.
 */
import type { Pinia } from 'pinia'
import { useNoticesStore } from './stores/notices'
import { useProjectStore } from './stores/project'
import { useSegmentationStore } from './stores/segmentation'
import { useSegmentsStore } from './stores/segments'
import { useToolsStore } from './stores/tools'
import { useViewStore } from './stores/view'
import { useVolumesStore } from './stores/volumes'
import { useEditor } from './tools/editor'

export function exposeForTests(pinia: Pinia): void {
  const stores = {
    view: useViewStore(pinia),
    volumes: useVolumesStore(pinia),
    segments: useSegmentsStore(pinia),
    tools: useToolsStore(pinia),
    project: useProjectStore(pinia),
    notices: useNoticesStore(pinia),
    segmentation: useSegmentationStore(pinia),
  }
  Object.defineProperty(window, '__studio', {
    value: {
      ...stores,
      editor: useEditor(),
      get viewer() {
        return stores.view.viewer
      },
    },
  })
}
