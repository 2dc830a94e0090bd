import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { readNpy } from '../../src/main/engine/io/npy'
import { loadCheckpoint } from '../../src/main/engine/model/checkpoint'
import { computeGradients } from '../../src/main/engine/train/grad'

const DIR = join(__dirname, '../../../shared/fixtures/tokenunify/tiny-a')
/** The same gradients in float64 (test/fixtures/autodiff/make_float64_grads.py). */
const FLOAT64 = join(__dirname, '../fixtures/autodiff/float64')

/** ||a - b|| / ||b||, the relative error of a whole tensor. */
function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length)
  let diff = 0
  let norm = 0
  for (let i = 0; i < a.length; i++) {
    diff += (a[i] - b[i]) ** 2
    norm += b[i] ** 2
  }
  return Math.sqrt(diff / norm)
}

describe('gradients match PyTorch autograd on the tiny-a fixture (ORT CPU, native scan backward)', () => {
  it('targets, weights, loss and every listed parameter gradient, as accurate as float32 PyTorch', async () => {
    const meta = JSON.parse(readFileSync(join(DIR, 'meta.json'), 'utf8')) as { grads: { loss: number; params: string[] } }
    const checkpoint = await loadCheckpoint(join(DIR, 'checkpoint.pth'))
    const input = readNpy(join(DIR, 'input.npy')).data as Float32Array
    const labels = readNpy(join(DIR, 'grads/labels.npy')).data as Uint32Array
    const result = await computeGradients(checkpoint.config, (n) => checkpoint.weights.get(n)?.data, input, labels, [16, 80, 80], {
      params: meta.grads.params,
    })
    expect(result.target).toEqual(readNpy(join(DIR, 'grads/target_affinities.npy')).data)
    expect(result.weight).toEqual(readNpy(join(DIR, 'grads/loss_weight.npy')).data)
    expect(Math.abs(result.loss - meta.grads.loss) / meta.grads.loss).toBeLessThan(1e-5)
    expect([...result.grads.keys()].sort()).toEqual([...meta.grads.params].sort())
    for (const name of meta.grads.params) {
      const pytorch = readNpy(join(DIR, `grads/${name}.npy`)).data as Float32Array
      const exact = readNpy(join(FLOAT64, `${name}.npy`)).data as Float64Array
      const ours = result.grads.get(name)!
      // Deep in the network float32 itself is ~3e-3 from exact (instance norms cancel most of each
      // gradient), for PyTorch as for us: compare with PyTorch, and with the float64 reference
      // relative to PyTorch's own distance from it.
      expect(relativeError(ours, pytorch), `${name} vs PyTorch`).toBeLessThan(name.startsWith('out.') ? 1e-5 : 1e-2)
      expect(relativeError(ours, exact), `${name} vs float64`).toBeLessThan(3 * relativeError(pytorch, exact) + 1e-6)
    }
  })
})
