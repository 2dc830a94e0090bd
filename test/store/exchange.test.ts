import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { strFromU8, strToU8, unzipSync, zipSync } from 'fflate'
import { afterAll, describe, expect, it } from 'vitest'
import { StudioError } from '../../src/shared/errors'
import { parseNpyHeader } from '../../src/main/engine/io/npy'
import { exportCorrections, importCorrections } from '../../src/main/engine/store/exchange'
import type { Project } from '../../src/main/engine/store/project'
import { makeProject, removeTempDirs, snapshot, tempDir } from './helpers'

afterAll(removeTempDirs)

const SMALL = { fragments: 100, segmentSize: 10, labelShape: [4, 16, 16] as [number, number, number] }

/** A project with one of every kind of correction, and an undone edit that is not exported. */
function corrected(dir: string): Project {
  const p = makeProject(dir, SMALL)
  p.merge(1, 2)
  p.split(1, [3, 17]) // new segment 11
  p.paint({ indices: [20, 21], before: [34, 34], fragment: 3 })
  p.paint({ indices: [40, 41, 42], before: [51, 51, 52] }) // new fragment 101 in new segment 12
  p.erase([60], [77])
  p.review([1])
  p.lock([11])
  p.note('done with the top left', 1)
  p.merge(5, 6)
  p.undo()
  return p
}

function u64(bytes: Uint8Array): number[] {
  const h = parseNpyHeader(bytes, 'entry')
  expect(h.dtype).toBe('uint64')
  return [...new BigUint64Array(bytes.slice(h.dataOffset).buffer)].map(Number)
}

function importError(p: Project, file: string): StudioError {
  try {
    importCorrections(p, file)
  } catch (err) {
    expect(err).toBeInstanceOf(StudioError)
    return err as StudioError
  }
  throw new Error('import should have failed')
}

