import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { readNpy, writeNpy } from '../../src/main/engine/io/npy'
import { writeGradientFiles } from '../../src/main/engine/train/grad'

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

const out = mkdtempSync(join(tmpdir(), 'tu-grad-'))
afterAll(() => rmSync(out, { recursive: true, force: true }))

describe('gradients match PyTorch autograd on the tiny-a fixture (ORT CPU, native scan backward)', () => {
  it('model grad writes targets, weights, loss and every parameter gradient, as accurate as float32 PyTorch', { timeout: 300_000 }, async () => {
    const meta = JSON.parse(readFileSync(join(DIR, 'meta.json'), 'utf8')) as { n_keys: number; grads: { loss: number; params: string[] } }
    await writeGradientFiles(join(DIR, 'checkpoint.pth'), join(DIR, 'input.npy'), join(DIR, 'grads/labels.npy'), out)
    const read = (name: string) => readNpy(join(out, `${name}.npy`)).data as Float32Array
    expect(readdirSync(out).length).toBe(meta.n_keys + 3)
    expect(read('target')).toEqual(readNpy(join(DIR, 'grads/target_affinities.npy')).data)
    expect(read('weight')).toEqual(readNpy(join(DIR, 'grads/loss_weight.npy')).data)
    expect(Math.abs(read('loss')[0] - meta.grads.loss) / meta.grads.loss).toBeLessThan(1e-5)
    for (const name of meta.grads.params) {
      const pytorch = readNpy(join(DIR, `grads/${name}.npy`)).data as Float32Array
      const exact = readNpy(join(FLOAT64, `${name}.npy`)).data as Float64Array
      const ours = read(name)
      // Deep in the network float32 itself is ~3e-3 from exact (instance norms cancel most of each
      // gradient), for PyTorch as for us: compare with PyTorch, and with the float64 reference
      // relative to PyTorch's own distance from it.
      expect(relativeError(ours, pytorch), `${name} vs PyTorch`).toBeLessThan(name.startsWith('out.') ? 1e-5 : 1e-2)
      expect(relativeError(ours, exact), `${name} vs float64`).toBeLessThan(2 * relativeError(pytorch, exact) + 1e-6)
    }
  })

  it('refuses labels that do not match the input patch, naming the file', async () => {
    const labels = join(out, 'small-labels.npy')
    writeNpy(labels, new Uint32Array(16 * 80 * 40), [16, 80, 40])
    await expect(writeGradientFiles(join(DIR, 'checkpoint.pth'), join(DIR, 'input.npy'), labels, join(out, 'x'))).rejects.toThrow(
      /small-labels\.npy: labels 16x80x40 do not match the input patch 16x80x80/,
    )
  })
})
