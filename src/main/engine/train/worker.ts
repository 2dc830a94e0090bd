/**
 * The training thread (threads.ts): one Trainer and the samples prepared for it, so that
 * training steps do not hold the engine's thread (offthread.ts is the engine's end).
 */
import { serveThread } from '../threads'
import { Trainer, type PreparedSample, type Sample, type TrainerOptions } from './trainer'

serveThread(async (options: TrainerOptions) => {
  const trainer = await Trainer.create(options)
  const prepared = new Map<number, PreparedSample>()
  let next = 0
  const sample = (id: number) => {
    const s = prepared.get(id)
    if (!s) throw new Error(`training thread: no prepared sample ${id}`)
    return s
  }
  return {
    ready: { trainable: trainer.trainable },
    handlers: {
      prepare: async (s: Sample) => {
        prepared.set(next, await trainer.prepare(s))
        return next++
      },
      train: ({ ids, lr }: { ids: number[]; lr: number }) => trainer.train(ids.map(sample), lr),
      release: (ids: number[]) => ids.forEach((id) => prepared.delete(id)),
      trained: () => {
        const all = trainer.weights()
        return trainer.trainable.map((name) => [name, all.get(name)!])
      },
    },
    close: () => trainer.dispose(),
  }
})
