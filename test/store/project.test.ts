import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { StudioError } from '../../src/shared/errors'
import { createProject, openProject, type ProjectChange } from '../../src/main/engine/store/project'
import { baseLabel, makeStreamProject, rng } from './edit-stream'
import { makeProject, removeTempDirs, snapshot, tempDir } from './helpers'

afterAll(removeTempDirs)

const SMALL = { fragments: 100, segmentSize: 10, labelShape: [4, 16, 16] as [number, number, number] }
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)

function error(fn: () => unknown): StudioError {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(StudioError)
    return err as StudioError
  }
  throw new Error('expected an error')
}

describe('project store: edits', () => {
  it('merges, splits, paints and erases, and reports each change', () => {
    const p = makeProject(join(tempDir(), 'p'), SMALL)
    const changes: ProjectChange[] = []
    p.onChange((c) => changes.push(c))

    const merge = p.merge(1, 2)
    expect(merge).toMatchObject({ kind: 'merge', segments: [1, 2], fragments: 10, author: 'ann', origin: 'user', state: 'applied' })
    expect([...p.fragmentsOf(1)]).toEqual(range(1, 20))
    expect(p.fragmentsOf(2).length).toBe(0)
    expect(p.segmentOf(15)).toBe(1)

    const split = p.split(1, [3, 17])
    const created = split.segments[1]
    expect(created).toBe(11)
    expect([...p.fragmentsOf(created)]).toEqual([3, 17])
    expect(p.segmentState(1).fragments).toBe(18)

    // Voxels 0..2 were fragment 25, 25 and background; paint them with fragment 3.
    const paint = p.paint({ indices: [2, 0, 1], before: [0, 25, 25], fragment: 3 })
    expect(paint).toMatchObject({ kind: 'paint', voxels: 3, segments: [3, created] })
    expect(p.voxelEdits({ start: [0, 0, 0], stop: [1, 1, 4] })).toEqual({ indices: Float64Array.of(0, 1, 2), labels: Float64Array.of(3, 3, 3) })
    const erase = p.erase([1], [3])
    expect(erase.kind).toBe('erase')
    expect([...p.voxelEdits({ start: [0, 0, 0], stop: [1, 1, 4] }).labels]).toEqual([3, 0, 3])

    // A new object: a new fragment in a new segment.
    const fresh = p.paint({ indices: [300, 301], before: [7, 7] })
    expect(fresh).toMatchObject({ fragments: 1, segments: [1, 12] })
    const at300 = p.voxelEdits({ start: [1, 2, 0], stop: [2, 3, 16] })
    expect(at300).toEqual({ indices: Float64Array.of(300, 301), labels: Float64Array.of(101, 101) })
    expect(p.segmentOf(101)).toBe(12)
    expect(p.voxelEdits({ start: [1, 2, 14], stop: [2, 3, 16] }).indices.length).toBe(0)

    expect(changes.map((c) => c.action)).toEqual(['edit', 'edit', 'edit', 'edit', 'edit'])
    expect(changes[1].segments.sort((a, b) => a - b)).toEqual([1, created])
    p.close()
  })

  it('refuses bad requests with clear errors and leaves no trace of them', () => {
    const p = makeProject(join(tempDir(), 'p'), SMALL)
    const before = snapshot(p)
    expect(error(() => p.merge(1, 1)).message).toMatch(/cannot merge segment 1 with itself/)
    expect(error(() => p.merge(1, 99)).code).toBe('not_found')
    expect(error(() => p.split(1, [15])).message).toMatch(/fragment 15 is not in it \(it is in 2\)/)
    expect(error(() => p.split(1, range(1, 10))).message).toMatch(/every fragment of it/)
    expect(error(() => p.paint({ indices: [5000], before: [1], fragment: 1 })).message).toMatch(/outside the label volume 4x16x16/)
    expect(error(() => p.paint({ indices: [1, 1], before: [2, 2], fragment: 1 })).message).toMatch(/voxel 1 is given twice/)
    p.paint({ indices: [9], before: [4], fragment: 1 })
    const stale = error(() => p.paint({ indices: [9], before: [4], fragment: 2 }))
    expect(stale.code).toBe('conflict')
    expect(stale.message).toMatch(/voxel 9 is fragment 1 now, not 4/)
    expect(error(() => p.review([1, 2], false)).message).toMatch(/segments 1, 2 not reviewed/)
    p.undo()
    expect(snapshot(p)).toEqual(before)
    // Refused edits took no ids: the next split still gets segment 11.
    expect(p.split(1, [1]).segments[1]).toBe(11)
    expect(p.history().length).toBe(2)
    p.close()
  })

  it('keeps the review contract: locked segments refuse edits, reviewed and locked refuse automatic changes', () => {
    const p = makeProject(join(tempDir(), 'p'), SMALL)
    p.lock([3])
    p.review([4])
    expect(error(() => p.merge(3, 5)).message).toMatch(/segment 3 is locked: unlock before editing/)
    expect(error(() => p.merge(5, 3)).code).toBe('conflict')
    expect(error(() => p.split(3, [21])).code).toBe('conflict')
    expect(error(() => p.paint({ indices: [0], before: [21], fragment: 1 })).message).toMatch(/segment 3 is locked/)
    // The user may still edit a reviewed segment.
    p.merge(4, 5)
    expect(p.segmentState(4)).toEqual({ segment: 4, fragments: 20, reviewed: true, locked: false })

    // An automatic run that moves fragments out of or into frozen segments is refused whole.
    const run = p.addSegmentationRun({ thresholds: { merge: 0.7 }, labelShape: SMALL.labelShape })
    const before = snapshot(p)
    const history = p.history().length
    const intoReviewed = error(() => p.applyRun(run, [1, 2, 61], [40, 40, 4]))
    expect(intoReviewed.code).toBe('conflict')
    expect(intoReviewed.message).toMatch(/segment 4 is reviewed or locked: automatic changes to it are refused/)
    expect(error(() => p.applyRun(run, [21, 22], [1, 1])).message).toMatch(/segments 1, 3 are reviewed or locked|segment 3 is reviewed or locked/)
    expect(snapshot(p)).toEqual(before)
    expect(p.history().length).toBe(history)

    // frozen() is what re-segmentation keeps: segments, their fragments, and edited voxels.
    p.paint({ indices: [10, 11], before: [61, 62], fragment: 31 }) // into reviewed segment 4
    p.paint({ indices: [12], before: [35], fragment: 61 }) // out of reviewed segment 4
    const frozen = p.frozen()
    expect(frozen.segments).toEqual([3, 4])
    expect([...frozen.fragments]).toEqual([...range(21, 40), ...range(41, 50)].sort((a, b) => a - b))
    expect(frozen.voxels).toEqual({ indices: Float64Array.of(10, 11), labels: Float64Array.of(31, 31) })
    expect([...frozen.released]).toEqual([12])

    // Changes that stay clear of frozen segments go through as one undoable automatic edit.
    const auto = p.applyRun(run, [1, 2, 61, 62], [1, 1, 200, 200])
    expect(auto).toMatchObject({ kind: 'reassign', origin: 'auto', runId: run, fragments: 2, segments: [7, 200] })
    expect([...p.fragmentsOf(200)]).toEqual([61, 62])
    p.undo()
    expect(p.fragmentsOf(200).length).toBe(0)
    p.close()
  })
})

