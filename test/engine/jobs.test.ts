import { describe, expect, it } from 'vitest'
import { CancelledError } from '../../src/shared/errors'
import type { JobInfo } from '../../src/shared/types'
import { JobRunner } from '../../src/main/engine/jobs/runner'

const tick = () => new Promise((r) => setTimeout(r, 60))

describe('JobRunner', () => {
  it('reports progress and the result, ending in state done', async () => {
    const runner = new JobRunner()
    const seen: JobInfo[] = []
    runner.onUpdate((j) => seen.push(j))
    const job = runner.start({
      kind: 't',
      title: 'count',
      run: async (ctx) => {
        for (let i = 1; i <= 3; i++) {
          await tick()
          ctx.progress(i / 3, `step ${i}`)
        }
        return 42
      },
    })
    expect(await job.result).toBe(42)
    expect(seen.map((j) => j.state)).toContain('running')
    const last = seen.at(-1)!
    expect(last.state).toBe('done')
    expect(last.progress).toBe(1)
    expect(seen.some((j) => j.message === 'step 2' && j.progress > 0.6 && j.progress < 0.7)).toBe(true)
  })

  it('cancels a running job at its next progress report', async () => {
    const runner = new JobRunner()
    let steps = 0
    const job = runner.start({
      kind: 't',
      title: 'long',
      run: async (ctx) => {
        for (;;) {
          await tick()
          steps++
          ctx.progress(0.1)
        }
      },
    })
    await tick()
    expect(runner.cancel(job.id)).toBe(true)
    await expect(job.result).rejects.toBeInstanceOf(CancelledError)
    expect(runner.get(job.id)?.state).toBe('cancelled')
    const at = steps
    await tick()
    expect(steps).toBeLessThanOrEqual(at + 1)
  })

  it('reports a failure with its message', async () => {
    const runner = new JobRunner()
    const job = runner.start({
      kind: 't',
      title: 'bad',
      run: async () => {
        throw new Error('disk full')
      },
    })
    await expect(job.result).rejects.toThrow('disk full')
    expect(runner.get(job.id)).toMatchObject({ state: 'failed', error: { message: 'disk full' } })
  })

  it('runs jobs of one lane one at a time, and a queued job can be cancelled before it starts', async () => {
    const runner = new JobRunner()
    const order: string[] = []
    const make = (name: string) =>
      runner.start({
        kind: 't',
        title: name,
        lane: 'gpu',
        run: async () => {
          order.push(`${name}+`)
          await tick()
          order.push(`${name}-`)
          return name
        },
      })
    const a = make('a')
    const b = make('b')
    const c = make('c')
    expect(runner.cancel(b.id)).toBe(true)
    await expect(b.result).rejects.toBeInstanceOf(CancelledError)
    expect(await a.result).toBe('a')
    expect(await c.result).toBe('c')
    expect(order).toEqual(['a+', 'a-', 'c+', 'c-'])
  })
})
