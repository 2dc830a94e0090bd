import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { Vec3 } from '../../src/shared/types'
import { syntheticVolume } from '../../src/main/engine/io/synthetic'
import { sizeConfig } from '../../src/main/engine/model/config'
import { initialWeights } from '../../src/main/engine/model/init'
import { paramSpecs } from '../../src/main/engine/model/params'
import { defaultModelPath, modelInfo } from '../../src/main/engine/model/runnable'
import { onFirstWorkingProvider, providerOrder } from '../../src/main/engine/runtime/providers'
import { scoreModel } from '../../src/main/engine/train/evaluate'
import { saveWeights } from '../../src/main/engine/train/versions'

const dir = mkdtempSync(join(tmpdir(), 'tu-model-init-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('initial weights (the official initialisation)', () => {
  const config = { ...sizeConfig('base'), featSize: [8, 16, 32, 64] as [number, number, number, number], hiddenSize: 128 }
  const weights = initialWeights(config, 3)

  it('has every parameter with its shape, and is reproducible from the seed', () => {
    expect([...weights.keys()]).toEqual(paramSpecs(config).map((s) => s.name))
    for (const s of paramSpecs(config)) expect(weights.get(s.name)!.shape, s.name).toEqual(s.shape)
    expect(initialWeights(config, 3).get('encoder1.layer.conv1.conv.weight')!.data).toEqual(weights.get('encoder1.layer.conv1.conv.weight')!.data)
    expect(initialWeights(config, 4).get('encoder1.layer.conv1.conv.weight')!.data).not.toEqual(weights.get('encoder1.layer.conv1.conv.weight')!.data)
  })

  it('follows PyTorch and Mamba: U(+-1/sqrt(fan_in)), A_log = log(1..16), D = 1, dt in [1e-3, 0.1]', () => {
    const w = (n: string) => weights.get(n)!.data
    const bound = (n: string, b: number) => {
      const d = w(n)
      expect(Math.max(...d.map(Math.abs)), n).toBeLessThanOrEqual(b)
      expect(Math.max(...d.map(Math.abs)), n).toBeGreaterThan(0.8 * b)
    }
    bound('encoder2.layer.conv1.conv.weight', 1 / Math.sqrt(8 * 25))
    bound('decoder2.transp_conv.conv.weight', 1 / Math.sqrt(8 * 8)) // ConvTranspose fan_in = out * k^3
    bound('vit.stages.0.0.mamba.in_proj.weight', 1 / Math.sqrt(8))
    bound('vit.stages.0.0.mamba.conv1d_b.bias', 1 / 2)
    bound('vit.stages.0.0.mamba.dt_proj.weight', 1 / Math.sqrt(1))
    bound('vit.stages.0.0.mamba.dt_proj_s.bias', 1 / Math.sqrt(1))
    expect([...w('vit.stages.1.1.mamba.A_b_log').slice(0, 17)]).toEqual([...Array(16).keys()].map((i) => Math.fround(Math.log(i + 1))).concat(0))
    expect(w('vit.stages.2.0.mamba.D_s').every((v) => v === 1)).toBe(true)
    expect(w('vit.stages.0.1.norm.weight').every((v) => v === 1)).toBe(true)
    for (const b of w('vit.stages.3.0.mamba.dt_proj.bias')) {
      const dt = Math.log1p(Math.exp(b))
      expect(dt).toBeGreaterThanOrEqual(1e-3 * 0.999)
      expect(dt).toBeLessThanOrEqual(0.1 * 1.001)
    }
  })
})

describe('the bundled default model', () => {
  it('is the tiny architecture, trained, with a calibrated threshold', async () => {
    expect(existsSync(defaultModelPath())).toBe(true)
    const info = await modelInfo(defaultModelPath())
    expect(info).toMatchObject({ format: 'safetensors', size: 'custom', untrained: false })
    expect(info.config.featSize).toEqual([8, 16, 32, 64])
    expect(info.threshold).toBeGreaterThan(0)
    expect(info.threshold).toBeLessThan(1)
    expect(info.description).toMatch(/scripts\/train-default-model\.ts/)
  })

  it('segments synthetic EM it never saw far better than its untrained initialisation', async () => {
    const { config, threshold } = await modelInfo(defaultModelPath())
    const volume = syntheticVolume({ shape: [16, 160, 160], seed: 31 })
    const region = { box: { start: [0, 0, 0] as Vec3, stop: volume.raw.shape }, image: volume.raw, truth: volume.labels.data as Uint32Array }
    const untrained = join(dir, 'untrained.safetensors')
    await saveWeights(untrained, config, initialWeights(config, 0), { description: 'untrained' })
    const trainedScore = await scoreModel(region, defaultModelPath(), { patch: [16, 160, 160] })
    const untrainedScore = await scoreModel(region, untrained, { patch: [16, 160, 160], threshold })
    expect(trainedScore.voi).toBeLessThan(1)
    expect(trainedScore.voi).toBeLessThan(untrainedScore.voi / 2)
  })
})

describe('execution provider choice', () => {
  it('tries the GPU first for auto and always ends on the CPU', () => {
    expect(providerOrder('auto')).toEqual(['cuda', 'webgpu', 'cpu'])
    expect(providerOrder('webgpu')).toEqual(['webgpu', 'cpu'])
    expect(providerOrder('cpu')).toEqual(['cpu'])
  })

  it('falls back to the CPU and says why the others were not used', async () => {
    const tried: string[] = []
    const result = await onFirstWorkingProvider('webgpu', async (p) => {
      tried.push(p)
      if (p === 'webgpu') throw new Error('Failed to get a WebGPU adapter: none\nstack')
      return 42
    })
    expect(result).toEqual({ value: 42, provider: 'cpu', passedOver: [{ provider: 'webgpu', reason: 'Failed to get a WebGPU adapter: none' }] })
    expect(tried).toEqual(['webgpu', 'cpu'])
    const cuda = await onFirstWorkingProvider('cuda', async (p) => p)
    if (cuda.provider === 'cpu') expect(cuda.passedOver[0].reason).toMatch(/CUDA provider library is not installed/)
  })
})
