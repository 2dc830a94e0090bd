import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createEngine, type Engine } from '../../src/main/engine/api'
import { writeNpy } from '../../src/main/engine/io/npy'
import { ArrayVolume } from '../../src/main/engine/io/volume'
import { syntheticVolume } from '../../src/main/engine/io/synthetic'
import { evaluate } from '../../src/main/engine/segment/metrics'
import type { JobInfo, Vec3 } from '../../src/shared/types'
import { cellLabels, labelAffinities, widenBorders } from '../segment/synthetic'

const shape: Vec3 = [8, 96, 96]
const dir = mkdtempSync(join(tmpdir(), 'tu-pipeline-'))
let truth: Uint32Array
let affinityFile: string

beforeAll(() => {
  truth = widenBorders(cellLabels(shape, 24, 3), shape)
  affinityFile = join(dir, 'aff.npy')
  writeNpy(affinityFile, labelAffinities(truth, shape, 0.15, 5), [3, ...shape])
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function finished(engine: Engine, jobId: string): Promise<JobInfo> {
  return new Promise((resolve) => {
    const seen = engine.jobs.get(jobId)
    if (seen && ['done', 'failed', 'cancelled'].includes(seen.state)) resolve(seen)
    engine.on('job.update', (j) => j.id === jobId && ['done', 'failed', 'cancelled'].includes(j.state) && resolve(j))
  })
}

async function segmented(name: string): Promise<Engine> {
  const engine = createEngine({ mode: 'cli' })
  await engine.call('project.create', { dir: join(dir, name), author: 'ann' })
  const { jobId } = await engine.call('segment.run', { affinities: affinityFile })
  const job = await finished(engine, jobId)
  expect(job.error?.message).toBeUndefined()
  expect(job.state).toBe('done')
  return engine
}

/** The project's current segmentation as a label volume: cached fragments through project.assignment. */
async function currentLabels(engine: Engine): Promise<Uint32Array> {
  const state = await engine.call('segment.state', {})
  const { data } = await engine.call('volume.read', { volumeId: state!.fragments.id, box: { start: [0, 0, 0], stop: shape } })
  const { fragments, segments } = await engine.call('project.assignment', {})
  const map = new Map<number, number>()
  fragments.forEach((f, i) => map.set(f, segments[i]))
  return Uint32Array.from(data as Uint32Array, (f) => map.get(f) ?? 0)
}

function assignmentOf(a: { fragments: Float64Array; segments: Float64Array }): Map<number, number> {
  return new Map([...a.fragments].map((f, i) => [f, a.segments[i]]))
}

/** Linear index of a voxel (z, y, x). */
function voxel(p: Vec3): number {
  return (p[0] * shape[1] + p[1]) * shape[2] + p[2]
}

describe('segment.run from an affinity file', () => {
  let engine: Engine
  beforeAll(async () => {
    engine = await segmented('run')
  })
  afterAll(() => engine.close())

  it('records a run, sets the base assignment, writes the fragments to the cache as Zarr v3, and recovers the labels (VOI < 0.05)', async () => {
    const state = (await engine.call('segment.state', {}))!
    expect(state.threshold).toBe(0.5)
    expect(state.fragments.path).toContain(join('run', 'cache', 'fragments-'))
    expect(existsSync(join(state.fragments.path!, 'zarr.json'))).toBe(true)
    expect(state.fragments).toMatchObject({ shape, dtype: 'uint32', format: 'zarr' })
    const info = await engine.call('project.info', {})
    expect(info.labelShape).toEqual(shape)
    expect(info.fragments).toBe(state.fragmentCount)
    expect(state.fragmentCount).toBeGreaterThan(2 * info.segments)
    const r = await evaluate({ data: await currentLabels(engine), shape }, { data: truth, shape })
    expect(r.voiSplit + r.voiMerge).toBeLessThan(0.05)
  })

  it('segment.threshold re-agglomerates as one undoable edit, and going back restores the same assignment', async () => {
    const before = assignmentOf(await engine.call('project.assignment', {}))
    const segmentsBefore = (await engine.call('project.info', {})).segments
    const high = await engine.call('segment.threshold', { threshold: 0.95 })
    expect(high.edit?.kind).toBe('reassign')
    expect(high.edit?.origin).toBe('auto')
    expect(high.changedFragments).toBeGreaterThan(0)
    expect(high.segments).toBeLessThan(segmentsBefore)
    const low = await engine.call('segment.threshold', { threshold: 0 })
    expect(low.segments).toBe((await engine.call('segment.state', {}))!.fragmentCount)
    await engine.call('segment.threshold', { threshold: 0.5 })
    expect(assignmentOf(await engine.call('project.assignment', {}))).toEqual(before)
    await engine.call('project.undo', {})
    expect((await engine.call('project.info', {})).segments).toBe(low.segments)
    await engine.call('project.redo', {})
    expect(assignmentOf(await engine.call('project.assignment', {}))).toEqual(before)
    expect((await engine.call('segment.threshold', { threshold: 0.5 })).edit).toBeNull()
    await expect(engine.call('segment.threshold', { threshold: 1.5 })).rejects.toThrow(/threshold must be a number in \[0, 1\]/)
  })

  it('reviewed segments keep exactly their fragments through threshold changes; an automatic run that would move them is refused', async () => {
    const labels = await currentLabels(engine)
    const reviewed = labels[voxel([4, 48, 48])]
    const locked = labels[voxel([4, 10, 10])]
    expect(reviewed).not.toBe(locked)
    await engine.call('project.review', { segments: [reviewed], reviewed: true })
    await engine.call('project.lock', { segments: [locked], locked: true })
    const keep = [...(await engine.call('project.fragmentsOf', { segment: reviewed })).fragments]
    const keepLocked = [...(await engine.call('project.fragmentsOf', { segment: locked })).fragments]
    for (const t of [1, 0, 0.7]) {
      const r = await engine.call('segment.threshold', { threshold: t })
      expect(r.changedFragments).toBeGreaterThan(0)
      expect([...(await engine.call('project.fragmentsOf', { segment: reviewed })).fragments]).toEqual(keep)
      expect([...(await engine.call('project.fragmentsOf', { segment: locked })).fragments]).toEqual(keepLocked)
    }
    // At threshold 1 everything else merged into one segment, but not into the frozen ones.
    await engine.call('segment.threshold', { threshold: 1 })
    const info = await engine.call('project.info', {})
    expect(info.segments).toBe(3)
    expect(info.reviewed).toBe(1)
    // The store's contract the session relies on: an automatic run moving a reviewed fragment is refused.
    const state = (await engine.call('segment.state', {}))!
    const project = (engine as unknown as { project: import('../../src/main/engine/store/project').Project }).project
    expect(() => project.applyRun(state.runId, [keep[0]], [locked + 100000])).toThrow(/reviewed or locked: automatic changes/)
    await engine.call('project.review', { segments: [reviewed], reviewed: false })
    await engine.call('project.lock', { segments: [locked], locked: false })
    await engine.call('segment.threshold', { threshold: 0.5 })
  })

  it('segment.splitPreview separates a merged pair along the boundary; project.split commits it', async () => {
    const labels = await currentLabels(engine)
    const [pa, pb]: Vec3[] = [
      [4, 48, 48],
      [4, 48, 48 + 24],
    ]
    let [a, b] = [labels[voxel(pa)], labels[voxel(pb)]]
    if (a === b) pb[2] = 48 + 40
    ;[a, b] = [labels[voxel(pa)], labels[voxel(pb)]]
    expect(a).not.toBe(b)
    const fa = [...(await engine.call('project.fragmentsOf', { segment: a })).fragments]
    const fb = [...(await engine.call('project.fragmentsOf', { segment: b })).fragments]
    await engine.call('project.merge', { keep: a, absorb: b })
    const historyBefore = (await engine.call('project.history', {})).length
    const preview = await engine.call('segment.splitPreview', { segment: a, seeds: { red: [pa], blue: [pb] } })
    expect(preview.cuts).toEqual([])
    expect(preview.red).toEqual(fa)
    expect(preview.blue).toEqual(fb)
    expect((await engine.call('project.history', {})).length).toBe(historyBefore)
    const split = await engine.call('project.split', { segment: a, fragments: preview.blue })
    expect([...(await engine.call('project.fragmentsOf', { segment: split.segments[1] })).fragments]).toEqual(fb)
  })

  it('seeds of both colours in one fragment preview a voxel-level cut of it', async () => {
    const state = (await engine.call('segment.state', {}))!
    const { data } = await engine.call('volume.read', { volumeId: state.fragments.id, box: { start: [0, 0, 0], stop: shape } })
    const labels = await currentLabels(engine)
    const p: Vec3 = [4, 48, 48]
    const fragment = (data as Uint32Array)[voxel(p)]
    // Two voxels of that fragment far apart along x.
    const same: number[] = []
    for (let x = 0; x < shape[2]; x++) if ((data as Uint32Array)[voxel([4, 48, x])] === fragment) same.push(x)
    const [red, blue]: Vec3[] = [
      [4, 48, same[0]],
      [4, 48, same[same.length - 1]],
    ]
    const preview = await engine.call('segment.splitPreview', { segment: labels[voxel(p)], seeds: { red: [red], blue: [blue] } })
    expect(preview.cuts.length).toBe(1)
    const cut = preview.cuts[0]
    expect(cut.fragment).toBe(fragment)
    const ownVoxels = (data as Uint32Array).reduce((n, f) => n + (f === fragment ? 1 : 0), 0)
    expect(cut.red.length + cut.blue.length).toBe(ownVoxels)
    expect(cut.red).toContain(voxel(red))
    expect(cut.blue).toContain(voxel(blue))
    expect(new Set([...cut.red, ...cut.blue]).size).toBe(ownVoxels)
    await expect(engine.call('segment.splitPreview', { segment: labels[voxel(p)], seeds: { red: [red], blue: [] } })).rejects.toThrow(/at least one red and one blue/)
  })

  it('segment.reviewQueue ranks unreviewed segments by doubt, with a place to look', async () => {
    const queue = await engine.call('segment.reviewQueue', { limit: 10 })
    expect(queue.length).toBe(10)
    for (let i = 1; i < queue.length; i++) expect(queue[i].score).toBeLessThanOrEqual(queue[i - 1].score)
    for (const item of queue) {
      expect(item.score).toBeGreaterThan(0)
      expect(item.score).toBeLessThanOrEqual(1)
      expect(item.at.every((v, a) => v >= 0 && v < shape[a])).toBe(true)
    }
    // A reviewed segment leaves the queue.
    await engine.call('project.review', { segments: [queue[0].segment], reviewed: true })
    const next = await engine.call('segment.reviewQueue', { limit: 10 })
    expect(next.map((q) => q.segment)).not.toContain(queue[0].segment)
  })
})

describe('segment.run cancel and re-runs', () => {
  it('a cancelled first run leaves the project without a segmentation and the cache empty', async () => {
    const engine = createEngine({ mode: 'cli' })
    await engine.call('project.create', { dir: join(dir, 'cancel'), author: 'ann' })
    engine.on('job.update', (j) => j.state === 'running' && engine.call('jobs.cancel', { id: j.id }))
    const { jobId } = await engine.call('segment.run', { affinities: affinityFile })
    expect((await finished(engine, jobId)).state).toBe('cancelled')
    expect((await engine.call('project.info', {})).labelShape).toBeNull()
    expect(await engine.call('segment.state', {})).toBeNull()
    expect(readdirSync(join(dir, 'cancel', 'cache'))).toEqual([])
    await engine.close()
  })

  it('a second run keeps the fragments, applies one automatic edit, and a cancelled one changes nothing', async () => {
    const engine = await segmented('rerun')
    const first = (await engine.call('segment.state', {}))!
    const before = await engine.call('project.assignment', {})
    const { jobId } = await engine.call('segment.run', { affinities: affinityFile, threshold: 0.9 })
    expect((await finished(engine, jobId)).state).toBe('done')
    const second = (await engine.call('segment.state', {}))!
    expect(second.fragments.id).toBe(first.fragments.id)
    expect(second.runId).toBeGreaterThan(first.runId)
    const [edit] = await engine.call('project.history', { limit: 1 })
    expect(edit).toMatchObject({ kind: 'reassign', origin: 'auto', runId: second.runId })
    const after = await engine.call('project.assignment', {})
    const off = engine.on('job.update', (j) => j.state === 'running' && engine.call('jobs.cancel', { id: j.id }))
    const again = await engine.call('segment.run', { affinities: affinityFile, threshold: 0.1 })
    expect((await finished(engine, again.jobId)).state).toBe('cancelled')
    off()
    expect(await engine.call('project.assignment', {})).toEqual(after)
    expect(after).not.toEqual(before)
    expect((await engine.call('segment.state', {}))!.runId).toBe(second.runId)
    expect(readdirSync(join(dir, 'rerun', 'cache'))).toHaveLength(1)
    await engine.close()
  })

  it('segment.run on an image infers affinities with the active (bundled) model in the gpu lane first, at its calibrated threshold', async () => {
    const engine = createEngine({ mode: 'cli' })
    await engine.call('project.create', { dir: join(dir, 'infer'), author: 'ann' })
    const demo = syntheticVolume({ shape: [16, 80, 80], seed: 2 })
    const image = engine.addVolume(new ArrayVolume('small demo', demo.raw.shape, 'uint8', demo.raw.data as Uint8Array))
    const messages: string[] = []
    engine.on('job.update', (j) => messages.push(j.message))
    const { jobId } = await engine.call('segment.run', { volumeId: image.id, provider: 'cpu', patch: [16, 80, 80] })
    const job = await finished(engine, jobId)
    expect(job.error?.message).toBeUndefined()
    expect(job.state).toBe('done')
    expect(messages.some((m) => m.startsWith('affinities: '))).toBe(true)
    const state = (await engine.call('segment.state', {}))!
    const bundled = await engine.call('model.info', {})
    expect(state.model).toEqual({ path: bundled.path, untrained: false })
    expect(bundled.threshold).toBeDefined()
    expect(state.threshold).toBe(bundled.threshold)
    expect(state.affinities).toContain(join('infer', 'cache', 'affinities-'))
    expect((await engine.call('project.info', {})).segments).toBeGreaterThan(0)
    await engine.close()
  })

  it('refuses a call without exactly one input, and calls before any run', async () => {
    const engine = createEngine({ mode: 'cli' })
    await engine.call('project.create', { dir: join(dir, 'bad'), author: 'ann' })
    await expect(engine.call('segment.run', {})).rejects.toThrow(/either volumeId .* or affinities/)
    await expect(engine.call('segment.threshold', { threshold: 0.4 })).rejects.toThrow(/run segment.run first/)
    const { jobId } = await engine.call('segment.run', { affinities: join(dir, 'missing.npy') })
    expect((await finished(engine, jobId)).error?.message).toMatch(/missing\.npy/)
    await engine.close()
  })
})
