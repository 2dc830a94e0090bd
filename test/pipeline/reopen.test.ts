import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createEngine, type Engine } from '../../src/main/engine/api'
import { writeNpy } from '../../src/main/engine/io/npy'
import type { JobInfo, Vec3 } from '../../src/shared/types'
import { cellLabels, labelAffinities, widenBorders } from '../segment/synthetic'

const shape: Vec3 = [8, 96, 96]
const dir = mkdtempSync(join(tmpdir(), 'tu-pipeline-reopen-'))
let affinityFile: string
let otherAffinities: string

beforeAll(() => {
  const truth = widenBorders(cellLabels(shape, 24, 3), shape)
  affinityFile = join(dir, 'aff.npy')
  writeNpy(affinityFile, labelAffinities(truth, shape, 0.15, 5), [3, ...shape])
  otherAffinities = join(dir, 'other.npy')
  writeNpy(otherAffinities, labelAffinities(widenBorders(cellLabels(shape, 20, 4), shape), shape, 0.15, 6), [3, ...shape])
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function finished(engine: Engine, jobId: string): Promise<JobInfo> {
  return new Promise((resolve) => {
    engine.on('job.update', (j) => j.id === jobId && ['done', 'failed', 'cancelled'].includes(j.state) && resolve(j))
    const seen = engine.jobs.get(jobId)
    if (seen && ['done', 'failed', 'cancelled'].includes(seen.state)) resolve(seen)
  })
}

async function run(engine: Engine, affinities: string, threshold?: number): Promise<JobInfo> {
  const { jobId } = await engine.call('segment.run', { affinities, ...(threshold === undefined ? {} : { threshold }) })
  return finished(engine, jobId)
}

async function opened(project: string): Promise<Engine> {
  const engine = createEngine({ mode: 'cli' })
  await engine.call('project.open', { dir: project, author: 'bob' })
  return engine
}

/** Segment of voxel `p`: its cached fragment through the current assignment. */
async function segmentAt(engine: Engine, p: Vec3): Promise<number> {
  const state = (await engine.call('segment.state', {}))!
  const { data } = await engine.call('volume.read', { volumeId: state.fragments.id, box: { start: p, stop: [p[0] + 1, p[1] + 1, p[2] + 1] } })
  const { segments } = await engine.call('project.segmentOf', { fragments: [Number(data[0])] })
  return segments[0]
}

describe('the segmentation after the project is reopened', () => {
  const project = join(dir, 'reopen')
  let reviewed: number
  let reviewedFragments: number[]
  let assignment: { fragments: Float64Array; segments: Float64Array }
  let before: { runId: number; fragmentCount: number; fragments: number[] }

  beforeAll(async () => {
    const engine = createEngine({ mode: 'cli' })
    await engine.call('project.create', { dir: project, author: 'ann' })
    expect((await run(engine, affinityFile)).state).toBe('done')
    expect((await engine.call('segment.threshold', { threshold: 0.1 })).changedFragments).toBeGreaterThan(0)
    const a = await segmentAt(engine, [4, 48, 48])
    const b = await segmentAt(engine, [4, 48, 48 + 40])
    expect(a).not.toBe(b)
    await engine.call('project.merge', { keep: a, absorb: b })
    await engine.call('project.review', { segments: [a], reviewed: true })
    reviewed = a
    reviewedFragments = [...(await engine.call('project.fragmentsOf', { segment: a })).fragments]
    assignment = await engine.call('project.assignment', {})
    const state = (await engine.call('segment.state', {}))!
    const { data } = await engine.call('volume.read', { volumeId: state.fragments.id, box: { start: [0, 0, 0], stop: shape } })
    before = { runId: state.runId, fragmentCount: state.fragmentCount, fragments: [...(data as Uint32Array)] }
    await engine.close()
  })

  it('segment.state, threshold, reviewQueue and splitPreview work in a new Engine; the reviewed segment keeps its fragments', async () => {
    const engine = await opened(project)
    const state = (await engine.call('segment.state', {}))!
    expect(state).toMatchObject({ runId: before.runId, threshold: 0.1, fragmentCount: before.fragmentCount, fragmentMode: '2d', affinities: affinityFile })
    const { data } = await engine.call('volume.read', { volumeId: state.fragments.id, box: { start: [0, 0, 0], stop: shape } })
    expect([...(data as Uint32Array)]).toEqual(before.fragments)
    expect(await engine.call('project.assignment', {})).toEqual(assignment)

    const queue = await engine.call('segment.reviewQueue', { limit: 5 })
    expect(queue.length).toBe(5)
    expect(queue.map((q) => q.segment)).not.toContain(reviewed)

    const preview = await engine.call('segment.splitPreview', { segment: reviewed, seeds: { red: [[4, 48, 48]], blue: [[4, 48, 48 + 40]] } })
    expect([...preview.red, ...preview.blue, ...preview.cuts.map((c) => c.fragment)].sort((x, y) => x - y)).toEqual(reviewedFragments)

    for (const t of [0, 0.05]) {
      const r = await engine.call('segment.threshold', { threshold: t })
      expect(r.changedFragments).toBeGreaterThan(0)
      expect(r.edit?.origin).toBe('auto')
      expect((await engine.call('segment.state', {}))!.threshold).toBe(t)
      expect([...(await engine.call('project.fragmentsOf', { segment: reviewed })).fragments]).toEqual(reviewedFragments)
    }
    await engine.call('project.undo', {})
    await engine.call('project.undo', {})
    expect(await engine.call('project.assignment', {})).toEqual(assignment)
    await engine.close()
  })

  it('a new segment.run after a reopen applies one automatic edit and keeps the stored edits', async () => {
    const engine = await opened(project)
    const job = await run(engine, affinityFile, 0)
    expect(job.error?.message).toBeUndefined()
    expect(job.state).toBe('done')
    const state = (await engine.call('segment.state', {}))!
    expect(state.runId).toBeGreaterThan(before.runId)
    expect(state.threshold).toBe(0)
    expect((await engine.call('project.history', { limit: 1 }))[0]).toMatchObject({ kind: 'reassign', origin: 'auto', runId: state.runId })
    expect([...(await engine.call('project.fragmentsOf', { segment: reviewed })).fragments]).toEqual(reviewedFragments)
    expect((await engine.call('project.segments', { segments: [reviewed] }))[0].reviewed).toBe(true)
    await engine.call('project.undo', {})
    expect((await engine.call('segment.state', {}))!.threshold).toBe(0.1)
    expect(await engine.call('project.assignment', {})).toEqual(assignment)
    await engine.close()
  })
})

describe('segment.state follows undo and redo', () => {
  it('shows the threshold of the applied edits, and of a request that changed nothing until the store changes', async () => {
    const engine = createEngine({ mode: 'cli' })
    await engine.call('project.create', { dir: join(dir, 'undo'), author: 'ann' })
    expect((await run(engine, affinityFile)).state).toBe('done')
    const threshold = async () => (await engine.call('segment.state', {}))!.threshold
    const base = (await engine.call('segment.state', {}))!.runId
    await engine.call('segment.threshold', { threshold: 0.8 })
    const { segments } = await engine.call('segment.threshold', { threshold: 0.95 })
    expect(await threshold()).toBe(0.95)
    await engine.call('project.undo', {})
    expect(await threshold()).toBe(0.8)
    await engine.call('project.undo', {})
    expect(await threshold()).toBe(0.5)
    expect((await engine.call('segment.state', {}))!.runId).toBe(base)
    await engine.call('project.redo', {})
    await engine.call('project.redo', {})
    expect(await threshold()).toBe(0.95)
    expect((await engine.call('project.info', {})).segments).toBe(segments)
    // A request that moves no fragment makes no edit; it shows until the next change of the store.
    const same = await engine.call('segment.threshold', { threshold: 0.96 })
    expect(same.edit).toBeNull()
    expect(await threshold()).toBe(0.96)
    await engine.call('project.undo', {})
    expect(await threshold()).toBe(0.8)
    await engine.close()
  })
})

describe('a missing cache', () => {
  it('names the missing file, and segment.run rebuilds it from the same affinities keeping every edit', async () => {
    const project = join(dir, 'lost')
    const engine = createEngine({ mode: 'cli' })
    await engine.call('project.create', { dir: project, author: 'ann' })
    expect((await run(engine, affinityFile)).state).toBe('done')
    const a = await segmentAt(engine, [4, 48, 48])
    const b = await segmentAt(engine, [4, 10, 10])
    await engine.call('project.merge', { keep: a, absorb: b })
    await engine.call('project.review', { segments: [a], reviewed: true })
    const state = (await engine.call('segment.state', {}))!
    const fragmentsFile = state.fragments.path!
    const assignment = await engine.call('project.assignment', {})
    await engine.close()

    // Affinities gone, cache there: the state shows, calls that score name the affinity file.
    const lostAffinities = join(dir, 'lost-aff.npy')
    cpSync(affinityFile, lostAffinities)
    const withLost = createEngine({ mode: 'cli' })
    await withLost.call('project.create', { dir: join(dir, 'lost-aff'), author: 'ann' })
    expect((await run(withLost, lostAffinities)).state).toBe('done')
    await withLost.close()
    rmSync(lostAffinities)
    const again = await opened(join(dir, 'lost-aff'))
    expect((await again.call('segment.state', {}))!.affinities).toBe(lostAffinities)
    await expect(again.call('segment.threshold', { threshold: 0.3 })).rejects.toThrow(/lost-aff\.npy: the affinities of segmentation run \d+ are missing.*segment\.run/)
    await expect(again.call('segment.reviewQueue', {})).rejects.toThrow(/lost-aff\.npy/)
    await again.close()

    rmSync(fragmentsFile, { recursive: true })
    const reopened = await opened(project)
    const missing = new RegExp(`${fragmentsFile.replaceAll(/[.*+?^${}()|[\]\\]/g, '\\$&')}: the project's cached fragments are missing.*can be rebuilt.*segment\\.run`)
    await expect(reopened.call('segment.state', {})).rejects.toThrow(missing)
    await expect(reopened.call('segment.threshold', { threshold: 0.3 })).rejects.toThrow(missing)
    await expect(reopened.call('segment.splitPreview', { segment: a, seeds: { red: [[4, 48, 48]], blue: [[4, 10, 10]] } })).rejects.toThrow(missing)

    // Other affinities make other fragments: refused, nothing written.
    const wrong = await run(reopened, otherAffinities)
    expect(wrong.state).toBe('failed')
    expect(wrong.error?.message).toMatch(/other\.npy: these affinities give \d+ fragments, not the \d+ of this project's segmentation/)
    expect(existsSync(fragmentsFile)).toBe(false)

    const rebuilt = await run(reopened, affinityFile)
    expect(rebuilt.error?.message).toBeUndefined()
    expect(rebuilt.state).toBe('done')
    expect(existsSync(join(fragmentsFile, 'zarr.json'))).toBe(true)
    const after = (await reopened.call('segment.state', {}))!
    expect(after.fragments.path).toBe(fragmentsFile)
    expect(after.fragmentCount).toBe(state.fragmentCount)
    // Same threshold, same fragments: no edit needed, the merge and the review stay.
    expect(await reopened.call('project.assignment', {})).toEqual(assignment)
    expect((await reopened.call('project.segments', { segments: [a] }))[0].reviewed).toBe(true)
    expect(await segmentAt(reopened, [4, 10, 10])).toBe(a)
    expect((await reopened.call('segment.reviewQueue', { limit: 3 })).length).toBe(3)
    await reopened.close()
  })
})
