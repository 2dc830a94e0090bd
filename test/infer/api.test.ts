import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { JobInfo } from '../../src/shared/types'
import { createEngine } from '../../src/main/engine/api'
import { readNpy } from '../../src/main/engine/io/npy'
import { ArrayVolume } from '../../src/main/engine/io/volume'

const dir = mkdtempSync(join(tmpdir(), 'tu-infer-api-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('engine API: model calls', () => {
  it('model.info describes the bundled model: trained, with its calibrated threshold', async () => {
    const engine = createEngine({ mode: 'cli' })
    const info = await engine.call('model.info', {})
    expect(info).toMatchObject({ format: 'safetensors', size: 'custom', untrained: false })
    expect(info.threshold).toBeGreaterThan(0)
    expect(info.parameters).toBe(1829555)
    await engine.close()
  })

  it('model.infer runs a job in the gpu lane that writes affinities and reports the provider', async () => {
    const engine = createEngine({ mode: 'cli' })
    const volume = engine.addVolume(new ArrayVolume('v', [16, 80, 80], 'uint8', new Uint8Array(16 * 80 * 80).fill(100)))
    const updates: JobInfo[] = []
    engine.on('job.update', (j) => updates.push(j))
    const out = join(dir, 'aff.npy')
    const { jobId } = await engine.call('model.infer', { volumeId: volume.id, out, provider: 'cpu', patch: [16, 80, 80] })
    const last = await new Promise<JobInfo>((resolve) => engine.on('job.update', (j) => j.id === jobId && j.state !== 'running' && j.state !== 'queued' && resolve(j)))
    expect(last.state).toBe('done')
    expect(updates.some((j) => j.id === jobId && /done on cpu/.test(j.message))).toBe(true)
    expect(readNpy(out).shape).toEqual([3, 16, 80, 80])
    await engine.close()
  })
})
