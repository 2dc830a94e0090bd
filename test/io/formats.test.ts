/**
 * Every format reads exactly the values its reference writer was given (make_fixtures.py saved
 * them with numpy): the whole volume and boxes that cut across chunk and page boundaries.
 */
import { describe, expect, it } from 'vitest'
import { openVolume, probeVolume, type OpenOptions } from '../../src/main/engine/io/open'
import type { DType, Vec3, VolumeFormat } from '../../src/shared/types'
import { cut, fixture, reference, someBoxes } from './helpers'

interface Case {
  file: string
  options?: OpenOptions
  expected: string
  format: VolumeFormat
  dtype: DType
  voxelSize?: Vec3
}

const CASES: Case[] = [
  // .npy (numpy)
  { file: 'img16.npy', expected: 'img16', format: 'npy', dtype: 'uint16' },
  { file: 'img8_5d.npy', expected: 'img8', format: 'npy', dtype: 'uint8' },
  { file: 'aff.npy', options: { channel: 2 }, expected: 'aff_c2', format: 'npy', dtype: 'uint8' },
  // TIFF (tifffile; LZW, PackBits, zstd by libtiff's tiffcp)
  { file: 'stack_u8.tif', expected: 'img8', format: 'tiff', dtype: 'uint8' },
  { file: 'stack_u16_deflate.tif', expected: 'img16', format: 'tiff', dtype: 'uint16' },
  { file: 'stack_u16_bigtiff_tiled.tif', expected: 'img16', format: 'tiff', dtype: 'uint16' },
  { file: 'stack_f32_be.tif', expected: 'f32', format: 'tiff', dtype: 'float32' },
  { file: 'stack_u32.tif', expected: 'labels32', format: 'tiff', dtype: 'uint32' },
  { file: 'stack_lzw_u8.tif', expected: 'img8', format: 'tiff', dtype: 'uint8' },
  { file: 'stack_lzw_predictor_u16.tif', expected: 'img16', format: 'tiff', dtype: 'uint16' },
  { file: 'stack_packbits_u8.tif', expected: 'img8', format: 'tiff', dtype: 'uint8' },
  { file: 'stack_zstd_u8.tif', expected: 'img8', format: 'tiff', dtype: 'uint8' },
  { file: 'rgb.tif', expected: 'img8', format: 'tiff', dtype: 'uint8' },
  { file: 'imagej_hyperstack.tif', expected: 'imagej_c0', format: 'tiff', dtype: 'uint16', voxelSize: [40, 8, 8] },
  { file: 'imagej_hyperstack.tif', options: { dataset: 'c1' }, expected: 'imagej_c1', format: 'tiff', dtype: 'uint16', voxelSize: [40, 8, 8] },
  { file: 'imagej_contiguous.tif', expected: 'imagej_contiguous', format: 'tiff', dtype: 'uint16' },
  // Folders of slices (Pillow, tifffile)
  { file: 'slices_png', expected: 'slices_png', format: 'slices', dtype: 'uint8' },
  { file: 'slices_png16', expected: 'slices_png16', format: 'slices', dtype: 'uint16' },
  { file: 'slices_jpeg', expected: 'slices_jpeg', format: 'slices', dtype: 'uint8' },
  { file: 'slices_tif', expected: 'slices_tif', format: 'slices', dtype: 'uint16' },
  // HDF5 (h5py)
  { file: 'cremi.h5', expected: 'img8', format: 'hdf5', dtype: 'uint8', voxelSize: [40, 4, 4] },
  { file: 'cremi.h5', options: { dataset: 'volumes/labels/neuron_ids' }, expected: 'labels64', format: 'hdf5', dtype: 'uint64', voxelSize: [40, 4, 4] },
  { file: 'multi.h5', options: { dataset: 'a' }, expected: 'f32', format: 'hdf5', dtype: 'float32' },
  { file: 'multi.h5', options: { dataset: '/b/c' }, expected: 'img16', format: 'hdf5', dtype: 'uint16', voxelSize: [40, 8, 8] },
  { file: 'multi.h5', options: { dataset: 'be16' }, expected: 'img16', format: 'hdf5', dtype: 'uint16' },
  { file: 'multi.h5', options: { dataset: 'int64labels' }, expected: 'labels64', format: 'hdf5', dtype: 'uint64' },
  { file: 'multi.h5', options: { dataset: 'mask' }, expected: 'mask', format: 'hdf5', dtype: 'uint8' },
  { file: 'multi.h5', options: { dataset: 'vol4d' }, expected: 'img8', format: 'hdf5', dtype: 'uint8' },
  { file: 'multi.h5', options: { dataset: 'aff', channel: 2 }, expected: 'aff_c2', format: 'hdf5', dtype: 'uint8' },
  // Zarr v2 (zarr-python), OME-Zarr 0.4
  { file: 'v2.zarr', expected: 'img8', format: 'zarr', dtype: 'uint8' },
  { file: 'v2.zarr', options: { dataset: 'labels' }, expected: 'labels64', format: 'zarr', dtype: 'uint64' },
  { file: 'v2.zarr', options: { dataset: 'f32_F' }, expected: 'f32', format: 'zarr', dtype: 'float32' },
  { file: 'v2.zarr', options: { dataset: 'be16' }, expected: 'img16', format: 'zarr', dtype: 'uint16' },
  { file: 'v2.zarr', options: { dataset: 'nested/u32' }, expected: 'labels32', format: 'zarr', dtype: 'uint32' },
  { file: 'v2.zarr', options: { dataset: 'sparse' }, expected: 'sparse', format: 'zarr', dtype: 'uint8' },
  { file: 'v2.zarr/raw', expected: 'img8', format: 'zarr', dtype: 'uint8' },
  { file: 'ome.zarr', expected: 'img16', format: 'zarr', dtype: 'uint16', voxelSize: [40, 8, 8] },
  { file: 'ome.zarr', options: { dataset: '1' }, expected: 'ome_level1', format: 'zarr', dtype: 'uint16', voxelSize: [40, 16, 16] },
  // Zarr v3 (spec-following writer in make_fixtures.py), sharding, OME-Zarr 0.5
  { file: 'v3.zarr', options: { dataset: 'raw' }, expected: 'v3_raw', format: 'zarr', dtype: 'uint16' },
  { file: 'v3.zarr', options: { dataset: 'sharded' }, expected: 'v3_sharded', format: 'zarr', dtype: 'uint8' },
  { file: 'v3.zarr', options: { dataset: 'labels' }, expected: 'labels64', format: 'zarr', dtype: 'uint64', voxelSize: [40, 8, 8] },
  { file: 'ome_v05.zarr', expected: 'img8', format: 'zarr', dtype: 'uint8', voxelSize: [40, 8, 8] },
  { file: 'ome_v05.zarr', options: { dataset: 's1' }, expected: 'ome_v05_s1', format: 'zarr', dtype: 'uint8', voxelSize: [40, 16, 16] },
  // N5 (zarr-python's N5Store)
  { file: 'data.n5', options: { dataset: 'volumes/raw' }, expected: 'img16', format: 'n5', dtype: 'uint16', voxelSize: [40, 8, 8] },
  { file: 'data.n5', options: { dataset: 'volumes/labels' }, expected: 'labels64', format: 'n5', dtype: 'uint64' },
  { file: 'data.n5', options: { dataset: 'f32' }, expected: 'f32', format: 'n5', dtype: 'float32' },
  { file: 'data.n5', options: { dataset: 'sparse' }, expected: 'n5_sparse', format: 'n5', dtype: 'uint8' },
]

