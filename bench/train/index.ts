/**
 * bench/train: time of one training step (forward, weighted MSE, backward, AdamW) for each
 * trainable scope, next to the plain forward pass of the same network in the same run.
 *
 *   npx tsx bench/train/index.ts [--size base] [--patch 16,80,80] [--steps 3] [--threads N] [--scopes head,decoder,all]
 *
 * The frozen part of a scope (the encoder for 'decoder', everything but the output conv for
 * 'head') runs once per sample to make its features ("features" column); a step then starts
 * from them. The last line projects a 200-step decoder fine-tune from these numbers, with a
 * pool of 16 samples (each sample's features computed once). Weights: the official random init.
 */
import { availableParallelism, cpus } from 'node:os'
import { parseArgs } from 'node:util'
import type { Vec3 } from '../../src/shared/types'
import { sizeConfig, type SizeName } from '../../src/main/engine/model/config'
import { initialWeights } from '../../src/main/engine/model/init'
import { buildNetwork, INPUT } from '../../src/main/engine/model/network'
import { Program } from '../../src/main/engine/runtime/program'
import { SCOPES, trainingStepGraphs, type Scope } from '../../src/main/engine/train/graphs'
import { Trainer } from '../../src/main/engine/train/trainer'
import { uniformArray } from '../../src/main/engine/random'

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: 'base' },
    patch: { type: 'string', default: '16,80,80' },
    steps: { type: 'string', default: '3' },
    threads: { type: 'string' },
    scopes: { type: 'string', default: SCOPES.join(',') },
  },
})
const patch = values.patch.split(',').map(Number) as Vec3
const steps = Number(values.steps)
const threads = values.threads === undefined ? undefined : Number(values.threads)
const config = sizeConfig(values.size as SizeName)
const weights = initialWeights(config, 0)
const voxels = patch[0] * patch[1] * patch[2]

const input = uniformArray(voxels, 0, 1, 1)
const target = Float32Array.from(uniformArray(3 * voxels, 0, 1, 2), (v) => (v > 0.3 ? 1 : 0))
const weight = new Float32Array(3 * voxels).fill(1)

async function mean(runs: number, f: () => Promise<unknown>): Promise<number> {
  await f()
  const t = performance.now()
  for (let i = 0; i < runs; i++) await f()
  return (performance.now() - t) / runs / 1000
}

console.log(`bench/train: ${values.size} (${[...weights.values()].reduce((n, t) => n + t.data.length, 0) / 1e6}M parameters), patch ${patch.join('x')}, batch 1, CPU provider`)
console.log(`machine: ${cpus()[0]?.model ?? 'cpu'}, ${availableParallelism()} cores; ONNX Runtime threads ${threads ?? 'default'}`)

const network = buildNetwork(config, { patch, batch: 1 })
const forwardFlops = network.flops()
const forward = await Program.create(network, { provider: 'cpu', weights: (n) => weights.get(n)?.data, threads })
const forwardSeconds = await mean(steps, () => forward.run({ [INPUT]: input }))
await forward.dispose()

const rows: { scope: string; trainable: number; build: number; features: number; step: number; flops: number }[] = []
for (const scope of values.scopes.split(',') as Scope[]) {
  const t0 = performance.now()
  const trainer = await Trainer.create({ config, weights, scope, patch, threads })
  const build = (performance.now() - t0) / 1000
  const sample = { input, target, weight }
  const features = await mean(1, () => trainer.prepare(sample))
  const prepared = await trainer.prepare(sample)
  const step = await mean(steps, () => trainer.train([prepared], 1e-4))
  const trainable = trainer.trainable.reduce((n, name) => n + weights.get(name)!.data.length, 0)
  const flops = trainingStepGraphs(config, { patch, batch: 1, scope }).step.flops()
  rows.push({ scope, trainable, build, features, step, flops })
  await trainer.dispose()
}

const pad = (s: string, n: number) => s.padStart(n)
const gflop = (flops: number, seconds: number) => `${pad((flops / 1e9).toFixed(1), 8)}${pad((flops / 1e9 / seconds).toFixed(1), 9)}`
console.log(`\n${'what'.padEnd(22)}${pad('trainable', 11)}${pad('build s', 9)}${pad('features s', 12)}${pad('step s', 9)}${pad('step/fwd', 10)}${pad('GFLOP', 8)}${pad('GFLOP/s', 9)}`)
console.log(`${'forward (inference)'.padEnd(22)}${pad('-', 11)}${pad('-', 9)}${pad('-', 12)}${pad(forwardSeconds.toFixed(2), 9)}${pad('1.00', 10)}${gflop(forwardFlops, forwardSeconds)}`)
for (const r of rows) {
  console.log(
    `${`step: ${r.scope}`.padEnd(22)}${pad(`${(r.trainable / 1e6).toFixed(2)}M`, 11)}${pad(r.build.toFixed(1), 9)}${pad(r.features.toFixed(2), 12)}${pad(r.step.toFixed(2), 9)}${pad((r.step / forwardSeconds).toFixed(2), 10)}${gflop(r.flops, r.step)}`,
  )
}
const decoder = rows.find((r) => r.scope === 'decoder')
if (decoder) {
  const total = decoder.build + 16 * decoder.features + 200 * decoder.step
  console.log(`\n200 decoder-scope steps on ${patch.join('x')} crops (16-sample pool): ${(total / 60).toFixed(1)} min projected (target < 5 min)`)
}