describe('project store: corrections files', () => {
  it('exports the applied edits and the edited labels in one zip', () => {
    const root = tempDir()
    const a = corrected(join(root, 'a'))
    const file = join(root, 'corrections.zip')
    const result = exportCorrections(a, file)
    expect(result).toMatchObject({ file, edits: 8 })

    const zip = unzipSync(readFileSync(file))
    expect(Object.keys(zip).sort()).toEqual([
      'corrections.json',
      'labels/fragment.npy',
      'labels/segment.npy',
      'labels/voxel_fragment.npy',
      'labels/voxel_index.npy',
    ])
    const doc = JSON.parse(strFromU8(zip['corrections.json']))
    expect(doc).toMatchObject({ format: 'tokenunify-corrections', version: 1, labelShape: [4, 16, 16], reviewed: [1], locked: [11] })
    expect(doc.base.fragments).toBe(100)
    expect(doc.edits.map((e: { kind: string }) => e.kind)).toEqual(['merge', 'split', 'paint', 'paint', 'erase', 'review', 'lock', 'note'])
    expect(doc.edits[1]).toMatchObject({ author: 'ann', segments: [1, 11], assign: { ids: [3, 17], before: [1, 1], after: [11, 11] } })
    expect(doc.edits[7].note).toBe('done with the top left')

    const voxels = a.allVoxelEdits()
    expect(u64(zip['labels/voxel_index.npy'])).toEqual([20, 21, 40, 41, 42, 60])
    expect(u64(zip['labels/voxel_fragment.npy'])).toEqual([...voxels.labels])
    expect(u64(zip['labels/voxel_fragment.npy'])).toEqual([3, 3, 101, 101, 101, 0])
    // Fragments whose segment differs from the base: 11-20 joined 1, 3 and 17 split off, 101 is new.
    expect(u64(zip['labels/fragment.npy'])).toEqual([3, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 101])
    expect(u64(zip['labels/segment.npy'])).toEqual([11, 1, 1, 1, 1, 1, 1, 11, 1, 1, 1, 12])
    a.close()
  })

  it('imports into a project on the same segmentation, mapping ids it created', () => {
    const root = tempDir()
    const a = corrected(join(root, 'a'))
    const file = join(root, 'corrections.zip')
    exportCorrections(a, file)

    // A fresh project ends in exactly the exporter's state, with the authors and times kept.
    const fresh = makeProject(join(root, 'fresh'), SMALL, 'carol')
    const records = importCorrections(fresh, file)
    expect(records.map((r) => [r.kind, r.origin, r.author])).toEqual(
      a.appliedEdits().map(({ record }) => [record.kind, 'import', record.author]),
    )
    expect(records.map((r) => r.time)).toEqual(a.appliedEdits().map(({ record }) => record.time))
    expect(snapshot(fresh)).toEqual(snapshot(a))
    // Imported edits undo like any other: the note, then the lock.
    expect(fresh.undo()?.kind).toBe('note')
    expect(fresh.undo()?.kind).toBe('lock')
    expect(fresh.segmentState(11).locked).toBe(false)

    // A project with its own new segment 11 and fragment 101 gets the imported ones under new ids.
    const b = makeProject(join(root, 'b'), SMALL, 'bob')
    b.split(9, [81, 82])
    b.paint({ indices: [500], before: [90] })
    importCorrections(b, file)
    expect([...b.fragmentsOf(11)]).toEqual([81, 82])
    const split = b.segmentOf(3)
    expect(split).toBe(13)
    expect([...b.fragmentsOf(split)]).toEqual([3, 17])
    expect(b.segmentState(split).locked).toBe(true)
    expect(b.voxelEdits({ start: [0, 2, 0], stop: [1, 3, 16] })).toEqual({ indices: Float64Array.of(40, 41, 42), labels: Float64Array.of(102, 102, 102) })
    expect(b.segmentOf(102)).toBe(14)
    expect([...b.fragmentsOf(1)]).toEqual([1, 2, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 18, 19, 20])
    a.close()
    fresh.close()
    b.close()
  })

  it('refuses, all or nothing, corrections that do not fit', () => {
    const root = tempDir()
    const a = corrected(join(root, 'a'))
    const file = join(root, 'corrections.zip')
    exportCorrections(a, file)

    // Into the project that made them: the first merge finds segment 2 gone.
    const before = snapshot(a)
    const history = a.history().length
    const again = importError(a, file)
    expect(again.code).toBe('conflict')
    expect(again.message).toMatch(/corrections\.zip: imported edit 1 \(merge\): fragment 11 is in segment 1 here, not 2; nothing was imported/)
    expect(snapshot(a)).toEqual(before)
    expect(a.history().length).toBe(history)

    // A locked segment stays locked, and the edits before the refused one are rolled back too.
    const locked = makeProject(join(root, 'locked'), SMALL)
    locked.lock([8])
    const lockedBefore = snapshot(locked)
    expect(importError(locked, file).message).toMatch(/imported edit 5 \(erase\): segment 8 is locked: unlock before editing; nothing was imported/)
    expect(snapshot(locked)).toEqual(lockedBefore)

    const other = makeProject(join(root, 'other'), { ...SMALL, segmentSize: 5 })
    expect(importError(other, file).message).toMatch(/made on a different segmentation/)

    const notZip = join(root, 'notes.zip')
    writeFileSync(notZip, 'hello')
    expect(importError(other, notZip).message).toBe(`${notZip}: not a corrections file (not a zip archive)`)
    const wrong = join(root, 'wrong.zip')
    writeFileSync(wrong, zipSync({ 'corrections.json': strToU8(JSON.stringify({ format: 'something-else' })) }))
    expect(importError(other, wrong).message).toMatch(/wrong\.zip: not a corrections file \(format is "something-else"\)/)
    expect(importError(other, join(root, 'missing.zip')).code).toBe('not_found')
    a.close()
  })
})
