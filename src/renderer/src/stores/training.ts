import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import type { TrainComparison, TrainScope } from '../../../shared/api/train'
import type { ModelVersion } from '../../../shared/types'
import { api } from '../api'

/** Fine-tuning on the project's corrections: the live loss curve, the versions, the before/after scores. */
export const useTrainingStore = defineStore('training', () => {
  const jobId = ref<string | null>(null)
  const runId = ref<number | null>(null)
  const points = ref<Array<{ step: number; loss: number }>>([])
  const steps = ref(0)
  const etaSeconds = ref<number | null>(null)
  const comparison = ref<TrainComparison | null>(null)
  const versions = ref<ModelVersion[]>([])
  const error = ref<string | null>(null)
  /** Bumped by Ctrl+T so the right panel shows the fine-tune tab. */
  const shown = ref(0)
  const running = computed(() => jobId.value !== null)

  async function refresh() {
    try {
      versions.value = await api.call('train.versions', {})
      comparison.value = await api.call('train.comparison', {})
      const runs = await api.call('train.runs', {})
      const last = runs.at(-1)
      if (!running.value && last) {
        runId.value = last.id
        points.value = (await api.call('train.lossCurve', { runId: last.id })).map((p) => ({ step: p.step, loss: p.loss }))
      }
    } catch (err) {
      // No project open yet: nothing to show.
      error.value = (err as Error).message
    }
  }

  async function start(scope: TrainScope, stepCount: number) {
    error.value = null
    points.value = []
    comparison.value = null
    steps.value = stepCount
    try {
      jobId.value = (await api.call('train.start', { scope, steps: stepCount })).jobId
    } catch (err) {
      error.value = (err as Error).message
    }
  }

  async function cancel() {
    await api.call('train.cancel', {})
  }

  async function activate(versionId: number) {
    await api.call('train.activate', { versionId })
    await refresh()
  }

  async function rollback() {
    await api.call('train.rollback', {})
    await refresh()
  }

  api.on('train.progress', (p) => {
    runId.value = p.runId
    steps.value = p.steps
    etaSeconds.value = p.etaSeconds
    points.value.push({ step: p.step, loss: p.loss })
  })
  api.on('train.finished', (f) => {
    jobId.value = null
    etaSeconds.value = null
    if (f.state !== 'done') error.value = `Fine-tuning ${f.state}${f.error ? `: ${f.error}` : ''}; the previous model stays active.`
    void refresh()
  })

  return { jobId, runId, points, steps, etaSeconds, comparison, versions, error, shown, running, refresh, start, cancel, activate, rollback }
})
