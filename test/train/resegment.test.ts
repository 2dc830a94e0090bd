import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { ApiEvents } from '../../src/shared/api'
import { createEngine, type Engine } from '../../src/main/engine/api'
import { writeNpy } from '../../src/main/engine/io/npy'
import { syntheticVolume } from '../../src/main/engine/io/synthetic'
import { removeTempDirs, tempDir } from './helpers'

afterAll(removeTempDirs)

async function finish(engine: Engine, jobId: string): Promise<void> {
  for (;;) {
    const state = engine.jobs.get(jobId)?.state
    if (state === 'done') return
    if (state === 'failed' || state === 'cancelled') throw new Error(`job ${jobId} ${state}: ${engine.jobs.get(jobId)?.message}`)
    await new Promise((r) => setTimeout(r, 200))
  }
}

describe('after fine-tuning', () => {
  it('the project is re-segmented with the new version and reviewed segments stay exactly as they were', { timeout: 300_000 }, async () => {
    const dir = tempDir()
    const shape: [number, number, number] = [16, 96, 96]
    const raw = join(dir, 'raw.npy')
    writeNpy(raw, syntheticVolume({ shape, seed: 9 }).raw.data as Uint8Array, shape)
    const engine = createEngine({ mode: 'cli' })
    try {
      await engine.call('project.create', { dir: join(dir, 'p') })
      await engine.call('project.addSource', { path: raw, role: 'raw' })
      const image = await engine.call('volume.open', { path: raw })
      await finish(engine, (await engine.call('segment.run', { volumeId: image.id, fragments: '3d' })).jobId)
      const { fragments, segments } = await engine.call('project.assignment', {})
      const reviewed = [...new Set(segments)].slice(0, 3)
      await engine.call('project.review', { segments: reviewed, reviewed: true })
      const members = async () => Promise.all(reviewed.map(async (s) => [...(await engine.call('project.fragmentsOf', { segment: s })).fragments]))
      const before = await members()

      const finished = new Promise<ApiEvents['train.finished']>((resolve) => engine.on('train.finished', resolve))
      await engine.call('train.start', { scope: 'head', steps: 2, heldOutShare: 0, patch: [16, 80, 80] })
      const end = await finished
      expect(end.state).toBe('done')
      expect(end.resegmentJobId).toBeDefined()
      await finish(engine, end.resegmentJobId!)
      const state = (await engine.call('segment.state', {}))!
      // The segmentation now comes from the new version's affinities (a run is recorded only when segments change).
      const versions = await engine.call('train.versions', {})
      expect(state.model?.path).toBe(join(dir, 'p', 'models', versions.find((v) => v.id === end.versionId)!.file))
      expect(await members()).toEqual(before)
      expect((await engine.call('project.reviewState', {})).reviewed).toEqual([...reviewed].sort((a, b) => a - b))
      expect(fragments.length).toBeGreaterThan(0)
    } finally {
      await engine.close()
    }
  })
})
