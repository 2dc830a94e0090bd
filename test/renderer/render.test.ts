// The renderer's pure parts: view geometry, the chunk grid, the label lookup table, the fill region.
import { describe, expect, test } from 'vitest'
import { ChunkGrid } from '../../src/renderer/src/render/chunkGrid'
import { fitScale, screenToVoxel, visibleBox, voxelToScreen } from '../../src/renderer/src/render/geometry'
import { FLAG, LabelTable, LUT_WIDTH } from '../../src/renderer/src/render/labelTable'
import { fillRegion } from '../../src/renderer/src/tools/fill'
import type { Vec3 } from '../../src/shared/types'

describe('geometry', () => {
  const cam = { position: [10.5, 100.5, 200.5] as Vec3, scale: 8, voxelSize: [40, 8, 8] as Vec3 }

  test('screen and voxel coordinates round-trip in every view, with anisotropic voxels', () => {
    for (const view of ['xy', 'xz', 'yz'] as const) {
      const v = screenToVoxel(view, cam, 130, 70, 400, 300)
      const [x, y] = voxelToScreen(view, cam, v, 400, 300)
      expect(x).toBeCloseTo(130)
      expect(y).toBeCloseTo(70)
    }
    // XZ: one CSS pixel is one voxel along x (8 nm) but a fifth of a voxel along z (40 nm).
    const right = screenToVoxel('xz', cam, 201, 150, 400, 300)
    const down = screenToVoxel('xz', cam, 200, 155, 400, 300)
    expect(right[2] - cam.position[2]).toBeCloseTo(1)
    expect(down[0] - cam.position[0]).toBeCloseTo(1)
    expect(down[1]).toBe(cam.position[1])
  })

  test('the visible box is one slice thick and clamped to the volume', () => {
    const box = visibleBox('xy', cam, 400, 300, [20, 512, 512])
    expect(box).toEqual({ start: [10, 100 - 150, 0].map((v) => Math.max(0, v)), stop: [11, 251, 401] })
    expect(visibleBox('xy', { ...cam, position: [10.5, -1000, -1000] }, 400, 300, [20, 512, 512])).toBeNull()
  })

  test('fitScale shows the whole slice', () => {
    const s = fitScale('xz', [50, 512, 1000], [40, 8, 8], 500, 500)
    expect(1000 * 8 / s).toBeLessThanOrEqual(500)
    expect(50 * 40 / s).toBeLessThanOrEqual(500)
  })
})

describe('ChunkGrid', () => {
  test('anisotropic volumes get thin chunks; boxes stop at the volume edge', () => {
    const grid = ChunkGrid.forVolume([40, 300, 300], [40, 8, 8])
    expect(grid.chunkShape).toEqual([16, 128, 128])
    expect(grid.counts).toEqual([3, 3, 3])
    expect(grid.box([2, 2, 2])).toEqual({ start: [32, 256, 256], stop: [40, 300, 300] })
    expect(grid.neighbour([2, 0, 0], 0, 1)).toBeNull()
    expect(ChunkGrid.forVolume([40, 300, 300], [8, 8, 8]).chunkShape).toEqual([40, 64, 64])
  })

  test('chunks of a box come nearest to the centre first', () => {
    const grid = new ChunkGrid([16, 512, 512], [16, 128, 128])
    const chunks = grid.chunksIn({ start: [3, 0, 0], stop: [4, 512, 512] }, [3.5, 300, 100])
    expect(chunks).toHaveLength(16)
    expect(chunks[0]).toEqual([0, 2, 0])
    expect(new Set(chunks.map((c) => c.join())).size).toBe(16)
  })
})

describe('LabelTable', () => {
  const style = (label: number) => [label % 256, 7, 9, FLAG.visible] as const

  test('labels become dense numbers, stable across chunks; 0 stays 0 and is never drawn', () => {
    const table = new LabelTable(style)
    const a = table.densify(Uint32Array.from([0, 5, 5, 900, 5]))
    const b = table.densify(Uint32Array.from([900, 7, 0]))
    expect([...a]).toEqual([0, 1, 1, 2, 1])
    expect([...b]).toEqual([2, 3, 0])
    expect(table.labelOf(3)).toBe(7)
    const lut = table.texture.image.data as Uint8Array
    expect([...lut.subarray(4, 8)]).toEqual([5, 7, 9, FLAG.visible])
    expect(lut[3]).toBe(0)
  })

  test('uint64 labels above 2^32 keep their identity', () => {
    const table = new LabelTable(style)
    const big = 2 ** 40 + 3
    const dense = table.densify(BigUint64Array.from([0n, BigInt(big), 3n, BigInt(big)]))
    expect([...dense]).toEqual([0, 1, 2, 1])
    expect(table.labelOf(1)).toBe(big)
    expect(table.labelOf(2)).toBe(3)
  })

  test('restyling rewrites the table only; a larger table makes a new texture', () => {
    const table = new LabelTable(style)
    let textures = 0
    table.onTexture = () => textures++
    const dense = table.densify(Uint32Array.from({ length: LUT_WIDTH + 10 }, (_, i) => i + 1))
    expect(textures).toBe(1)
    expect(table.size).toBe(LUT_WIDTH + 11)
    table.restyle(() => [1, 2, 3, FLAG.visible | FLAG.selected])
    const lut = table.texture.image.data as Uint8Array
    const i = dense[LUT_WIDTH + 5]
    expect([...lut.subarray(4 * i, 4 * i + 4)]).toEqual([1, 2, 3, FLAG.visible | FLAG.selected])
  })
})

describe('fillRegion', () => {
  // Two 4 x 4 slices: in z = 0 label 2 is one region and label 1 two, joined only through z = 1.
  const shape: Vec3 = [2, 4, 4]
  const labels = [
    [2, 2, 1, 1, 1, 2, 1, 1, 1, 2, 2, 2, 1, 1, 1, 1],
    [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2],
  ]
  const at = (v: Vec3) => labels[v[0]][v[1] * 4 + v[2]]

  test('in a slice: the connected voxels of the start label', () => {
    const r = fillRegion([0, 0, 0], [1, 2], shape, at, 100)
    expect(r.label).toBe(2)
    expect(r.indices.sort((a, b) => a - b)).toEqual([0, 1, 5, 9, 10, 11])
    expect(r.truncated).toBe(false)
  })

  test('in 3D the region goes on across slices; unloaded voxels and the limit truncate it', () => {
    const r = fillRegion([0, 0, 0], [0, 1, 2], shape, at, 100)
    expect(r.indices.length).toBe(6)
    const ones = fillRegion([0, 0, 2], [0, 1, 2], shape, at, 100)
    expect(ones.indices.length).toBe(32 - 6 - 1)
    // Without z = 1 loaded, the two groups of label 1 in z = 0 do not meet.
    const cut = fillRegion([0, 0, 2], [0, 1, 2], shape, (v) => (v[0] === 1 ? null : at(v)), 100)
    expect(cut.truncated).toBe(true)
    expect(cut.indices.sort((a, b) => a - b)).toEqual([2, 3, 6, 7])
    expect(fillRegion([0, 0, 2], [0, 1, 2], shape, at, 5)).toMatchObject({ truncated: true, indices: { length: 5 } })
  })
})
