/**
 * The project's automatic segmentation (engine/pipeline): running it as a job, the threshold
 * slider (re-agglomeration from the kept merge history, one undoable edit), the review queue and
 * split previews. Its fragment volume becomes the segmentation layer, coloured by the project's
 * assignment.
 */
import { defineStore } from 'pinia'
import { ref } from 'vue'
import type { ReviewItem, SegmentationSummary, SplitPreview } from '../../../shared/api/segment'
import type { JobInfo } from '../../../shared/types'
import { api } from '../api'
import { useNoticesStore } from './notices'
import { useProjectStore } from './project'
import { useVolumesStore } from './volumes'

export interface RunOptions {
  /** Infer affinities from the shown image with the active model, or read them from a file. */
  source: 'image' | 'file'
  affinities?: string
  fragments: '2d' | '3d'
  /** Absent: the model's calibrated threshold (or the engine's default). */
  threshold?: number
}

export const useSegmentationStore = defineStore('segmentation', () => {
  const summary = ref<SegmentationSummary | null>(null)
  const runningJob = ref<string | null>(null)
  /** The slider's value; the engine's threshold is summary.threshold. */
  const threshold = ref(0.5)
  const thresholdBusy = ref(false)
  const lastThresholdMs = ref<number | null>(null)
  const queue = ref<ReviewItem[]>([])
  const preview = ref<SplitPreview | null>(null)

  /** Reads the project's segmentation and shows its fragments as the segmentation layer. */
  async function refresh() {
    const project = useProjectStore()
    if (!project.open) {
      summary.value = null
      return
    }
    try {
      summary.value = await api.call('segment.state', {})
    } catch (err) {
      // A project segmented elsewhere, or whose cache is gone: its edits still show, read as volumes.
      summary.value = null
      useNoticesStore().error(`segmentation: ${(err as Error).message}`)
    }
    if (!summary.value) return
    threshold.value = summary.value.threshold
    const volumes = useVolumesStore()
    if (volumes.labelsId !== summary.value.fragments.id) await volumes.showOpened(summary.value.fragments)
  }

  async function run(options: RunOptions) {
    const volumes = useVolumesStore()
    const notices = useNoticesStore()
    try {
      const args =
        options.source === 'image'
          ? { volumeId: volumes.imageId ?? '' }
          : { affinities: options.affinities ?? '' }
      const { jobId } = await api.call('segment.run', { ...args, fragments: options.fragments, threshold: options.threshold })
      runningJob.value = jobId
    } catch (err) {
      notices.error(`segmentation: ${(err as Error).message}`)
    }
  }

  async function onJob(job: JobInfo) {
    if (job.id !== runningJob.value || job.state === 'running' || job.state === 'queued') return
    runningJob.value = null
    if (job.state !== 'done') return
    const project = useProjectStore()
    await project.refreshInfo()
    await project.reload()
    await refresh()
    await loadQueue()
  }

  let pending: number | null = null
  /** Re-agglomerates at the slider's value; while one call runs, only the latest value waits. */
  async function applyThreshold(value: number) {
    threshold.value = value
    if (thresholdBusy.value) {
      pending = value
      return
    }
    thresholdBusy.value = true
    try {
      let next: number | null = value
      while (next !== null) {
        pending = null
        const r = await api.call('segment.threshold', { threshold: next })
        lastThresholdMs.value = r.ms
        if (summary.value) summary.value = { ...summary.value, threshold: r.threshold, segmentCount: r.segments }
        next = pending
      }
    } catch (err) {
      useNoticesStore().error(`threshold: ${(err as Error).message}`)
    } finally {
      thresholdBusy.value = false
    }
  }

  async function loadQueue() {
    if (!summary.value) {
      queue.value = []
      return
    }
    try {
      queue.value = await api.call('segment.reviewQueue', { limit: 100 })
    } catch (err) {
      useNoticesStore().error(`review queue: ${(err as Error).message}`)
    }
  }

  api.on('job.update', (job) => void onJob(job))
  // Reviews and edits change the queue; reload it once things settle.
  let timer: ReturnType<typeof setTimeout> | undefined
  api.on('project.changed', () => {
    clearTimeout(timer)
    timer = setTimeout(() => void loadQueue(), 300)
  })

  return { summary, runningJob, threshold, thresholdBusy, lastThresholdMs, queue, preview, refresh, run, applyThreshold, loadQueue }
})
