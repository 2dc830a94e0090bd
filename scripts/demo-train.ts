/**
 * The fine-tuning demonstration, through the app's engine API as the UI drives it: a synthetic EM
 * volume with exact ground truth (engine/io/synthetic.ts, the demo's seed) becomes a project,
 * the active model segments it, a scripted proofreader corrects 20 segments from the ground
 * truth (splits, merges and paint until each equals its object voxel for voxel, then reviews
 * it), the model is fine-tuned on those corrections (a fifth held out), and the project is
 * re-segmented with the new model. Prints the held-out VOI and adapted Rand error before and
 * after, and the whole volume's against the ground truth.
 *
 *   npx tsx scripts/demo-train.ts [--shape 48,512,512] [--seed 1] [--corrections 20] [--steps 200]
 *       [--scope decoder] [--lr 3e-4] [--dir D]
 *       [--model resources/models/tokenunify-tiny-synthetic.safetensors]
 *
 * The model (default: the one scripts/train-default-model.ts trained on other synthetic volumes)
 * joins the project as its first version (train.import) and makes the first segmentation.
 */
import { mkdirSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import type { ApiEvents } from '../src/shared/api'
import type { HeldOutScores, TrainScope } from '../src/shared/api/train'
import type { Box3, Vec3 } from '../src/shared/types'
import { createEngine, type Engine } from '../src/main/engine/api'
import { writeNpy } from '../src/main/engine/io/npy'
import { syntheticVolume } from '../src/main/engine/io/synthetic'
import { defaultModelPath } from '../src/main/engine/model/runnable'
import { evaluate } from '../src/main/engine/segment'
import { seededRandom } from '../src/main/engine/random'

const { values } = parseArgs({
  options: {
    shape: { type: 'string', default: '48,512,512' },
    seed: { type: 'string', default: '1' },
    corrections: { type: 'string', default: '20' },
    steps: { type: 'string', default: '200' },
    scope: { type: 'string', default: 'decoder' },
    lr: { type: 'string', default: '3e-4' },
    dir: { type: 'string' },
    model: { type: 'string', default: defaultModelPath() },
  },
})
const shape = values.shape.split(',').map(Number) as Vec3
const log = (line: string) => process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`)
const whole: Box3 = { start: [0, 0, 0], stop: shape }

async function waitFor(engine: Engine, jobId: string, what: string): Promise<void> {
  let shown = -1
  const off = engine.on('job.update', (j) => {
    if (j.id !== jobId || j.state !== 'running' || Math.floor(j.progress * 10) <= shown) return
    shown = Math.floor(j.progress * 10)
    log(`  ${what}: ${Math.round(100 * j.progress)}% ${j.message}`)
  })
  try {
    for (;;) {
      const job = engine.jobs.get(jobId)
      if (job?.state === 'done') return
      if (job && (job.state === 'failed' || job.state === 'cancelled')) throw new Error(`${what} ${job.state}: ${job.message}`)
      await new Promise((r) => setTimeout(r, 500))
    }
  } finally {
    off()
  }
}

/** The project's current segmentation as a label volume: fragments, voxel edits, assignment. */
async function currentLabels(engine: Engine, fragmentsId: string): Promise<Uint32Array> {
  const frag = (await engine.call('volume.read', { volumeId: fragmentsId, box: whole })).data as Uint32Array
  const edits = await engine.call('project.voxelEdits', { box: whole })
  const current = Uint32Array.from(frag)
  edits.indices.forEach((v, i) => (current[v] = edits.labels[i]))
  const { fragments, segments } = await engine.call('project.assignment', {})
  const segmentOf = new Map<number, number>()
  fragments.forEach((f, i) => segmentOf.set(f, segments[i]))
  return Uint32Array.from(current, (f) => segmentOf.get(f) ?? 0)
}

const scores = (m: Pick<HeldOutScores, 'voi' | 'voiSplit' | 'voiMerge' | 'arand'>) =>
  `VOI ${m.voi.toFixed(4)} (split ${m.voiSplit.toFixed(4)}, merge ${m.voiMerge.toFixed(4)}), ARand ${m.arand.toFixed(4)}`

const dir = values.dir ?? mkdtempSync(join(tmpdir(), 'tokenunify-demo-train-'))
mkdirSync(dir, { recursive: true })
const volume = syntheticVolume({ shape, seed: Number(values.seed) })
const truth = volume.labels.data as Uint32Array
const raw = join(dir, 'raw.npy')
writeNpy(raw, volume.raw.data as Uint8Array, shape)
const engine = createEngine({ mode: 'cli' })
try {
  await engine.call('project.create', { dir: join(dir, 'project'), author: 'demo proofreader' })
  await engine.call('project.addSource', { path: raw, role: 'raw' })
  const image = await engine.call('volume.open', { path: raw })
  log(`synthetic volume ${shape.join('x')} seed ${values.seed}; project in ${join(dir, 'project')}`)

  const version = await engine.call('train.import', { path: values.model, name: 'synthetic default' })
  const first = await engine.call('segment.run', { volumeId: image.id, checkpoint: values.model })
  await waitFor(engine, first.jobId, 'segmentation with the active model')
  const state = (await engine.call('segment.state', {}))!
  const fragmentsId = state.fragments.id
  const model = await engine.call('model.info', { path: values.model })
  log(`model ${model.path} (${model.untrained ? 'UNTRAINED' : 'trained'}, project version ${version.id}): ${state.fragmentCount} fragments, threshold ${state.threshold}, ${(await engine.call('project.info', {})).segments} segments`)
  const beforeWhole = await evaluate({ data: await currentLabels(engine, fragmentsId), shape }, { data: truth, shape })

  // The scripted proofreader: each fragment belongs to the object holding most of its voxels.
  const fragmentData = (await engine.call('volume.read', { volumeId: fragmentsId, box: whole })).data as Uint32Array
  const votes = new Map<number, Map<number, number>>()
  for (let i = 0; i < fragmentData.length; i++) {
    const v = votes.get(fragmentData[i]) ?? votes.set(fragmentData[i], new Map()).get(fragmentData[i])!
    v.set(truth[i], (v.get(truth[i]) ?? 0) + 1)
  }
  const owner = new Map([...votes].map(([f, v]) => [f, [...v].sort((a, b) => b[1] - a[1])[0][0]]))
  const sizes = new Map<number, number>()
  for (const g of truth) sizes.set(g, (sizes.get(g) ?? 0) + 1)
  const random = seededRandom(Number(values.seed) + 11)
  const candidates = [...sizes].filter(([, n]) => n >= 2000).map(([g]) => g).map((g) => ({ g, k: random() })).sort((a, b) => a.k - b.k).map((c) => c.g)
  const current = Uint32Array.from(fragmentData)
  let corrected = 0
  let edits = 0
  for (const g of candidates) {
    if (corrected >= Number(values.corrections)) break
    const mine = [...owner].filter(([, o]) => o === g).map(([f]) => f).filter((f) => f !== 0)
    if (mine.length === 0) continue
    const members = new Set(mine)
    const { segments } = await engine.call('project.segmentOf', { fragments: mine })
    const touched = [...new Set(segments)]
    for (const s of touched) {
      const rest = [...(await engine.call('project.fragmentsOf', { segment: s })).fragments].filter((f) => !members.has(f))
      if (rest.length === 0) continue
      await engine.call('project.split', { segment: s, fragments: rest })
      edits++
    }
    for (const s of touched.slice(1)) {
      await engine.call('project.merge', { keep: touched[0], absorb: s })
      edits++
    }
    // Voxel by voxel: the object's voxels into one of its fragments, other voxels out of them.
    const into: number[] = []
    const out: number[] = []
    for (let i = 0; i < truth.length; i++) {
      if (truth[i] === g && !members.has(current[i])) into.push(i)
      else if (truth[i] !== g && members.has(current[i])) out.push(i)
    }
    if (into.length) {
      await engine.call('project.paint', { indices: Float64Array.from(into), before: Float64Array.from(into, (i) => current[i]), fragment: mine[0] })
      into.forEach((i) => (current[i] = mine[0]))
      edits++
    }
    if (out.length) {
      // Into a new fragment of a new segment (left unreviewed).
      await engine.call('project.paint', { indices: Float64Array.from(out), before: Float64Array.from(out, (i) => current[i]) })
      const edited = await engine.call('project.voxelEdits', { box: whole })
      edited.indices.forEach((v, k) => (current[v] = edited.labels[k]))
      edits++
    }
    await engine.call('project.review', { segments: [touched[0]], reviewed: true })
    corrected++
  }
  log(`proofreader corrected ${corrected} segments to match the ground truth (${edits} edits) and reviewed them`)

  const finished = new Promise<ApiEvents['train.finished']>((resolve) => engine.on('train.finished', resolve))
  engine.on('train.progress', (p) => {
    if (p.step === 1 || p.step % 20 === 0 || p.step === p.steps) log(`  step ${p.step}/${p.steps} loss ${p.loss.toFixed(4)}${p.etaSeconds === null ? '' : ` (${Math.round(p.etaSeconds)} s left)`}`)
  })
  const t0 = performance.now()
  const { jobId } = await engine.call('train.start', { scope: values.scope as TrainScope, steps: Number(values.steps), lr: Number(values.lr), heldOutShare: 0.2 })
  log(`fine-tuning (${values.scope}, ${values.steps} steps) on the corrections, a fifth held out`)
  await waitFor(engine, jobId, 'fine-tuning')
  const end = await finished
  log(`fine-tuning took ${((performance.now() - t0) / 60000).toFixed(1)} min`)
  if (end.state !== 'done' || !end.before || !end.after) throw new Error(`fine-tuning ended ${end.state}${end.error ? `: ${end.error}` : ''}`)
  if (end.resegmentJobId) await waitFor(engine, end.resegmentJobId, 're-segmentation with the fine-tuned model')
  else log(`not re-segmented: ${end.error}`)
  const afterWhole = await evaluate({ data: await currentLabels(engine, fragmentsId), shape }, { data: truth, shape })

  log('results')
  process.stdout.write(`held-out corrections, before: ${scores(end.before)}\n`)
  process.stdout.write(`held-out corrections, after:  ${scores(end.after)}\n`)
  process.stdout.write(`whole volume vs ground truth, first segmentation:          ${scores(beforeWhole)}\n`)
  process.stdout.write(`whole volume vs ground truth, after review + fine-tuning:   ${scores(afterWhole)}\n`)
  process.stdout.write(`held-out VOI ${end.before.voi.toFixed(4)} -> ${end.after.voi.toFixed(4)} (${(end.after.voi - end.before.voi >= 0 ? '+' : '') + (end.after.voi - end.before.voi).toFixed(4)}): ${end.after.voi < end.before.voi - 1e-4 ? 'lowered' : 'NOT lowered'}\n`)
} finally {
  await engine.close()
}