describe('every format reads the values its reference writer wrote', () => {
  it.each(CASES)('$file $options', async (c) => {
    const ref = reference(c.expected)
    const volume = await openVolume(fixture(c.file), c.options)
    try {
      expect(volume.format).toBe(c.format)
      expect(volume.dtype).toBe(c.dtype)
      expect(volume.shape).toEqual(ref.shape)
      expect(volume.voxelSize).toEqual(c.voxelSize)
      for (const box of someBoxes(ref.shape, 6)) {
        const got = Array.from(await volume.read(box) as ArrayLike<number | bigint>)
        const want = cut(ref, box)
        // NaN-free data: exact equality voxel by voxel.
        expect(got.length).toBe(want.length)
        const firstDiff = got.findIndex((v, i) => v !== want[i])
        expect(firstDiff, `first differing voxel in box ${JSON.stringify(box)}`).toBe(-1)
      }
    } finally {
      await volume.close()
    }
  })
})

describe('probe lists datasets for the picker', () => {
  it('lists CREMI datasets with the raw one as default', async () => {
    const probe = await probeVolume(fixture('cremi.h5'))
    expect(probe.format).toBe('hdf5')
    expect(probe.defaultDataset).toBe('volumes/raw')
    expect(probe.datasets.map((d) => [d.path, d.dtype, d.shape])).toEqual([
      ['volumes/labels/neuron_ids', 'uint64', [5, 34, 27]],
      ['volumes/raw', 'uint8', [5, 34, 27]],
    ])
  })

  it('lists every OME-Zarr level, the first as default, with its voxel size', async () => {
    const probe = await probeVolume(fixture('ome.zarr'))
    expect(probe.defaultDataset).toBe('0')
    expect(probe.datasets.map((d) => [d.path, d.voxelSize, d.note])).toEqual([
      ['0', [40, 8, 8], 'OME-Zarr level 0'],
      ['1', [40, 16, 16], 'OME-Zarr level 1'],
    ])
  })

  it('says which HDF5 datasets are not volumes, and why', async () => {
    const probe = await probeVolume(fixture('multi.h5'))
    expect(probe.defaultDataset).toBeUndefined()
    const byPath = Object.fromEntries(probe.datasets.map((d) => [d.path, d]))
    expect(byPath.line).toMatchObject({ openable: false, note: '1D, not a volume' })
    expect(byPath.name).toMatchObject({ openable: false, dtype: 'string' })
    expect(byPath.pair).toMatchObject({ openable: false, dtype: 'compound' })
    expect(byPath.aff).toMatchObject({ openable: true, note: '3 channels: open one with channel' })
    expect(byPath['b/c']).toMatchObject({ openable: true, chunkShape: [1, 8, 8], voxelSize: [40, 8, 8] })
  })

  it('lists ImageJ hyperstack channels as datasets', async () => {
    const probe = await probeVolume(fixture('imagej_hyperstack.tif'))
    expect(probe.datasets.map((d) => d.path)).toEqual(['c0', 'c1'])
  })

  it('lists N5 datasets, unreadable compression included', async () => {
    const probe = await probeVolume(fixture('data.n5'))
    expect(probe.datasets.map((d) => d.path)).toEqual(['bz2', 'f32', 'sparse', 'volumes/labels', 'volumes/raw'])
  })
})
