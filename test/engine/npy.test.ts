import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { readNpy, readNpyHeader, writeNpy } from '../../src/main/engine/io/npy'

const FIXTURE = join(__dirname, '../../../shared/fixtures/tokenunify/tiny-a')

describe('npy', () => {
  it('reads the reference input written by NumPy', () => {
    const x = readNpy(join(FIXTURE, 'input.npy'))
    expect(x.dtype).toBe('float32')
    expect(x.shape).toEqual([1, 1, 16, 80, 80])
    // The input is raw uint8 / 255: every value is a multiple of 1/255 in [0, 1].
    const v = x.data as Float32Array
    for (let i = 0; i < v.length; i += 97) expect(Math.abs(v[i] * 255 - Math.round(v[i] * 255))).toBeLessThan(1e-4)
    expect(readNpyHeader(join(FIXTURE, 'grads/labels.npy'))).toMatchObject({ dtype: 'uint32', shape: [16, 80, 80] })
  })

  it('round-trips what it writes, and names the file of a broken one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tu-npy-'))
    const f = join(dir, 'a.npy')
    writeNpy(f, BigUint64Array.from([1n, 2n ** 40n, 3n, 4n, 5n, 6n]), [2, 3])
    const back = readNpy(f)
    expect(back).toMatchObject({ dtype: 'uint64', shape: [2, 3] })
    expect(back.data[1]).toBe(2n ** 40n)
    writeFileSync(join(dir, 'bad.npy'), 'hello')
    expect(() => readNpy(join(dir, 'bad.npy'))).toThrow(/bad\.npy: not a readable \.npy file/)
    expect(() => readNpy(join(dir, 'missing.npy'))).toThrow(/missing\.npy: cannot read/)
  })
})
