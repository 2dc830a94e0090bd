/** Bad input: each case fails fast with a StudioError that names the file and the problem. */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { openVolume } from '../../src/main/engine/io/open'
import { StudioError } from '../../src/shared/errors'
import { fixture } from './helpers'

async function failure(path: string, options?: Parameters<typeof openVolume>[1]): Promise<StudioError> {
  try {
    const v = await openVolume(path, options)
    // Some damage only shows when the data is read.
    await v.read({ start: [0, 0, 0], stop: v.shape }).finally(() => v.close())
  } catch (err) {
    expect(err).toBeInstanceOf(StudioError)
    return err as StudioError
  }
  throw new Error(`${path} opened and read without an error`)
}

const tmp = mkdtempSync(join(tmpdir(), 'tu-io-errors-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

describe('bad input gets a clear error naming the file', () => {
  it('a path that does not exist', async () => {
    const err = await failure(join(tmp, 'nowhere.tif'))
    expect(err.code).toBe('not_found')
    expect(err.message).toBe(`${join(tmp, 'nowhere.tif')}: no such file or folder`)
    expect(err.file).toBe(join(tmp, 'nowhere.tif'))
  })

  it('a truncated TIFF', async () => {
    const err = await failure(fixture('truncated.tif'))
    expect(err.code).toBe('bad_format')
    expect(err.message).toMatch(/truncated\.tif: .*truncated/)
    expect(err.file).toBe(fixture('truncated.tif'))
  })

  it('a TIFF whose first IFD points past the end of the file', async () => {
    const err = await failure(fixture('corrupt.tif'))
    expect(err.code).toBe('bad_format')
    expect(err.message).toMatch(/corrupt\.tif: not a readable TIFF/)
  })

  it('a TIFF whose pixel data is cut off while its IFDs are intact', async () => {
    // A single-page TIFF holds its IFD before its data: cutting the data leaves a valid IFD.
    const whole = readFileSync(fixture('slices_tif/section_0.tif'))
    const file = join(tmp, 'short-data.tif')
    writeFileSync(file, whole.subarray(0, whole.length - 100))
    const err = await failure(file)
    expect(err.code).toBe('bad_format')
    expect(err.message).toMatch(/short-data\.tif: truncated: page 0 needs bytes up to \d+, the file has \d+/)
  })

  it('an ImageJ stack over 4 GB (one IFD, contiguous pages) that is cut short', async () => {
    const whole = readFileSync(fixture('imagej_contiguous.tif'))
    const file = join(tmp, 'short-imagej.tif')
    writeFileSync(file, whole.subarray(0, whole.length / 2))
    const err = await failure(file)
    expect(err.code).toBe('bad_format')
    expect(err.message).toMatch(/short-imagej\.tif: truncated: ImageJ says 6 images of 1200 bytes from byte \d+, but the file has \d+ bytes/)
  })

  it('a TIFF compressed with a codec the app does not decode', async () => {
    const err = await failure(fixture('stack_lzma.tif'))
    expect(err.code).toBe('unsupported')
    expect(err.message).toMatch(/stack_lzma\.tif: TIFF compression LZMA \(34925\) is not supported/)
  })

  it('a truncated HDF5 file', async () => {
    const err = await failure(fixture('truncated.h5'))
    expect(err.code).toBe('bad_format')
    expect(err.message).toMatch(/truncated\.h5: not a readable HDF5 file: truncated file/)
  })

  it('an HDF5 file without a 3D dataset', async () => {
    const err = await failure(fixture('no3d.h5'))
    expect(err.code).toBe('bad_input')
    expect(err.message).toMatch(/no3d\.h5: no 3D dataset this app can open; it holds: line \(10 int64, 1D, not a volume\), name \(string/)
  })

  it('an HDF5 dataset compressed with a filter h5wasm lacks (lzf)', async () => {
    const err = await failure(fixture('lzf.h5'), { dataset: 'raw' })
    expect(err.code).toBe('unsupported')
    expect(err.message).toMatch(/lzf\.h5: dataset raw is compressed with HDF5 filter lzf \(id 32000\)/)
  })

  it('an HDF5 file with several volumes and no dataset named', async () => {
    const err = await failure(fixture('multi.h5'))
    expect(err.code).toBe('bad_input')
    expect(err.message).toMatch(/multi\.h5: holds several volumes, choose one as the dataset; it holds: a \(4x20x21 float32\)/)
  })

  it('a dataset that does not exist', async () => {
    const err = await failure(fixture('cremi.h5'), { dataset: 'volumes/missing' })
    expect(err.code).toBe('not_found')
    expect(err.message).toMatch(/cremi\.h5: no dataset 'volumes\/missing'; it holds: volumes\/labels\/neuron_ids/)
  })

  it('unsupported data types: HDF5 compound and string, Zarr complex, .npy complex', async () => {
    for (const [file, options, pattern] of [
      ['multi.h5', { dataset: 'pair' }, /multi\.h5:pair: data type compound is not supported/],
      ['multi.h5', { dataset: 'name' }, /multi\.h5:name: data type string is not supported/],
      ['v2.zarr', { dataset: 'complex' }, /v2\.zarr\/complex: cannot read the Zarr metadata: Unsupported or unknown dtype: <c8/],
      ['complex.npy', undefined, /complex\.npy: \.npy data type <c8 is not supported/],
    ] as const) {
      const err = await failure(fixture(file), options)
      expect(err.code).toBe('unsupported')
      expect(err.message).toMatch(pattern)
    }
  })

  it('a Zarr array with a codec the app does not know', async () => {
    const err = await failure(fixture('v2.zarr'), { dataset: 'lzma' })
    expect(err.code).toBe('unsupported')
    expect(err.message).toMatch(/v2\.zarr\/lzma: compression codec 'lzma' is not supported/)
  })

  it('a Zarr v3 array naming a codec nobody registered', async () => {
    const dir = join(tmp, 'odd.zarr')
    cpSync(fixture('v3.zarr/raw'), dir, { recursive: true })
    const meta = JSON.parse(readFileSync(join(dir, 'zarr.json'), 'utf8'))
    meta.codecs[1] = { name: 'squish', configuration: {} }
    writeFileSync(join(dir, 'zarr.json'), JSON.stringify(meta))
    const err = await failure(dir)
    expect(err.code).toBe('unsupported')
    expect(err.message).toMatch(/odd\.zarr: compression codec 'squish' is not supported/)
  })

  it('a Zarr chunk that does not decompress', async () => {
    const dir = join(tmp, 'broken.zarr')
    cpSync(fixture('v3.zarr/raw'), dir, { recursive: true })
    writeFileSync(join(dir, 'c/0/0/0'), 'not gzip')
    const err = await failure(dir)
    expect(err.code).toBe('bad_format')
    expect(err.message).toMatch(/broken\.zarr: cannot read chunk \(0, 0, 0\)/)
  })

  it('an N5 dataset with a compression the app does not decode', async () => {
    const err = await failure(fixture('data.n5'), { dataset: 'bz2' })
    expect(err.code).toBe('unsupported')
    expect(err.message).toMatch(/data\.n5\/bz2: N5 compression 'bzip2' is not supported/)
  })

  it('a folder with mixed slice sizes', async () => {
    const err = await failure(fixture('slices_mixed'))
    expect(err.code).toBe('bad_input')
    expect(err.message).toMatch(/slices_mixed: mixed slice sizes: a2\.png is 27x30 uint8, a1\.png is 27x34 uint8/)
    expect(err.file).toBe(fixture('slices_mixed/a2.png'))
  })

  it('a folder with no images, and a file that is no volume', async () => {
    expect((await failure(fixture('expected'))).message).toMatch(/expected: no TIFF, PNG or JPEG slices in this folder/)
    const err = await failure(fixture('make_fixtures.py'))
    expect(err.code).toBe('unsupported')
    expect(err.message).toMatch(/make_fixtures\.py: not a volume format this app reads/)
  })

  it('a channel array opened without choosing a channel', async () => {
    const err = await failure(fixture('aff.npy'))
    expect(err.code).toBe('bad_input')
    expect(err.message).toMatch(/aff\.npy: array 3x5x34x27 holds 3 channels; choose one \(channel 0\.\.2\)/)
  })

  it('a truncated .npy file', async () => {
    const file = join(tmp, 'short.npy')
    writeFileSync(file, readFileSync(fixture('img16.npy')).subarray(0, 1000))
    const err = await failure(file)
    expect(err.code).toBe('bad_format')
    expect(err.message).toMatch(/short\.npy: truncated: 1000 bytes, shape \(6, 40, 33\) needs 15968/)
  })
})
