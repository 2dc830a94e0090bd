import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { readNpy } from '../../src/main/engine/io/npy'
import { loadCheckpoint } from '../../src/main/engine/model/checkpoint'
import { computeGradients } from '../../src/main/engine/train/grad'
import { ADAM, decays, trainableParams, trainingStepGraphs } from '../../src/main/engine/train/graphs'
import { affinitiesFromLabels, weightBinaryRatio } from '../../src/main/engine/train/targets'
import { Trainer } from '../../src/main/engine/train/trainer'

const DIR = join(__dirname, '../../../shared/fixtures/tokenunify/tiny-a')

describe('training-step graphs', () => {
  it('cut the network where the frozen part meets the trainable one', async () => {
    const { config } = await loadCheckpoint(join(DIR, 'checkpoint.pth'))
    const patch: [number, number, number] = [16, 80, 80]
    const head = trainingStepGraphs(config, { patch, batch: 1, scope: 'head' })
    expect(head.trainable.map((p) => p.name)).toEqual(['out.conv.conv.weight', 'out.conv.conv.bias'])
    const sizes = (specs: { shape: readonly number[] }[]) => specs.map((f) => f.shape.reduce((a, b) => a * b, 1)).sort((a, b) => a - b)
    // decoder1's output (8 channels at full resolution, in whatever layout the network keeps it)
    // is the only feature: the head step is one 1x1x1 conv, loss and update.
    expect(sizes(head.featureSpecs)).toEqual([8 * 16 * 80 * 80])
    const decoder = trainingStepGraphs(config, { patch, batch: 1, scope: 'decoder' })
    expect(decoder.trainable.every((p) => p.name.startsWith('decoder') || p.name.startsWith('out.'))).toBe(true)
    // encoder1..4 (the skips) and encoder5 (the bottleneck) are computed once per sample.
    expect(sizes(decoder.featureSpecs)).toEqual([128 * 1 * 5 * 5, 64 * 2 * 10 * 10, 32 * 4 * 20 * 20, 16 * 8 * 40 * 40, 8 * 16 * 80 * 80])
    expect(decoder.featureSpecs.every((f) => f.perSample)).toBe(true)
    expect(decoder.step.nodes.some((n) => n.op === 'SelectiveScan')).toBe(false)
    const all = trainingStepGraphs(config, { patch, batch: 1, scope: 'all' })
    expect(all.features).toBeNull()
    expect(all.step.inputs.some((v) => v.name === 'input')).toBe(true)
    expect(decoder.step.inputs.some((v) => v.name === 'input')).toBe(false)
    expect(all.trainable.length).toBe(291)
    expect(all.step.nodes.filter((n) => n.op === 'SelectiveScanGrad').length).toBe(24)
  })

  it('one decoder step: the loss and moments agree with the gradient graph, the update is AdamW', { timeout: 300_000 }, async () => {
    const checkpoint = await loadCheckpoint(join(DIR, 'checkpoint.pth'))
    const input = readNpy(join(DIR, 'input.npy')).data as Float32Array
    const labels = readNpy(join(DIR, 'grads/labels.npy')).data as Uint32Array
    const patch: [number, number, number] = [16, 80, 80]
    const trainable = trainableParams(checkpoint.config, 'decoder')
    const reference = await computeGradients(checkpoint.config, (n) => checkpoint.weights.get(n)?.data, input, labels, patch, {
      params: trainable.map((p) => p.name),
    })
    const trainer = await Trainer.create({ config: checkpoint.config, weights: checkpoint.weights, scope: 'decoder', patch })
    try {
      const target = affinitiesFromLabels(labels, patch)
      const sample = await trainer.prepare({ input, target, weight: weightBinaryRatio(target) })
      const lr = 1e-3
      const loss = await trainer.train([sample], lr)
      expect(Math.abs(loss - reference.loss) / reference.loss).toBeLessThan(1e-5)
      const after = trainer.weights()
      for (const p of trainable) {
        const w0 = checkpoint.weights.get(p.name)!.data
        const g = reference.grads.get(p.name)!
        const w1 = after.get(p.name)!.data
        // Step 1 from zero moments: m = 0.1 g, v = 0.05 g^2, and the bias corrections undo both.
        let worst = 0
        for (let i = 0; i < w0.length; i++) {
          const m = (1 - ADAM.beta1) * g[i]
          const v = (1 - ADAM.beta2) * g[i] * g[i]
          const update = (lr * (m / (1 - ADAM.beta1))) / (Math.sqrt(v / (1 - ADAM.beta2)) + ADAM.eps)
          const want = (decays(p) ? w0[i] * (1 - lr * ADAM.weightDecay) : w0[i]) - update
          worst = Math.max(worst, Math.abs(w1[i] - want))
        }
        // |update| <= lr; gradients of float32 noise size flip an element's step, which is rare.
        expect(worst, p.name).toBeLessThan(lr * 0.05)
      }
      // Frozen weights are the same arrays as before.
      expect(after.get('vit.stages.0.0.mamba.A_log')).toBe(checkpoint.weights.get('vit.stages.0.0.mamba.A_log'))
    } finally {
      await trainer.dispose()
    }
  })

  it('a few head steps on one sample lower its loss', async () => {
    const checkpoint = await loadCheckpoint(join(DIR, 'checkpoint.pth'))
    const input = readNpy(join(DIR, 'input.npy')).data as Float32Array
    const labels = readNpy(join(DIR, 'grads/labels.npy')).data as Uint32Array
    const patch: [number, number, number] = [16, 80, 80]
    const trainer = await Trainer.create({ config: checkpoint.config, weights: checkpoint.weights, scope: 'head', patch })
    try {
      const target = affinitiesFromLabels(labels, patch)
      const sample = await trainer.prepare({ input, target, weight: weightBinaryRatio(target) })
      const losses: number[] = []
      for (let i = 0; i < 8; i++) losses.push(await trainer.train([sample], 3e-2))
      expect(losses[7]).toBeLessThan(losses[0] * 0.9)
      expect(trainer.steps).toBe(8)
    } finally {
      await trainer.dispose()
    }
  })
})
