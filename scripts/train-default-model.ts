/**
 * The recipe of the default model bundled in resources/models: the small TokenUnify network
 * (feat_size 8,16,32,64, hidden_size 128, the official architecture otherwise) trained from the
 * official random initialisation (seed 0) with this app's own training engine on synthetic EM with
 * exact ground truth (engine/io/synthetic.ts), so the app segments sensibly out of the box.
 *
 *   npx tsx scripts/train-default-model.ts [--steps 1000] [--minutes 110] [--lr 1e-3] [--threads N]
 *       [--init F.safetensors] [--out resources/models/tokenunify-tiny-synthetic.safetensors]
 *
 * Everything trains (scope 'all'), AdamW (betas 0.9/0.95, weight decay 0.05), half-cosine learning
 * rate to lr/100, batch 1, 16x80x80 crops at random places of four synthetic volumes with flips,
 * transposes and intensity jitter, the official weighted MSE on every edge. A fifth volume (never
 * trained on) is segmented before and after: its VOI and adapted Rand error go into the file's
 * description, and the agglomeration threshold with the lowest VOI on it into the file's
 * metadata (segmentations start there). Weights are saved every 100 steps; --minutes stops early
 * at a step boundary. With --init a trained file, training continues from it (a new schedule) and
 * the description says so; with --init and --steps 0 the file is only re-calibrated.
 */
import { existsSync, renameSync } from 'node:fs'
import { parseArgs } from 'node:util'
import type { Vec3 } from '../src/shared/types'
import { syntheticVolume } from '../src/main/engine/io/synthetic'
import { loadCheckpoint, type Tensor } from '../src/main/engine/model/checkpoint'
import { sizeConfig, type NetworkConfig } from '../src/main/engine/model/config'
import { initialWeights } from '../src/main/engine/model/init'
import { defaultModelPath, META_DESCRIPTION, META_UNTRAINED } from '../src/main/engine/model/runnable'
import { seededRandom } from '../src/main/engine/random'
import { LabelledData } from '../src/main/engine/train/corrections'
import { calibrateThreshold, scoreModel, THRESHOLD_CANDIDATES, type HeldOutMetrics } from '../src/main/engine/train/evaluate'
import { Trainer } from '../src/main/engine/train/trainer'
import { saveWeights } from '../src/main/engine/train/versions'

const { values } = parseArgs({
  options: {
    steps: { type: 'string', default: '1000' },
    minutes: { type: 'string', default: '110' },
    lr: { type: 'string', default: '1e-3' },
    threads: { type: 'string' },
    init: { type: 'string' },
    out: { type: 'string', default: defaultModelPath() },
  },
})
const steps = Number(values.steps)
const deadline = Date.now() + Number(values.minutes) * 60_000
const lr = Number(values.lr)
const threads = values.threads === undefined ? undefined : Number(values.threads)
const PATCH: Vec3 = [16, 80, 80]
const TINY: NetworkConfig = { ...sizeConfig('base'), featSize: [8, 16, 32, 64], hiddenSize: 128 }
const log = (line: string) => process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`)

const start: { config: NetworkConfig; weights: Map<string, Tensor>; description: string } = values.init
  ? await loadCheckpoint(values.init).then((c) => ({
      config: c.config,
      weights: c.weights,
      description: c.meta.metadata?.[META_UNTRAINED] === 'true' ? 'untrained' : (c.meta.metadata?.[META_DESCRIPTION] ?? values.init!),
    }))
  : { config: TINY, weights: initialWeights(TINY, 0), description: 'untrained' }
log(`init ${values.init ?? 'official random initialisation, seed 0'}: feat ${start.config.featSize.join(',')}, hidden ${start.config.hiddenSize}`)
const volumes = [101, 102, 103, 104].map((seed) => syntheticVolume({ shape: [32, 256, 256], seed }))
const data = volumes.map((v) => new LabelledData(v.raw, v.labels))
const check = syntheticVolume({ shape: [32, 192, 192], seed: 999 })
const region = { box: { start: [0, 0, 0] as Vec3, stop: check.raw.shape }, image: check.raw, truth: check.labels.data as Uint32Array }
const text = (m: HeldOutMetrics) => `VOI ${m.voi.toFixed(3)} (split ${m.voiSplit.toFixed(3)}, merge ${m.voiMerge.toFixed(3)}), ARand ${m.arand.toFixed(3)}`

const trainer = await Trainer.create({ config: start.config, weights: start.weights, scope: 'all', patch: PATCH, threads })
const partial = `${values.out}.partial`
const save = (description: string, threshold?: number) => saveWeights(partial, start.config, trainer.weights(), { description, threshold })
await save('scoring')
const before = await scoreModel(region, partial, { threads })
log(`validation volume before training: ${text(before)}`)
const random = seededRandom(7)
let recent: number[] = []
let done = 0
for (let step = 1; step <= steps && Date.now() < deadline; step++) {
  const rate = lr / 100 + 0.5 * (lr - lr / 100) * (1 + Math.cos((Math.PI * (step - 1)) / steps))
  const sample = await data[Math.floor(random() * data.length)].sample(PATCH, random)
  recent.push(await trainer.train([await trainer.prepare(sample)], rate))
  done = step
  if (step % 10 === 0) {
    log(`step ${step}/${steps} lr ${rate.toExponential(2)} loss ${(recent.reduce((a, b) => a + b, 0) / recent.length).toFixed(4)}`)
    recent = []
  }
  if (step % 100 === 0) await save(`partial: step ${step} of scripts/train-default-model.ts`)
}
await save('calibrating')
const { threshold, scores } = await calibrateThreshold(region, partial, THRESHOLD_CANDIDATES, { threads })
for (const s of scores) log(`  threshold ${s.threshold.toFixed(2)}: ${text(s.metrics)}`)
const after = scores.find((s) => s.threshold === threshold)!.metrics
log(`validation volume after ${done} steps, at the calibrated threshold ${threshold}: ${text(after)}`)
await save(
  done === 0
    ? `${start.description}; threshold ${threshold} calibrated on a synthetic validation volume (${text(after)})`
    : `trained by scripts/train-default-model.ts with this app's engine on synthetic EM: ${done} steps (scope all, 16x80x80 crops, AdamW lr ${lr}); ` +
        `a synthetic validation volume goes from ${text(before)} ${start.description === 'untrained' ? 'untrained' : `before (${start.description})`} ` +
        `to ${text(after)} at the calibrated threshold ${threshold}`,
  threshold,
)
await trainer.dispose()
if (existsSync(values.out)) log(`replacing ${values.out}`)
renameSync(partial, values.out)
log(`wrote ${values.out}`)
