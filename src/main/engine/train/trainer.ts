/**
 * The training state of one model for one scope: the step graph loaded on a provider, the
 * trainable weights with their AdamW moments (two sets of buffers, swapped every step so the
 * runtime writes the new values without allocating), and the frozen feature graph that turns a
 * sample's input into what the step graph reads.
 */
import { StudioError } from '../../../shared/errors'
import type { Vec3 } from '../../../shared/types'
import type { Provider } from '../graph/lower'
import type { Tensor } from '../model/checkpoint'
import type { NetworkConfig } from '../model/config'
import { INPUT } from '../model/network'
import { Executor } from './executor'
import { adamScalars, LOSS, stepNames, TARGET, trainingStepGraphs, WEIGHT, type Scope } from './graphs'

export interface TrainerOptions {
  config: NetworkConfig
  /** Every parameter of the starting model; trainable ones are copied, frozen ones read as they are. */
  weights: ReadonlyMap<string, Tensor>
  scope: Scope
  patch: Vec3
  /** Samples per step. */
  batch?: number
  provider?: Provider
  threads?: number
}

/** What one step reads for one sample: network input or frozen features, affinity target, loss weight. */
export interface Sample {
  /** (1, z, y, x) intensities in [0, 1]. */
  input: Float32Array
  /** (3, z, y, x). */
  target: Float32Array
  /** (3, z, y, x): class balance x loss mask x normalisation. */
  weight: Float32Array
}

/** A sample with its frozen features computed (and its input, when the step itself reads it). */
export interface PreparedSample {
  features: Float32Array[]
  input: Float32Array | null
  target: Float32Array
  weight: Float32Array
}

interface Slot {
  name: string
  shape: number[]
  /** Current and spare buffers of weight, first moment, second moment. */
  w: [Float32Array, Float32Array]
  m: [Float32Array, Float32Array]
  v: [Float32Array, Float32Array]
}

export class Trainer {
  /** Steps taken (AdamW's t). */
  steps = 0
  private current = 0

  private constructor(
    readonly options: TrainerOptions,
    private readonly step: Executor,
    private readonly featureRunner: Executor | null,
    private readonly featureNames: string[],
    private readonly readsInput: boolean,
    private readonly slots: Slot[],
  ) {}

  static async create(options: TrainerOptions): Promise<Trainer> {
    const batch = options.batch ?? 1
    const built = trainingStepGraphs(options.config, { patch: options.patch, batch, scope: options.scope })
    const frozen = (name: string) => options.weights.get(name)?.data
    const features = batch === 1 ? built.features : trainingStepGraphs(options.config, { patch: options.patch, batch: 1, scope: options.scope }).features
    const runOptions = { provider: options.provider ?? ('cpu' as const), weights: frozen, threads: options.threads }
    const step = await Executor.create(built.step, runOptions)
    let featureRunner: Executor | null = null
    try {
      if (features) featureRunner = await Executor.create(features, runOptions)
    } catch (err) {
      await step.dispose()
      throw err
    }
    const slots = built.trainable.map((p) => {
      const start = options.weights.get(p.name)
      if (!start || start.data.length !== p.shape.reduce((a, b) => a * b, 1)) {
        throw new StudioError('bad_input', `training: no weights of shape (${p.shape.join(',')}) for ${p.name}`)
      }
      const n = start.data.length
      return {
        name: p.name,
        shape: p.shape,
        w: [Float32Array.from(start.data), new Float32Array(n)],
        m: [new Float32Array(n), new Float32Array(n)],
        v: [new Float32Array(n), new Float32Array(n)],
      } as Slot
    })
    const readsInput = built.step.inputs.some((v) => v.name === INPUT)
    return new Trainer(options, step, featureRunner, built.featureSpecs.map((f) => f.name), readsInput, slots)
  }

  /** Names of the weights this trainer changes. */
  get trainable(): string[] {
    return this.slots.map((s) => s.name)
  }

  /** Runs the frozen part of the network on one sample (nothing to run when everything trains). */
  async prepare(sample: Sample): Promise<PreparedSample> {
    const input = this.readsInput ? sample.input : null
    if (!this.featureRunner) return { features: [], input, target: sample.target, weight: sample.weight }
    const out = await this.featureRunner.run({ [INPUT]: sample.input })
    return { features: this.featureNames.map((n) => out.get(n)!), input, target: sample.target, weight: sample.weight }
  }

  /** One AdamW step on a batch of prepared samples at learning rate lr; returns the loss before the update. */
  async train(batch: readonly PreparedSample[], lr: number): Promise<number> {
    const size = this.options.batch ?? 1
    if (batch.length !== size) throw new StudioError('internal', `trainer: a step takes ${size} samples, got ${batch.length}`)
    const join = (parts: Float32Array[]) => (parts.length === 1 ? parts[0] : concat(parts))
    const feeds: Record<string, Float32Array> = {
      ...Object.fromEntries(this.featureNames.map((n, k) => [n, join(batch.map((s) => s.features[k]))])),
      ...(this.readsInput ? { [INPUT]: join(batch.map((s) => s.input!)) } : {}),
      [TARGET]: join(batch.map((s) => s.target)),
      [WEIGHT]: join(batch.map((s) => s.weight)),
      ...adamScalars(this.steps + 1, lr),
    }
    const into: Record<string, Float32Array> = {}
    const [now, next] = [this.current, 1 - this.current]
    for (const s of this.slots) {
      const n = stepNames(s.name)
      feeds[n.weight] = s.w[now]
      feeds[n.m] = s.m[now]
      feeds[n.v] = s.v[now]
      into[n.newWeight] = s.w[next]
      into[n.newM] = s.m[next]
      into[n.newV] = s.v[next]
    }
    const out = await this.step.run(feeds, into)
    const loss = out.get(LOSS)![0]
    if (!Number.isFinite(loss)) throw new StudioError('internal', `training diverged: the loss is ${loss} at step ${this.steps + 1}`)
    this.current = next
    this.steps++
    return loss
  }

  /** Every parameter: the trained ones as they are now (copies), the frozen ones as given. */
  weights(): Map<string, Tensor> {
    const out = new Map(this.options.weights)
    for (const s of this.slots) out.set(s.name, { shape: s.shape, data: Float32Array.from(s.w[this.current]) })
    return out
  }

  async dispose(): Promise<void> {
    await Promise.all([this.step.dispose(), this.featureRunner?.dispose()])
  }
}

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}
