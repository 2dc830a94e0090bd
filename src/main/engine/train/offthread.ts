/**
 * A Trainer (trainer.ts) on a thread of its own (worker.ts, threads.ts). Prepared samples stay on
 * that thread (a base model's frozen features are tens of MB) and are named by handles here.
 */
import type { Tensor } from '../model/checkpoint'
import { ThreadClient } from '../threads'
import type { Sample, TrainerOptions } from './trainer'

/** A sample prepared on the training thread. */
export type SampleHandle = number

export class ThreadTrainer {
  private constructor(
    private readonly client: ThreadClient,
    private readonly start: ReadonlyMap<string, Tensor>,
    /** Names of the weights this trainer changes. */
    readonly trainable: string[],
  ) {}

  static async create(options: TrainerOptions): Promise<ThreadTrainer> {
    const { client, ready } = await ThreadClient.start<{ trainable: string[] }>('train-worker', options, `training (${options.scope} scope)`)
    return new ThreadTrainer(client, options.weights, ready.trainable)
  }

  /** Runs the frozen part on one sample and keeps the result on the thread. */
  prepare(sample: Sample): Promise<SampleHandle> {
    return this.client.call('prepare', sample)
  }

  /** One AdamW step (Trainer.train) on prepared samples; returns the loss before the update. */
  train(samples: readonly SampleHandle[], lr: number): Promise<number> {
    return this.client.call('train', { ids: samples, lr })
  }

  /** Forgets prepared samples that will not be used again. */
  release(samples: readonly SampleHandle[]): Promise<void> {
    return this.client.call('release', samples)
  }

  /** Every parameter: the trained ones as they are now, the frozen ones as given. */
  async weights(): Promise<Map<string, Tensor>> {
    const trained = await this.client.call<[string, Tensor][]>('trained')
    return new Map([...this.start, ...trained])
  }

  dispose(): Promise<void> {
    return this.client.close()
  }
}
