import { defineStore } from 'pinia'
import { ref } from 'vue'
import type { AppInfo, Vec3 } from '../../../shared/types'
import { api } from '../api'

export const useAppStore = defineStore('app', () => {
  const info = ref<AppInfo | null>(null)
  const error = ref<string | null>(null)
  const helpOpen = ref(false)
  /** A bookmark waiting for its note (the bookmark dialog is open while set). */
  const bookmarkDraft = ref<{ position: Vec3; segment: number | null } | null>(null)

  async function load() {
    try {
      info.value = await api.call('app.info', {})
    } catch (err) {
      error.value = (err as Error).message
    }
  }

  return { info, error, helpOpen, bookmarkDraft, load }
})
