import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import type { JobInfo } from '../../../shared/types'
import { api } from '../api'

/** Every engine job the UI knows of, kept current by 'job.update' events. */
export const useJobsStore = defineStore('jobs', () => {
  const byId = ref(new Map<string, JobInfo>())
  const all = computed(() => [...byId.value.values()].sort((a, b) => b.startedAt - a.startedAt))
  const active = computed(() => all.value.filter((j) => j.state === 'running' || j.state === 'queued'))
  const lastError = ref<JobInfo | null>(null)

  function update(job: JobInfo) {
    byId.value.set(job.id, job)
    if (job.state === 'failed') lastError.value = job
  }

  async function load() {
    for (const job of await api.call('jobs.list', {})) update(job)
  }

  async function cancel(id: string) {
    await api.call('jobs.cancel', { id })
  }

  api.on('job.update', update)
  return { all, active, lastError, load, cancel }
})
