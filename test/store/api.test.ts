import { join } from 'node:path'
import { writeNpy } from '../../src/main/engine/io/npy'
import { afterAll, describe, expect, it } from 'vitest'
import type { ApiEvents } from '../../src/shared/api'
import { createEngine } from '../../src/main/engine/api'
import { makeProject, removeTempDirs, tempDir } from './helpers'

afterAll(removeTempDirs)

describe('project API', () => {
  it('opens a project and proofreads through Engine.call, with change events', async () => {
    const root = tempDir()
    const dir = join(root, 'p')
    makeProject(dir, { fragments: 40, segmentSize: 10, labelShape: [2, 8, 8] }).close()
    const engine = createEngine({ mode: 'cli' })
    const events: ApiEvents['project.changed'][] = []
    engine.on('project.changed', (e) => events.push(e))
    await expect(engine.call('project.merge', { keep: 1, absorb: 2 })).rejects.toThrow(/no project is open/)

    const info = await engine.call('project.open', { dir, author: 'dana' })
    expect(info).toMatchObject({ dir, fragments: 40, segments: 4, labelShape: [2, 8, 8], canUndo: false })
    const merge = await engine.call('project.merge', { keep: 1, absorb: 2 })
    expect(merge).toMatchObject({ kind: 'merge', author: 'dana', fragments: 10 })
    expect(await engine.call('project.segmentOf', { fragments: [15, 35, 999] })).toEqual({ segments: [1, 4, 0] })
    const split = await engine.call('project.split', { segment: 1, fragments: [1, 2] })
    expect((await engine.call('project.fragmentsOf', { segment: split.segments[1] })).fragments).toEqual(Float64Array.of(1, 2))
    await engine.call('project.paint', { indices: Float64Array.of(3, 4), before: Float64Array.of(21, 21), fragment: 5 })
    expect(await engine.call('project.voxelEdits', { box: { start: [0, 0, 0], stop: [1, 1, 8] } })).toEqual({
      indices: Float64Array.of(3, 4),
      labels: Float64Array.of(5, 5),
    })
    await engine.call('project.review', { segments: [1], reviewed: true })
    expect(await engine.call('project.reviewState', {})).toEqual({ reviewed: [1], locked: [] })
    expect((await engine.call('project.undo', {})).edit?.kind).toBe('review')
    expect((await engine.call('project.history', { limit: 2 })).map((e) => [e.kind, e.state])).toEqual([
      ['review', 'undone'],
      ['paint', 'applied'],
    ])
    expect((await engine.call('project.revert', { edit: merge.id })).undone.map((e) => e.kind)).toEqual(['paint', 'split'])
    const bookmark = await engine.call('project.addBookmark', { position: [1, 2, 3], title: 'here' })
    expect(await engine.call('project.bookmarks', {})).toEqual([bookmark])
    writeNpy(join(root, 'raw.npy'), new Uint8Array(128), [2, 8, 8])
    expect(await engine.call('project.addSource', { path: join(root, 'raw.npy'), role: 'raw' })).toMatchObject({ role: 'raw', shape: [2, 8, 8], status: 'ok' })
    expect((await engine.call('project.info', {})).sources.map((s) => s.name)).toEqual(['raw.npy'])
    const exported = await engine.call('project.exportCorrections', { file: join(root, 'c.zip') })
    expect(exported.edits).toBe(1)
    expect(events.map((e) => e.action)).toEqual(['edit', 'edit', 'edit', 'edit', 'undo', 'revert'])
    expect(events[0].segments.sort()).toEqual([1, 2])
    expect(await engine.call('project.close', {})).toEqual({ closed: true })
    await expect(engine.call('project.info', {})).rejects.toThrow(/no project is open/)
    await engine.close()
  })
})
