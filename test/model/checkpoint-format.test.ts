import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { openTensorFile, saveSafetensors } from '../../src/main/engine/model/checkpoint'
import { writePth } from '../fixtures/checkpoint/write-pth'

const HERE = join(__dirname, '../fixtures/checkpoint')
/** What PyTorch reads from tensors.pth (make_checkpoints.py). */
const EXPECTED: Record<string, { shape: number[]; dtype: string; values: number[] }> = JSON.parse(
  readFileSync(join(HERE, 'tensors.json'), 'utf8'),
  (_key, v) => (v === 'inf' ? Infinity : v === '-inf' ? -Infinity : v),
)
const dir = mkdtempSync(join(tmpdir(), 'tu-ckpt-format-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

async function readAll(file: string) {
  const f = await openTensorFile(file)
  try {
    const out = new Map<string, { dtype: string; shape: number[]; values: number[] }>()
    for (const t of f.tensors) out.set(t.name, { dtype: t.dtype, shape: t.shape, values: Array.from(await f.read(t.name)) })
    return { meta: f.meta, format: f.format, tensors: out }
  } finally {
    await f.close()
  }
}

describe('.pth tensors', () => {
  for (const file of ['tensors.pth', 'protocol4.pth', 'deflated.pth', 'zip64.pth']) {
    it(`${file}: every dtype and view gives the float32 values PyTorch gives`, async () => {
      const { meta, tensors } = await readAll(join(HERE, file))
      expect(meta).toEqual({ wrapper: 'state_dict', otherEntries: ['epoch'], epoch: 3 })
      expect([...tensors.keys()]).toEqual(Object.keys(EXPECTED))
      for (const [name, want] of Object.entries(EXPECTED)) {
        const got = tensors.get(name)!
        expect({ name, dtype: got.dtype, shape: got.shape }).toEqual({ name, dtype: want.dtype, shape: want.shape })
        // Exact: float16 and bfloat16 widen to float32 without rounding.
        expect(got.values).toEqual(want.values.map(Math.fround))
      }
    })
  }

  it('takes the model of a training checkpoint, skipping optimizer, scaler and args unbuilt', async () => {
    const { meta, tensors } = await readAll(join(HERE, 'training.pth'))
    expect(meta).toEqual({ wrapper: 'model', otherEntries: ['optimizer', 'epoch', 'scaler', 'args'], epoch: 2 })
    expect([...tensors].map(([name, t]) => [name, t.shape])).toEqual([
      ['0.weight', [4, 1, 3, 3, 3]],
      ['0.bias', [4]],
      ['2.weight', [3, 4, 1, 1, 1]],
      ['2.bias', [3]],
    ])
  })

  it('reads storages that lie past 4 GB in a zip64 archive', async () => {
    const file = join(dir, 'beyond-4gb.pth')
    const a = { shape: [3, 5], data: Float32Array.from({ length: 15 }, (_, i) => i / 7) }
    const b = { shape: [], data: Float32Array.from([-2.5]) }
    // The hole is sparse: the file is over 4 GB long but takes no disk space.
    writePth(file, [['a', a], ['b', b]], { holeBytes: 2 ** 32 + 12_345 })
    try {
      expect(statSync(file).size).toBeGreaterThan(2 ** 32)
      const { tensors } = await readAll(file)
      expect(tensors.get('a')).toEqual({ dtype: 'float32', shape: [3, 5], values: Array.from(a.data) })
      expect(tensors.get('b')).toEqual({ dtype: 'float32', shape: [], values: [-2.5] })
    } finally {
      rmSync(file)
    }
  })

  it('names the file and the problem of a broken archive', async () => {
    const full = readFileSync(join(HERE, 'tensors.pth'))
    const truncated = join(dir, 'truncated.pth')
    writeFileSync(truncated, full.subarray(0, full.length - 200))
    await expect(openTensorFile(truncated)).rejects.toThrow(`${truncated}: broken zip archive: no end-of-central-directory record`)
    const notZip = join(dir, 'notes.txt')
    writeFileSync(notZip, 'not a checkpoint at all')
    await expect(openTensorFile(notZip)).rejects.toThrow(`${notZip} is neither a PyTorch checkpoint (.pth) nor a safetensors file`)
    await expect(openTensorFile(join(dir, 'absent.pth'))).rejects.toMatchObject({ code: 'not_found' })
  })
})

describe('safetensors', () => {
  /** A file made by hand to the format's specification, with 16-bit dtypes. */
  function handMade(file: string, header: object, data: number[]) {
    const json = Buffer.from(JSON.stringify(header))
    const length = Buffer.alloc(8)
    length.writeBigUInt64LE(BigInt(json.length))
    writeFileSync(file, Buffer.concat([length, json, Buffer.from(Uint16Array.from(data).buffer)]))
  }

  it('reads float16 and bfloat16 as float32, in data order, with metadata', async () => {
    const file = join(dir, 'half.safetensors')
    handMade(
      file,
      {
        bf: { dtype: 'BF16', shape: [2], data_offsets: [4, 8] },
        h: { dtype: 'F16', shape: [1, 2], data_offsets: [0, 4] },
        __metadata__: { format: 'pt' },
      },
      [0x3c00, 0xc000, 0x3f80, 0x4049], // f16 1, -2; bf16 1, 3.140625
    )
    const { tensors, meta, format } = await readAll(file)
    expect(format).toBe('safetensors')
    expect(meta).toEqual({ metadata: { format: 'pt' } })
    expect([...tensors]).toEqual([
      ['h', { dtype: 'float16', shape: [1, 2], values: [1, -2] }],
      ['bf', { dtype: 'bfloat16', shape: [2], values: [1, 3.140625] }],
    ])
  })

  it('writes what it reads, 8-byte aligned, and refuses a broken header', async () => {
    const file = join(dir, 'w.safetensors')
    const x = { shape: [2, 2], data: Float32Array.from([1, 2, 3, 4]) }
    await saveSafetensors(file, [['x', x]])
    const bytes = readFileSync(file)
    const headerLength = Number(bytes.readBigUInt64LE(0))
    expect((8 + headerLength) % 8).toBe(0)
    expect(JSON.parse(bytes.subarray(8, 8 + headerLength).toString())).toEqual({ x: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 16] } })
    expect((await readAll(file)).tensors.get('x')?.values).toEqual([1, 2, 3, 4])

    await expect(saveSafetensors(file, [['y', { shape: [3], data: new Float32Array(2) }]])).rejects.toThrow(/tensor y has 2 values, shape \(3\) needs 3/)
    const short = join(dir, 'short.safetensors')
    writeFileSync(short, bytes.subarray(0, bytes.length - 4))
    await expect(openTensorFile(short)).rejects.toThrow(`${short}: not a readable safetensors file: tensor x runs past the end of the file (truncated?)`)
  })
})
