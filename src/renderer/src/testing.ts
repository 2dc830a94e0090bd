/**
 * `window.__studio`: the stores and the viewer, for the end-to-end tests and bench/ui, which
 * drive and time the real UI in Chromium. Nothing in the app reads it.
 */
import type { Pinia } from 'pinia'
import { useSegmentsStore } from './stores/segments'
import { useToolsStore } from './stores/tools'
import { useViewStore } from './stores/view'
import { useVolumesStore } from './stores/volumes'

export function exposeForTests(pinia: Pinia): void {
  const stores = {
    view: useViewStore(pinia),
    volumes: useVolumesStore(pinia),
    segments: useSegmentsStore(pinia),
    tools: useToolsStore(pinia),
  }
  Object.defineProperty(window, '__studio', {
    value: {
      ...stores,
      get viewer() {
        return stores.view.viewer
      },
    },
  })
}
