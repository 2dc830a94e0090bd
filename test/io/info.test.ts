/** `tokenunify info` on every format (the built CLI, as users run it). */
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { fixture } from './helpers'

const BIN = join(import.meta.dirname, '../../bin/tokenunify.js')

function info(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, 'info', ...args], { encoding: 'utf8', timeout: 30_000 })
  return { code: r.status, out: r.stdout, err: r.stderr }
}

describe('tokenunify info', () => {
  it.each([
    ['stack_u16_bigtiff_tiled.tif', 'tiff', '6 x 40 x 33', 'uint16'],
    ['imagej_hyperstack.tif', 'tiff', '5 x 34 x 27', 'uint16'],
    ['slices_png', 'slices', '11 x 34 x 27', 'uint8'],
    ['cremi.h5', 'hdf5', '5 x 34 x 27', 'uint8'],
    ['v2.zarr', 'zarr', '5 x 34 x 27', 'uint8'],
    ['v3.zarr', 'zarr', '6 x 40 x 33', 'uint16'],
    ['ome.zarr', 'zarr', '6 x 40 x 33', 'uint16'],
    ['data.n5', 'n5', '6 x 40 x 33', 'uint16'],
    ['img16.npy', 'npy', '6 x 40 x 33', 'uint16'],
  ])('%s: format %s, shape %s, %s', (file, format, shape, dtype) => {
    const r = info(fixture(file))
    expect(r.err).toBe('')
    expect(r.code).toBe(0)
    expect(r.out).toContain(`format      ${format}`)
    expect(r.out).toContain(`shape       ${shape} (z, y, x)`)
    expect(r.out).toContain(`dtype       ${dtype}`)
    expect(r.out).toMatch(/chunks {6}\S/)
  })

  it('shows the voxel size, the stored chunks and every dataset of a CREMI file', () => {
    const r = info(`${fixture('cremi.h5')}:volumes/labels/neuron_ids`)
    expect(r.out).toContain('dataset     volumes/labels/neuron_ids')
    expect(r.out).toContain('dtype       uint64')
    expect(r.out).toContain('voxel size  40 x 4 x 4 nm (z, y, x)')
    expect(r.out).toMatch(/\* volumes\/labels\/neuron_ids +5 x 34 x 27 uint64, chunks 3 x 17 x 27/)
    expect(r.out).toMatch(/> volumes\/raw +5 x 34 x 27 uint8, chunks 2 x 16 x 16/)
  })

  it('lists OME-Zarr levels and opens the one named with --dataset', () => {
    const r = info(fixture('ome.zarr'), '--dataset', '1')
    expect(r.out).toContain('shape       6 x 20 x 17 (z, y, x)')
    expect(r.out).toContain('voxel size  40 x 16 x 16 nm (z, y, x)')
    expect(r.out).toMatch(/\* 1 +6 x 20 x 17 uint16, chunks 2 x 16 x 16, 40 x 16 x 16 nm \(z, y, x\), OME-Zarr level 1/)
  })

  it('describes a file with several volumes without choosing, and a channel array', () => {
    const multi = info(fixture('multi.h5'))
    expect(multi.code).toBe(0)
    expect(multi.out).toContain('datasets (several volumes: name one with --dataset or <path>:<dataset>)')
    expect(multi.out).toMatch(/pair +2 x 3 x 4 compound, data type compound is not supported/)
    const aff = info(fixture('aff.npy'))
    expect(aff.out).toContain('array       3 x 5 x 34 x 27 uint8, 3 channels: open one with channel')
    expect(info(fixture('aff.npy'), '--channel', '2').out).toContain('shape       5 x 34 x 27 (z, y, x)')
  })

  it('prints JSON for scripts', () => {
    const r = info(fixture('data.n5'), '--json')
    const j = JSON.parse(r.out)
    expect(j.format).toBe('n5')
    expect(j.volume).toMatchObject({ dataset: 'volumes/raw', shape: [6, 40, 33], dtype: 'uint16', voxelSize: [40, 8, 8], storedChunks: [2, 16, 16] })
    expect(j.datasets.find((d: { path: string }) => d.path === 'bz2')).toMatchObject({ openable: false, note: "N5 compression 'bzip2' is not supported" })
  })

  it('exits 1 with the file and the problem for bad input', () => {
    const missing = info(fixture('nothing-here.tif'))
    expect(missing.code).toBe(1)
    expect(missing.err).toContain('nothing-here.tif: no such file or folder')
    const truncated = info(fixture('truncated.h5'))
    expect(truncated.code).toBe(1)
    expect(truncated.err).toMatch(/truncated\.h5: not a readable HDF5 file: truncated file/)
  })
})
