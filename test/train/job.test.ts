import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { CancelledError } from '../../src/shared/errors'
import { JobRunner } from '../../src/main/engine/jobs/runner'
import { loadCheckpoint } from '../../src/main/engine/model/checkpoint'
import { modelThreshold } from '../../src/main/engine/model/runnable'
import { MODELS_DIR } from '../../src/main/engine/store/project'
import { THRESHOLD_CANDIDATES } from '../../src/main/engine/train/evaluate'
import { DEFAULT_SETTINGS, trainOnCorrections, type StepReport, type TrainSettings } from '../../src/main/engine/train/job'
import { activeModelFile } from '../../src/main/engine/train/versions'
import { removeTempDirs, syntheticProject, tempDir } from './helpers'

afterAll(removeTempDirs)

const SETTINGS: TrainSettings = { ...DEFAULT_SETTINGS, scope: 'decoder', steps: 4, checkpointEvery: 2, pool: 2, patch: [16, 80, 80] }

async function reviewedProject() {
  const t = await syntheticProject(join(tempDir(), 'p'), { shape: [16, 96, 96], seed: 4 })
  const errorCells = new Set([...t.falseMerges.flatMap((m) => [m.cell, m.into]), ...t.falseSplits])
  const correct = [...new Set(t.labels)].filter((c) => !errorCells.has(c) && t.project.fragmentsOf(c).length > 0).slice(0, 6)
  t.project.review(correct)
  return t
}

function start(project: Awaited<ReturnType<typeof reviewedProject>>['project'], onStep: (r: StepReport, cancel: () => void) => void = () => undefined, settings = SETTINGS) {
  const runner = new JobRunner()
  const reports: StepReport[] = []
  let id = ''
  const job = runner.start({ kind: 'train', title: 'fine-tune', run: (ctx) => trainOnCorrections(project, settings, ctx, { step: (r) => (reports.push(r), onStep(r, () => runner.cancel(id))) }) })
  id = job.id
  return { job, reports, runner }
}

describe('fine-tuning job', () => {
  it('trains on the corrections, records the run and a new active version with its parent and before/after metrics', { timeout: 300_000 }, async () => {
    const { project } = await reviewedProject()
    const { job, reports } = start(project)
    const result = await job.result
    expect(reports.map((r) => r.step)).toEqual([1, 2, 3, 4])
    expect(reports.every((r) => Number.isFinite(r.loss) && r.loss > 0)).toBe(true)
    const run = project.training.get(result.runId)
    expect(run.state).toBe('done')
    // The run says what it learnt from: six reviewed segments, one of them held out.
    const corrections = run.settings.corrections as { reviewed: number[]; heldOut: number[]; lastEdit: number }
    expect([corrections.reviewed.length, corrections.heldOut.length]).toEqual([5, 1])
    expect(corrections.lastEdit).toBe(project.history({ limit: 1 })[0].id)
    expect(project.training.lossCurve(result.runId).map((p) => p.step)).toEqual([1, 2, 3, 4])
    const versions = project.models.list()
    expect(versions.map((v) => v.name)).toEqual(['bundled default', 'fine-tuned (decoder, 4 steps, run 1)'])
    const [base, tuned] = versions
    expect(tuned.active && !base.active).toBe(true)
    expect(tuned.parentId).toBe(base.id)
    expect(tuned.trainingRunId).toBe(result.runId)
    expect(result.before && result.after).toBeTruthy()
    for (const k of ['before.voi', 'after.voi', 'before.arand', 'after.arand']) expect(Number.isFinite(tuned.metrics[k])).toBe(true)
    expect(tuned.metrics['after.voi']).toBe(result.after!.voi)
    // The new file has every parameter under its official name; the decoder changed, the encoder did not.
    const [before, after] = await Promise.all([loadCheckpoint(join(project.dir, MODELS_DIR, base.file)), loadCheckpoint(activeModelFile(project))])
    expect(after.weights.size).toBe(291)
    // Its threshold is the one calibrated on the training corrections, recorded with the version.
    expect(THRESHOLD_CANDIDATES).toContain(tuned.metrics.threshold)
    expect(modelThreshold(after.meta.metadata)).toBe(tuned.metrics.threshold)
    const same = (name: string) => after.weights.get(name)!.data.every((v, i) => v === before.weights.get(name)!.data[i])
    expect(same('vit.stages.0.0.mamba.A_log')).toBe(true)
    expect(same('decoder1.layer.conv1.conv.weight')).toBe(false)
    expect(readdirSync(join(project.dir, MODELS_DIR)).filter((f) => f.includes('partial'))).toEqual([])
    // Rolling back makes the parent active again.
    expect(project.models.rollback().id).toBe(base.id)
  })

  it('runs its steps on a thread of its own: the engine thread stays free while they run', { timeout: 300_000 }, async () => {
    const { project } = await reviewedProject()
    let ticks: ReturnType<typeof setInterval> | null = null
    let last = 0
    let longest = 0
    let began = 0
    let msPerStep = 0
    const { job } = start(
      project,
      (r) => {
        if (r.step === 2) {
          began = last = performance.now()
          ticks = setInterval(() => {
            const now = performance.now()
            longest = Math.max(longest, now - last)
            last = now
          }, 5)
        }
        if (r.step === r.steps) {
          clearInterval(ticks!)
          msPerStep = (performance.now() - began) / (r.steps - 2)
        }
      },
      { ...SETTINGS, steps: 10, heldOutShare: 0 },
    )
    await job.result
    // In-process, ONNX Runtime would hold the thread for most of each step.
    expect(longest).toBeLessThan(msPerStep / 3)
  })

  it('a cancelled run leaves the previous model active and no files behind', { timeout: 300_000 }, async () => {
    const { project } = await reviewedProject()
    const { job } = start(
      project,
      (r, cancel) => {
        if (r.step === 1) cancel()
      },
      { ...SETTINGS, heldOutShare: 0 },
    )
    await expect(job.result).rejects.toBeInstanceOf(CancelledError)
    expect(project.training.list().map((r) => r.state)).toEqual(['cancelled'])
    expect(project.models.list().map((v) => [v.name, v.active])).toEqual([['bundled default', true]])
    expect(readdirSync(join(project.dir, MODELS_DIR))).toEqual([project.models.list()[0].file])
  })

  it('a run that fails part-way leaves the previous model active', { timeout: 300_000 }, async () => {
    const { project } = await reviewedProject()
    const { job } = start(
      project,
      (r) => {
        if (r.step === 2) throw new Error('the machine went away')
      },
      { ...SETTINGS, heldOutShare: 0 },
    )
    await expect(job.result).rejects.toThrow(/the machine went away/)
    expect(project.training.list().map((r) => r.state)).toEqual(['failed'])
    expect(project.models.active()!.name).toBe('bundled default')
    expect(existsSync(activeModelFile(project))).toBe(true)
    expect(readdirSync(join(project.dir, MODELS_DIR)).length).toBe(1)
  })
})
