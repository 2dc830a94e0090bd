/** Short messages for the user (an edit that was refused, a file that failed to open), shown in the status bar. */
import { defineStore } from 'pinia'
import { ref } from 'vue'

export interface Notice {
  id: number
  kind: 'info' | 'error'
  text: string
}

export const useNoticesStore = defineStore('notices', () => {
  const current = ref<Notice | null>(null)
  let next = 1
  let timer: ReturnType<typeof setTimeout> | undefined

  function show(kind: Notice['kind'], text: string, ms = kind === 'error' ? 8000 : 3000) {
    current.value = { id: next++, kind, text }
    clearTimeout(timer)
    timer = setTimeout(() => (current.value = null), ms)
  }

  return {
    current,
    info: (text: string) => show('info', text),
    error: (text: string) => show('error', text),
    dismiss: () => (current.value = null),
  }
})
