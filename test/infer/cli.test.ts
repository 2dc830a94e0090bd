import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as ort from 'onnxruntime-node'
import { afterAll, describe, expect, it } from 'vitest'
import { readNpy, writeNpy } from '../../src/main/engine/io/npy'
import { openVolume } from '../../src/main/engine/io/open'

const ROOT = join(import.meta.dirname, '../..')
const BIN = join(ROOT, 'bin/tokenunify.js')
const FIXTURES = join(ROOT, '../shared/fixtures/tokenunify')
const dir = mkdtempSync(join(tmpdir(), 'tu-infer-cli-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function cli(...args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 120_000 })
}

const maxDiff = (a: Float32Array, b: Float32Array) => {
  expect(a.length).toBe(b.length)
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0)
}

describe('tokenunify infer (built CLI) on one-patch inputs reproduces the official outputs', () => {
  for (const [name, patch] of [['tiny-a', '16,80,80'], ['tiny-b', '16,160,160']] as const) {
    it(`${name}: --out .npy float32 (3, z, y, x) within 1e-4`, () => {
      const out = join(dir, `${name}.npy`)
      const r = cli('infer', '--checkpoint', join(FIXTURES, name, 'checkpoint.pth'), '--input', join(FIXTURES, name, 'input.npy'), '--out', out, '--patch', patch, '--provider', 'cpu')
      expect(r.status, r.stderr).toBe(0)
      expect(r.stderr).toMatch(/provider cpu/)
      expect(r.stderr).toMatch(/100% window 1\/1/)
      const got = readNpy(out)
      expect(got.shape).toEqual([3, ...patch.split(',').map(Number)])
      expect(maxDiff(got.data as Float32Array, readNpy(join(FIXTURES, name, 'output.npy')).data as Float32Array)).toBeLessThanOrEqual(1e-4)
    })
  }

  it('writes uint8 affinities to a chunked Zarr with the bundled (trained) model', async () => {
    const input = join(dir, 'vol.npy')
    writeNpy(input, Uint8Array.from({ length: 20 * 90 * 100 }, (_, i) => (i * 7919) % 256), [20, 90, 100])
    const out = join(dir, 'aff.zarr')
    const r = cli('infer', '--input', input, '--out', out, '--patch', '16,80,80', '--batch', '2', '--provider', 'cpu')
    expect(r.status, r.stderr).toBe(0)
    expect(r.stderr).toMatch(/tokenunify-tiny-synthetic\.safetensors/)
    expect(r.stderr).not.toMatch(/UNTRAINED/)
    expect(r.stderr).toMatch(/8 windows in 4 runs/)
    const z = await openVolume(out, { channel: 2 })
    expect(z.shape).toEqual([20, 90, 100])
    expect(z.dtype).toBe('uint8')
    const plane = (await z.read({ start: [19, 0, 0], stop: [20, 90, 100] })) as Uint8Array
    expect(new Set(plane).size).toBeGreaterThan(10)
    await z.close()
  })

  it('model init writes fresh official weights that info and infer call UNTRAINED', () => {
    const weights = join(dir, 'fresh.safetensors')
    expect(cli('model', 'init', '--feat', '8,16,32,64', '--hidden', '128', '--seed', '3', '--out', weights).status).toBe(0)
    const info = cli('model', 'info', '--checkpoint', weights)
    expect(info.stdout).toMatch(/UNTRAINED/)
    const input = join(dir, 'small.npy')
    writeNpy(input, new Uint8Array(16 * 80 * 80).fill(120), [16, 80, 80])
    const r = cli('infer', '--checkpoint', weights, '--input', input, '--out', join(dir, 'fresh.npy'), '--patch', '16,80,80', '--provider', 'cpu')
    expect(r.status, r.stderr).toBe(0)
    expect(r.stderr).toMatch(/UNTRAINED/)
  })

  it('stops on Ctrl+C (SIGINT) and removes the partial output', async () => {
    const input = join(dir, 'long.npy')
    writeNpy(input, new Uint8Array(40 * 80 * 240).fill(90), [40, 80, 240])
    const out = join(dir, 'cancelled.zarr')
    const child = spawn(process.execPath, [BIN, 'infer', '--input', input, '--out', out, '--patch', '16,80,80', '--provider', 'cpu'], { stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    let sent = false
    const code = await new Promise<number | null>((resolve) => {
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString()
        // One Ctrl+C cancels; a second one would end the process at once.
        if (!sent && /% window/.test(stderr)) sent = child.kill('SIGINT')
      })
      child.once('exit', (c) => resolve(c))
    })
    expect(code).toBe(1)
    expect(stderr).toMatch(/cancelled/)
    expect(existsSync(out)).toBe(false)
  })

  it('refuses a checkpoint of another size than --size, listing the differences', () => {
    const r = cli('infer', '--checkpoint', join(FIXTURES, 'tiny-a', 'checkpoint.pth'), '--input', join(FIXTURES, 'tiny-a', 'input.npy'), '--out', join(dir, 'x.npy'), '--size', 'base')
    expect(r.status).toBe(1)
    expect(r.stderr).toMatch(/vit\.downsample_layers\.0\.0\.weight/)
  })
})

describe('tokenunify model export-onnx', () => {
  it('writes a self-contained ONNX graph that plain ONNX Runtime runs to the official output', async () => {
    const file = join(dir, 'tiny-a.onnx')
    const r = cli('model', 'export-onnx', '--checkpoint', join(FIXTURES, 'tiny-a', 'checkpoint.pth'), '--out', file, '--patch', '16,80,80')
    expect(r.status, r.stderr).toBe(0)
    const session = await ort.InferenceSession.create(file)
    expect(session.inputNames).toEqual(['input'])
    const input = readNpy(join(FIXTURES, 'tiny-a', 'input.npy'))
    const out = await session.run({ input: new ort.Tensor('float32', input.data as Float32Array, input.shape) })
    expect(maxDiff(out.affinities.data as Float32Array, readNpy(join(FIXTURES, 'tiny-a', 'output.npy')).data as Float32Array)).toBeLessThanOrEqual(1e-4)
  })
})
