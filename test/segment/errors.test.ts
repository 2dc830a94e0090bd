import { describe, expect, it } from 'vitest'
import { computeFragments } from '../../src/main/engine/segment/fragments'
import { buildRegionGraph } from '../../src/main/engine/segment/graph'
import { connectedComponents } from '../../src/main/engine/segment/labels'
import { Segmentation } from '../../src/main/engine/segment/segmentation'
import type { Affinities } from '../../src/main/engine/segment/types'
import { native } from '../../src/main/engine/native'
import { StudioError } from '../../src/shared/errors'
import type { Vec3 } from '../../src/shared/types'

const shape: Vec3 = [2, 8, 8]
const good = (): Affinities => ({ data: new Float32Array(3 * 128).fill(0.9), shape })

async function badInput(p: Promise<unknown>, message: RegExp): Promise<void> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(StudioError)
  expect((err as StudioError).code).toBe('bad_input')
  expect((err as Error).message).toMatch(message)
}

describe('bad input gets a clear error, never a crash', () => {
  it('affinities of the wrong length, type or shape', async () => {
    await badInput(computeFragments({ data: new Float32Array(100), shape }), /100 values do not fill \(3, 2, 8, 8\) = 384/)
    await badInput(computeFragments({ data: new Float64Array(384) as unknown as Float32Array, shape }), /float32 or uint8 values, not Float64Array/)
    await badInput(computeFragments({ data: new Float32Array(0), shape: [0, 8, 8] }), /three positive integers/)
    await badInput(computeFragments({ data: new Float32Array(384), shape: [2, 8.5, 8] as Vec3 }), /three positive integers/)
  })

  it('NaN affinities, found on the worker thread and named by position', async () => {
    const a = good()
    ;(a.data as Float32Array)[2 * 128 + 64 + 9] = NaN
    await badInput(computeFragments(a, { mode: '3d' }), /NaN at \(c, z, y, x\) = \(2, 1, 1, 1\)/)
    // Two fragments meeting at y = 4; a NaN on one of the links between them.
    const fragments = { data: Uint32Array.from({ length: 128 }, (_, i) => ((i >> 3) % 8 < 4 ? 1 : 2)), shape }
    const b = good()
    ;(b.data as Float32Array)[128 + 64 + 4 * 8 + 3] = NaN
    await badInput(buildRegionGraph(fragments, b), /regionGraph: affinities contain NaN at \(c, z, y, x\) = \(1, 1, 4, 3\)/)
  })

  it('fragments and affinities that do not match, labels of the wrong type', async () => {
    const { fragments } = await computeFragments(good())
    await badInput(buildRegionGraph(fragments, { data: new Float32Array(3 * 64), shape: [1, 8, 8] }), /shapes differ, 2x8x8 and 1x8x8/)
    await badInput(Segmentation.fromFragments({ data: new Int32Array(128) as unknown as Uint32Array, shape }, good()), /uint32 or uint64, not Int32Array/)
    await badInput(connectedComponents({ data: new Uint32Array(10), shape }), /10 voxels do not fill 2x8x8/)
    await badInput(computeFragments(good(), { sampling: [0, 1, 1] }), /sampling must be three positive numbers/)
    await badInput(computeFragments(good(), { mode: 'x' as '2d' }), /mode must be '2d' or '3d'/)
  })

  it('the native functions themselves check arguments before starting work', () => {
    const n = native()
    expect(() => n.fragments(new Float32Array(3), [1, 1, 2], new Uint32Array(2), { mode: '2d' })).toThrow(/affinities hold 3 values/)
    expect(() => n.fragments(new Float32Array(6), [1, 1, 2], new Uint16Array(2) as unknown as Uint32Array, { mode: '2d' })).toThrow(/uint32 or uint64/)
    expect(() => n.agglomerate(2, new Uint32Array(1), new Uint32Array(2), new Float64Array(2), new Uint8Array(1), 'median')).toThrow(/same edges/)
    expect(() => n.mesh(new Uint32Array(4), [1, 2, 2], Uint32Array.of(1), [0, 0, 0, 1, 2, 3], {})).toThrow(/box is empty or outside/)
    expect(() => n.evaluate(new Uint32Array(4), new Uint32Array(5))).toThrow(/segmentation holds 5 voxels/)
    return expect(n.agglomerate(2, Uint32Array.of(0), Uint32Array.of(5), Float64Array.of(0, 1), Uint8Array.of(9), 'median')).rejects.toThrow(/joins invalid nodes/)
  })
})
