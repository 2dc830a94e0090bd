import { describe, expect, it } from 'vitest'
import { connectedComponents, mapLabels, relabel, uniqueLabels } from '../../src/main/engine/segment/labels'
import type { Vec3 } from '../../src/shared/types'

describe('label volumes', () => {
  it('connected components use 6-connectivity: faces join, edges and corners do not', async () => {
    // 2 x 3 x 3; id 5 on two voxels touching only along an edge, id 5 again by a face, id 9 apart.
    const shape: Vec3 = [2, 3, 3]
    const data = Uint32Array.from([
      5, 0, 0,
      0, 5, 0,
      0, 0, 9,

      5, 0, 0,
      0, 0, 0,
      9, 0, 9,
    ])
    const { labels, count } = await connectedComponents({ data, shape })
    expect(count).toBe(4)
    expect(Array.from(labels.data as Uint32Array)).toEqual([1, 0, 0, 0, 2, 0, 0, 0, 3, 1, 0, 0, 0, 0, 0, 4, 0, 3])
  })

  it('splits one id used by two separate objects, and writes uint64 when asked', async () => {
    const data = BigUint64Array.from([7n, 7n, 0n, 7n, 7n, 2n ** 40n])
    const { labels, count } = await connectedComponents({ data, shape: [1, 1, 6] }, 'uint64')
    expect(count).toBe(3)
    expect(Array.from(labels.data as BigUint64Array)).toEqual([1n, 1n, 0n, 2n, 2n, 3n])
  })

  it('relabels to 1..n in the order of the old ids, 0 kept, and reports the old ids', async () => {
    const data = Uint32Array.from([40, 0, 7, 40, 1000, 7])
    const { labels, ids } = await relabel({ data, shape: [1, 2, 3] })
    expect(Array.from(labels.data as Uint32Array)).toEqual([2, 0, 1, 2, 3, 1])
    expect(Array.from(ids as Uint32Array)).toEqual([7, 40, 1000])
    expect(Array.from(data)).toEqual([40, 0, 7, 40, 1000, 7]) // input untouched
    const wide = BigUint64Array.from([2n ** 50n, 3n, 0n])
    const r = await relabel({ data: wide, shape: [1, 1, 3] }, { dtype: 'uint32' })
    expect(Array.from(r.labels.data as Uint32Array)).toEqual([2, 1, 0])
    await relabel({ data: wide, shape: [1, 1, 3] }, { inPlace: true })
    expect(Array.from(wide)).toEqual([2n, 1n, 0n])
  })

  it('maps ids through a table and names an id the table lacks', async () => {
    const data = Uint32Array.from([3, 3, 0, 8])
    const out = new Uint32Array(4)
    await mapLabels(data, Uint32Array.from([3, 8]), Uint32Array.from([30, 80]), out)
    expect(Array.from(out)).toEqual([30, 30, 0, 80])
    await expect(mapLabels(data, Uint32Array.from([3]), Uint32Array.from([30]), out)).rejects.toThrow(/label 8 is not in the map/)
    await expect(mapLabels(data, Uint32Array.from([8, 3]), Uint32Array.from([1, 2]), out)).rejects.toThrow(/ascending/)
    expect(Array.from(await uniqueLabels(Uint32Array.from([9, 0, 2, 9, 2])))).toEqual([2, 9])
  })
})
