import { existsSync } from 'node:fs'
import { join } from 'node:path'
import * as ort from 'onnxruntime-node'
import { afterAll, describe, expect, it } from 'vitest'
import type { ApiEvents } from '../../src/shared/api'
import { createEngine } from '../../src/main/engine/api'
import { loadCheckpoint } from '../../src/main/engine/model/checkpoint'
import { removeTempDirs, reviewedProjectDir } from './helpers'

afterAll(removeTempDirs)

describe('train API', () => {
  it('start -> live loss events -> finished; versions, activate, rollback, export as safetensors and ONNX', { timeout: 300_000 }, async () => {
    const dir = await reviewedProjectDir(6, 4)
    const engine = createEngine({ mode: 'cli' })
    try {
      await engine.call('project.open', { dir })
      const progress: ApiEvents['train.progress'][] = []
      engine.on('train.progress', (p) => progress.push(p))
      const finished = new Promise<ApiEvents['train.finished']>((resolve) => engine.on('train.finished', resolve))
      const { jobId } = await engine.call('train.start', { scope: 'head', steps: 3, heldOutShare: 0, patch: [16, 80, 80], resegment: false })
      await expect(engine.call('train.start', { steps: 1 })).rejects.toThrow(/already running/)
      const end = await finished
      expect(end.state).toBe('done')
      expect(engine.jobs.get(jobId)?.state).toBe('done')
      expect(progress.map((p) => [p.runId, p.step, p.steps])).toEqual([
        [end.runId, 1, 3],
        [end.runId, 2, 3],
        [end.runId, 3, 3],
      ])
      expect((await engine.call('train.lossCurve', { runId: end.runId! })).map((p) => p.loss)).toEqual(progress.map((p) => p.loss))
      expect((await engine.call('train.runs', {})).map((r) => r.state)).toEqual(['done'])
      const versions = await engine.call('train.versions', {})
      expect(versions.map((v) => v.active)).toEqual([false, true])
      expect(versions[1].id).toBe(end.versionId)
      // No held-out segments, so no before/after chart for this version.
      expect(await engine.call('train.comparison', {})).toBeNull()

      const st = join(dir, 'export.safetensors')
      expect((await engine.call('train.export', { versionId: end.versionId!, out: st, format: 'safetensors' })).files).toEqual([st])
      expect((await loadCheckpoint(st)).weights.size).toBe(291)
      const onnx = join(dir, 'export.onnx')
      await engine.call('train.export', { versionId: end.versionId!, out: onnx, format: 'onnx', patch: [16, 80, 80] })
      const session = await ort.InferenceSession.create(onnx)
      expect(session.inputNames).toEqual(['input'])
      expect(session.outputNames).toEqual(['affinities'])
      await session.release()

      expect((await engine.call('train.rollback', {})).id).toBe(versions[0].id)
      expect((await engine.call('train.activate', { versionId: versions[1].id })).active).toBe(true)
      expect(existsSync(join(dir, 'models', versions[1].file))).toBe(true)

      // A checkpoint made by the official code joins as a version of its own, active.
      const pth = join(import.meta.dirname, '../../../shared/fixtures/tokenunify/tiny-a/checkpoint.pth')
      const imported = await engine.call('train.import', { path: pth })
      expect([imported.name, imported.active, imported.parentId]).toEqual(['imported checkpoint.pth', true, null])
      const copy = await loadCheckpoint(join(dir, 'models', imported.file))
      const original = await loadCheckpoint(pth)
      expect(copy.weights.get('vit.stages.0.0.mamba.A_log')!.data).toEqual(original.weights.get('vit.stages.0.0.mamba.A_log')!.data)
      await expect(engine.call('train.import', { path: join(dir, 'raw.npy') })).rejects.toThrow(/raw\.npy/)
      expect((await engine.call('train.versions', {})).length).toBe(3)
    } finally {
      await engine.close()
    }
  })
})
