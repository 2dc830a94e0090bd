import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { CheckpointMismatchError, inferConfig, loadCheckpoint, openCheckpoint, saveSafetensors, type Tensor } from '../../src/main/engine/model/checkpoint'
import { SIZES, sizeConfig, type NetworkConfig, type SizeName } from '../../src/main/engine/model/config'
import { paramSpecs } from '../../src/main/engine/model/params'
import { writePth } from '../fixtures/checkpoint/write-pth'

const FIXTURES = join(__dirname, '../../../shared/fixtures/tokenunify')
const TINY_A = join(FIXTURES, 'tiny-a/checkpoint.pth')
const TINY_B = join(FIXTURES, 'tiny-b/checkpoint.pth')
/** Values PyTorch reads from the shared checkpoints (make_checkpoints.py). */
const SPOTS: Record<string, Record<string, { shape: number[]; index: number[]; values: number[]; sum: number }>> = JSON.parse(
  readFileSync(join(__dirname, '../fixtures/checkpoint/spot-values.json'), 'utf8'),
)

const dir = mkdtempSync(join(tmpdir(), 'tu-ckpt-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('TokenUnify checkpoints', () => {
  it('loads tiny-a (a {model, optimizer, epoch, scaler, args} wrapper) with the exact keys, shapes and config', async () => {
    const c = await loadCheckpoint(TINY_A)
    expect(c.format).toBe('pth')
    expect(c.config).toEqual({
      inChannels: 1,
      outChannels: 3,
      featSize: [8, 16, 32, 64],
      hiddenSize: 128,
      depths: [2, 2, 2, 2],
      kernelSize: [1, 5, 5],
      dState: 16,
      dConv: 4,
      expand: 2,
      nSlices: 5,
    })
    expect(c.size).toBeUndefined()
    expect(c.meta).toEqual({ wrapper: 'model', otherEntries: ['optimizer', 'epoch', 'scaler', 'args'], epoch: 7 })
    const specs = paramSpecs(c.config)
    expect([...c.weights.keys()]).toEqual(specs.map((s) => s.name))
    for (const s of specs) {
      const w = c.weights.get(s.name)!
      expect(w.shape).toEqual(s.shape)
      expect(w.data.length).toBe(s.shape.reduce((a, b) => a * b, 1))
    }
  })

  it('loads tiny-b (a bare state_dict with module. prefixes) under the official names', async () => {
    const c = await loadCheckpoint(TINY_B)
    expect(c.config.featSize).toEqual([16, 32, 64, 128])
    expect(c.config.hiddenSize).toBe(256)
    expect(c.meta).toEqual({ wrapper: 'none', strippedPrefix: 'module.' })
    expect([...c.weights.keys()]).toEqual(paramSpecs(c.config).map((s) => s.name))
  })

  it('reads the values PyTorch reads', async () => {
    for (const [fixture, file] of [
      ['tiny-a', TINY_A],
      ['tiny-b', TINY_B],
    ]) {
      const { weights } = await loadCheckpoint(file)
      for (const [name, spot] of Object.entries(SPOTS[fixture])) {
        const w = weights.get(name)!
        expect(w.shape).toEqual(spot.shape)
        // float32 values printed as float64 by Python: exact after rounding to float32.
        expect(spot.index.map((i) => w.data[i])).toEqual(spot.values.map(Math.fround))
        expect(w.data.reduce((a, b) => a + b, 0)).toBeCloseTo(spot.sum, 3)
      }
    }
  })

  it("finds the state_dict under a 'state_dict' entry too", async () => {
    const file = join(dir, 'wrapped.pth')
    const { weights } = await loadCheckpoint(TINY_A)
    writePth(file, weights, { wrapper: 'state_dict' })
    const c = await loadCheckpoint(file)
    expect(c.meta).toEqual({ wrapper: 'state_dict', otherEntries: ['epoch'], epoch: 1 })
    expect(c.weights.get('out.conv.conv.bias')!.data).toEqual(weights.get('out.conv.conv.bias')!.data)
  })

  it('lists every missing, unexpected and mismatched key of a checkpoint that does not fit', async () => {
    const file = join(dir, 'edited.pth')
    const { weights } = await loadCheckpoint(TINY_A)
    const edited = new Map<string, Tensor>(weights)
    edited.delete('vit.stages.2.1.mamba.D_b')
    edited.delete('decoder1.layer.conv2.conv.weight')
    edited.set('vit.stages.0.0.mamba.in_proj.bias', { shape: [32], data: new Float32Array(32) })
    edited.set('encoder3.layer.conv1.conv.weight', { shape: [32, 16, 1, 3, 3], data: new Float32Array(32 * 16 * 9) })
    writePth(file, edited)
    const err = await loadCheckpoint(file).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(CheckpointMismatchError)
    const mismatch = err as CheckpointMismatchError
    expect(mismatch.code).toBe('bad_input')
    expect(mismatch.file).toBe(file)
    expect(mismatch.missing).toEqual(['vit.stages.2.1.mamba.D_b', 'decoder1.layer.conv2.conv.weight'])
    expect(mismatch.unexpected).toEqual(['vit.stages.0.0.mamba.in_proj.bias'])
    expect(mismatch.mismatched).toEqual([{ name: 'encoder3.layer.conv1.conv.weight', expected: [32, 16, 1, 5, 5], found: [32, 16, 1, 3, 3] }])
    expect(mismatch.message).toBe(
      `${file} does not match the TokenUnify network (compared with feat_size [8, 16, 32, 64], hidden_size 128, depths [2, 2, 2, 2]): ` +
        '2 missing keys: vit.stages.2.1.mamba.D_b, decoder1.layer.conv2.conv.weight; ' +
        '1 unexpected keys: vit.stages.0.0.mamba.in_proj.bias; ' +
        '1 shape mismatches: encoder3.layer.conv1.conv.weight (expected (32, 16, 1, 5, 5), found (32, 16, 1, 3, 3))',
    )
  })

  it('infers each published size, and a custom config, from the shapes alone', () => {
    for (const size of Object.keys(SIZES) as SizeName[]) {
      const config = sizeConfig(size)
      expect(inferConfig(new Map(paramSpecs(config).map((s) => [s.name, s.shape])))).toEqual(config)
    }
    const config: NetworkConfig = { ...sizeConfig('base'), featSize: [24, 40, 80, 160], hiddenSize: 320, depths: [1, 3, 2, 2], dState: 8, dConv: 3, expand: 3 }
    expect(inferConfig(new Map(paramSpecs(config).map((s) => [s.name, s.shape])))).toEqual(config)
  })

  it('validates against a given config instead of the inferred one', async () => {
    await expect(loadCheckpoint(TINY_A, { config: sizeConfig('base') })).rejects.toThrow(
      /tiny-a\/checkpoint\.pth does not match the TokenUnify network \(compared with size base\): 290 shape mismatches: vit\.downsample_layers\.0\.0\.weight \(expected \(32, 1, 1, 7, 7\), found \(8, 1, 1, 7, 7\)\)/,
    )
  })

  it('round-trips through safetensors', async () => {
    const a = await loadCheckpoint(TINY_A)
    const file = join(dir, 'tiny-a.safetensors')
    await saveSafetensors(file, a.weights, { metadata: { note: 'round trip' } })
    const b = await loadCheckpoint(file)
    expect(b.format).toBe('safetensors')
    expect(b.config).toEqual(a.config)
    expect(b.meta).toEqual({ metadata: { note: 'round trip' } })
    for (const [name, w] of a.weights) {
      const back = b.weights.get(name)!
      expect(back.shape).toEqual(w.shape)
      expect(Buffer.from(back.data.buffer, back.data.byteOffset, back.data.byteLength).equals(Buffer.from(w.data.buffer, w.data.byteOffset, w.data.byteLength))).toBe(true)
    }
  })

  it('reads lazily, one tensor at a time, by official name', async () => {
    const c = await openCheckpoint(TINY_B)
    try {
      const first = await c.tensors().next()
      expect(first.value?.[0]).toBe('vit.downsample_layers.0.0.weight')
      expect(first.value?.[1].shape).toEqual([16, 1, 1, 7, 7])
      const bias = await c.read('out.conv.conv.bias')
      expect(bias).toHaveLength(3)
      await expect(c.read('module.out.conv.conv.bias')).rejects.toThrow(/has no parameter module\.out\.conv\.conv\.bias/)
    } finally {
      await c.close()
    }
  })
})
