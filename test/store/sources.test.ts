import { renameSync, utimesSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { writeNpy } from '../../src/main/engine/io/npy'
import { openVolume } from '../../src/main/engine/io/open'
import { ArrayVolume } from '../../src/main/engine/io/volume'
import { createProject, openProject } from '../../src/main/engine/store/project'
import { contentHash } from '../../src/main/engine/store/sources'
import { removeTempDirs, tempDir } from './helpers'

afterAll(removeTempDirs)

const SHAPE: [number, number, number] = [12, 70, 90]
const voxels = (seed: number) => Uint8Array.from({ length: SHAPE[0] * SHAPE[1] * SHAPE[2] }, (_, i) => (i * 31 + seed) % 251)

describe('project store: volume sources', () => {
  it('hashes the voxels of a few chunks, whatever the source reads them from', async () => {
    const root = tempDir()
    const file = join(root, 'raw.npy')
    const data = voxels(1)
    writeNpy(file, data, SHAPE)
    const fromFile = await openVolume(file)
    const hash = await contentHash(fromFile)
    await fromFile.close()
    expect(await contentHash(new ArrayVolume('memory', SHAPE, 'uint8', data))).toBe(hash)
    // A voxel in the last sampled box (the far corner) changes the hash; one between boxes does not.
    const corner = data.slice()
    corner[corner.length - 1] ^= 1
    expect(await contentHash(new ArrayVolume('memory', SHAPE, 'uint8', corner))).not.toBe(hash)
    const between = data.slice()
    between[(10 * SHAPE[1] + 0) * SHAPE[2] + 0] ^= 1
    expect(await contentHash(new ArrayVolume('memory', SHAPE, 'uint8', between))).toBe(hash)
  })

  it('checks sources on open and re-links a moved volume after confirming its content', async () => {
    const root = tempDir()
    const file = join(root, 'raw.npy')
    writeNpy(file, voxels(1), SHAPE)
    writeNpy(join(root, 'other.npy'), voxels(2), SHAPE)
    const dir = join(root, 'p')
    let p = createProject(dir)
    const added = await p.sources.add(file, 'raw')
    expect(added).toMatchObject({ id: 1, role: 'raw', path: file, shape: SHAPE, dtype: 'uint8', status: 'ok' })
    p.close()

    p = openProject(dir)
    expect((await p.sources.check()).map((s) => s.status)).toEqual(['ok'])
    // Touched but unchanged: still ok, and the new time is remembered.
    utimesSync(file, new Date(2030, 0, 1), new Date(2030, 0, 1))
    expect((await p.sources.check())[0].status).toBe('ok')
    expect(p.db.prepare('SELECT mtime_ms FROM volume_sources').pluck().get()).toBe(new Date(2030, 0, 1).getTime())
    // Rewritten with other data: modified.
    writeNpy(file, voxels(3), SHAPE)
    expect((await p.sources.check())[0]).toMatchObject({ status: 'modified', detail: `${file}: its content changed since it was added to the project` })
    writeNpy(file, voxels(1), SHAPE)

    // Moved: missing, then re-linked; a different volume is refused.
    const moved = join(root, 'moved.npy')
    renameSync(file, moved)
    expect((await p.sources.check())[0]).toMatchObject({ status: 'missing', detail: `${file} is gone; re-link the moved volume` })
    await expect(p.sources.relink(1, join(root, 'other.npy'))).rejects.toThrow(/other\.npy: not the volume "raw\.npy" this project used/)
    await expect(p.sources.relink(1, join(root, 'nowhere.npy'))).rejects.toMatchObject({ code: 'not_found' })
    expect(await p.sources.relink(1, moved)).toMatchObject({ path: moved, status: 'ok' })
    p.close()
    p = openProject(dir)
    expect((await p.sources.check()).map((s) => [s.path, s.status])).toEqual([[moved, 'ok']])
    p.close()
  })
})
