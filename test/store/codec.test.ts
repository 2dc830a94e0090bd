import { describe, expect, it } from 'vitest'
import { decodeColumns, encodeColumns, MAX_VALUE } from '../../src/main/engine/store/codec'
import { changes, decodeDelta, emptyDelta, encodeDelta } from '../../src/main/engine/store/delta'
import { ProjectState } from '../../src/main/engine/store/state'

describe('project store: codec and in-memory state', () => {
  it('round-trips integer columns exactly, small ones stored and large ones deflated', () => {
    const columns = [
      Float64Array.of(0, MAX_VALUE, 1, MAX_VALUE - 1, 2 ** 32, 2 ** 31 - 1, 2 ** 31, 5),
      new Float64Array(0),
      Float64Array.from({ length: 20_000 }, (_, i) => 1000 + 3 * i),
    ]
    const blob = encodeColumns(columns)
    expect(blob[0]).toBe(1)
    expect(blob.length).toBeLessThan(2000)
    expect(decodeColumns(blob, 'test')).toEqual(columns)
    const small = encodeColumns([[7, 3, 9]])
    expect([...small]).toEqual([0, 1, 3, 14, 7, 12])
    expect(() => encodeColumns([[1.5]])).toThrow(/1\.5 is not an integer/)
    expect(() => encodeColumns([[MAX_VALUE + 1]])).toThrow(/not an integer in \[0, 2\^52\)/)
    expect(() => decodeColumns(Uint8Array.of(0, 1, 5, 1), 'edit 7')).toThrow(/edit 7: column 0 claims 5 values past the end/)
    expect(() => decodeColumns(Uint8Array.of(1, 255, 255), 'edit 8')).toThrow(/edit 8: damaged compressed data/)
    expect(() => decodeColumns(Uint8Array.of(9), 'edit 9')).toThrow(/edit 9: unknown encoding 9/)
  })

  it('applies deltas forward and backward exactly, including voxels back at their base label', () => {
    const state = new ProjectState([4, 64, 64])
    state.loadBase([1, 2, 3, 4], [10, 10, 20, 20])
    const initial = { a: state.assignment(), v: state.allVoxels() }
    const d1 = { ...emptyDelta(), assign: changes([3, 4], [20, 20], [10, 10], 'fragment'), voxels: changes([5, 9000], [1, 2], [3, 3], 'voxel') }
    const d2 = { ...emptyDelta(), assign: changes([1], [10], [30], 'fragment'), voxels: changes([5, 9000], [3, 3], [1, 4], 'voxel'), flags: changes([30], [0], [1], 'segment') }
    state.apply(decodeDelta(encodeDelta(d1), 'd1'), 1)
    state.apply(d2, 1)
    expect([...state.fragmentsOf(10)]).toEqual([2, 3, 4])
    expect(state.segmentsFlagged(1)).toEqual([30])
    // Voxel 5 is back at its base label 1: no longer an edited voxel.
    expect(state.allVoxels()).toEqual({ indices: Float64Array.of(9000), labels: Float64Array.of(4) })
    expect(state.voxelsIn({ start: [2, 0, 0], stop: [3, 64, 64] }).indices.length).toBe(1)
    expect(state.voxelsIn({ start: [0, 0, 0], stop: [2, 64, 64] }).indices.length).toBe(0)
    state.apply(d2, -1)
    state.apply(d1, -1)
    expect({ a: state.assignment(), v: state.allVoxels() }).toEqual(initial)
    expect(state.segmentCount).toBe(2)
    expect(state.hasSegment(30)).toBe(false)
  })

  it('handles ids far apart (uint64 labels) as well as dense ones', () => {
    const state = new ProjectState([1, 1, 8])
    const big = 2 ** 40
    state.loadBase([1, big, big + 1, 3_000_000], [big, 7, 7, big])
    expect([...state.fragmentsOf(big)]).toEqual([1, 3_000_000])
    state.apply({ ...emptyDelta(), assign: changes([big, big + 1], [7, 7], [big, big], 'fragment') }, 1)
    expect([...state.fragmentsOf(big)]).toEqual([1, 3_000_000, big, big + 1])
    expect(state.segmentOf(big + 1)).toBe(big)
    expect(state.hasSegment(7)).toBe(false)
    expect(state.segmentCount).toBe(1)
    // More dense ids than the first table holds: the table grows and keeps the far ones.
    state.loadBase(Float64Array.from({ length: 5000 }, (_, i) => 10 + i), new Float64Array(5000).fill(2 ** 21))
    expect(state.segmentOf(big)).toBe(big)
    expect(state.sizeOf(2 ** 21)).toBe(5000)
    expect(state.fragmentCount).toBe(5004)
  })
})