describe('project store: history', () => {
  it('undoes and redoes to any depth across restarts', () => {
    let p = makeStreamProject(join(tempDir(), 'p'))
    const random = rng(7)
    const segmentAt = () => p.segmentOf(1 + Math.floor(random() * 2000))
    const states = [snapshot(p)]
    for (let i = 0; i < 60; i++) {
      const a = segmentAt()
      const b = segmentAt()
      const fragments = p.fragmentsOf(a)
      if (i % 4 === 0) {
        if (a === b) p.note('same segment')
        else p.merge(a, b)
      }
      if (i % 4 === 1) {
        if (fragments.length < 2) p.note('one fragment')
        else p.split(a, fragments.subarray(0, fragments.length >> 1))
      }
      if (i % 4 === 2) {
        const indices = [i * 64, i * 64 + 1, i * 64 + 2]
        p.paint({ indices, before: indices.map(baseLabel), fragment: fragments[0] })
      }
      if (i % 4 === 3) p.review([a], !p.segmentState(a).reviewed)
      states.push(snapshot(p))
    }
    const path = p.dir
    p.close()

    // Undo everything, reopening the project every ten steps.
    p = openProject(path)
    for (let i = states.length - 1; i > 0; i--) {
      expect(snapshot(p)).toEqual(states[i])
      expect(p.undo()).not.toBeNull()
      if (i % 10 === 0) {
        p.close()
        p = openProject(path)
      }
    }
    expect(snapshot(p)).toEqual(states[0])
    expect(p.undo()).toBeNull()
    p.close()

    // Redo everything after another restart.
    p = openProject(path)
    for (let i = 1; i < states.length; i++) {
      expect(p.redo()?.state).toBe('applied')
      expect(snapshot(p)).toEqual(states[i])
    }
    expect(p.redo()).toBeNull()

    // Undo three, make a new edit: the three stay in the log as discarded, redo has nothing.
    p.undo()
    p.undo()
    p.undo()
    p.note('new direction')
    expect(p.redo()).toBeNull()
    p.close()
    p = openProject(path)
    expect(p.history({ limit: 4 }).map((e) => e.state)).toEqual(['applied', 'discarded', 'discarded', 'discarded'])
    expect(p.info().canRedo).toBe(false)
    p.close()
  })

  it('reverts to a point in history by edit or by time, and the revert can be redone', () => {
    const p = makeProject(join(tempDir(), 'p'), SMALL)
    const e1 = p.merge(1, 2)
    const afterFirst = snapshot(p)
    p.merge(1, 3)
    p.review([1])
    p.lock([1])
    const full = snapshot(p)
    const undone = p.revert({ edit: e1.id })
    expect(undone.map((e) => e.kind)).toEqual(['lock', 'review', 'merge'])
    expect(snapshot(p)).toEqual(afterFirst)
    for (let i = 0; i < 3; i++) p.redo()
    expect(snapshot(p)).toEqual(full)
    expect(p.revert({ time: e1.time - 1 }).length).toBe(4)
    expect(p.fragmentsOf(1).length).toBe(10)
    expect(error(() => p.revert({ edit: 999 })).message).toMatch(/edit 999 is not an applied edit/)
    p.close()
  })

  it('lists history newest first in pages, with notes and authors', () => {
    const p = makeProject(join(tempDir(), 'p'), SMALL)
    for (let s = 2; s <= 6; s++) p.merge(1, s)
    p.note('segment 1 looks right now', 1)
    const page1 = p.history({ limit: 4 })
    expect(page1.map((e) => e.kind)).toEqual(['note', 'merge', 'merge', 'merge'])
    expect(page1[0]).toMatchObject({ note: 'segment 1 looks right now', segments: [1], author: 'ann' })
    const page2 = p.history({ limit: 4, before: page1[3].id })
    expect(page2.map((e) => e.segments[1])).toEqual([3, 2])
    p.close()
  })

  it('a second connection sees the edits of the first', () => {
    const dir = join(tempDir(), 'p')
    const a = makeProject(dir, SMALL)
    const b = openProject(dir, { author: 'bob' })
    a.merge(1, 2)
    expect(b.fragmentsOf(1).length).toBe(20)
    b.split(1, [1, 2])
    expect(a.segmentOf(1)).toBe(11)
    expect(a.undo()?.author).toBe('bob')
    expect(b.segmentOf(1)).toBe(1)
    a.close()
    b.close()
  })
})

