import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadCheckpoint, openCheckpoint, saveSafetensors } from '../../src/main/engine/model/checkpoint'
import { paramSpecs } from '../../src/main/engine/model/params'

const FIXTURES = join(__dirname, '../../../shared/fixtures/tokenunify')
const TINY_A = join(FIXTURES, 'tiny-a/checkpoint.pth')
const TINY_B = join(FIXTURES, 'tiny-b/checkpoint.pth')

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

  it('round-trips through safetensors', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tu-ckpt-'))
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