describe('project store: bookmarks, models, training runs', () => {
  it('keeps bookmarks', () => {
    const p = makeProject(join(tempDir(), 'p'), SMALL)
    const b = p.bookmarks.add([1, 2, 3], 'merge error?', p.author, 4)
    p.bookmarks.add([0, 0, 0], 'start', p.author)
    expect(p.bookmarks.list().map((x) => x.title)).toEqual(['merge error?', 'start'])
    p.bookmarks.remove(b.id)
    expect(p.bookmarks.list().map((x) => x.position)).toEqual([[0, 0, 0]])
    expect(error(() => p.bookmarks.remove(b.id)).code).toBe('not_found')
    p.close()
  })

  it('records model versions, activates one at a time and rolls back', () => {
    const dir = join(tempDir(), 'p')
    const p = createProject(dir)
    writeFileSync(join(dir, 'models', 'base.onnx'), 'x')
    writeFileSync(join(dir, 'models', 'tuned.onnx'), 'y')
    const base = p.models.record({ name: 'base', file: 'base.onnx', activate: true })
    const run = p.training.start({ steps: 100, lr: 1e-4 }, base.id)
    p.training.appendLoss(run.id, [
      { step: 0, loss: 1 },
      { step: 10, loss: 0.6 },
    ])
    const done = p.training.finish(run.id, 'done', { voi: 1.2 })
    expect(done).toMatchObject({ state: 'done', metrics: { voi: 1.2 }, baseModelId: base.id })
    expect(p.training.lossCurve(run.id).map((x) => x.loss)).toEqual([1, 0.6])
    expect(error(() => p.training.appendLoss(run.id, [{ step: 20, loss: 0.5 }])).message).toMatch(/has finished/)

    const tuned = p.models.record({ name: 'tuned', file: 'tuned.onnx', parentId: base.id, trainingRunId: run.id, metrics: { voi: 1.2 } })
    expect(p.models.active()?.name).toBe('base')
    p.models.activate(tuned.id)
    expect(p.models.list().map((m) => [m.name, m.active])).toEqual([
      ['base', false],
      ['tuned', true],
    ])
    expect(p.models.rollback().name).toBe('base')
    expect(error(() => p.models.rollback()).message).toMatch(/has no parent/)
    expect(error(() => p.models.record({ name: 'x', file: 'missing.onnx' })).code).toBe('not_found')
    expect(error(() => p.models.record({ name: 'x', file: '../escape.onnx' })).message).toMatch(/inside the project's models\/ folder/)
    p.close()
  })
})
