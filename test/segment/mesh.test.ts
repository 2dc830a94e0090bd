import { describe, expect, it } from 'vitest'
import { meshSegment, type SegmentMesh } from '../../src/main/engine/segment/mesh'
import type { LabelVolume } from '../../src/main/engine/segment/types'
import type { Vec3 } from '../../src/shared/types'

// A sphere of radius 240 nm in 40 x 8 x 8 nm voxels: 12 sections, 60 voxels across.
const voxelSize: Vec3 = [40, 8, 8]
const R = 240
const shape: Vec3 = [16, 68, 68]
const centre = [shape[0] / 2, shape[1] / 2, shape[2] / 2] // voxel units, (z, y, x)

function sphere(): LabelVolume {
  const data = new Uint32Array(shape[0] * shape[1] * shape[2])
  for (let z = 0, i = 0; z < shape[0]; z++)
    for (let y = 0; y < shape[1]; y++)
      for (let x = 0; x < shape[2]; x++, i++) {
        const d = Math.hypot((z - centre[0]) * voxelSize[0], (y - centre[1]) * voxelSize[1], (x - centre[2]) * voxelSize[2])
        if (d <= R) data[i] = 3
      }
  return { data, shape }
}

/** Area, enclosed volume, and how many directed edges lack their reverse (0 for a closed, consistently wound surface). */
function measure(m: SegmentMesh) {
  const P = m.positions
  const I = m.indices
  let area = 0
  let volume = 0
  const edges = new Map<string, number>()
  for (let t = 0; t < I.length; t += 3) {
    const [a, b, c] = [I[t], I[t + 1], I[t + 2]].map((v) => [P[3 * v], P[3 * v + 1], P[3 * v + 2]])
    const e1 = [b[0] - a[0], b[1] - a[1], b[2] - a[2]]
    const e2 = [c[0] - a[0], c[1] - a[1], c[2] - a[2]]
    const cross = [e1[1] * e2[2] - e1[2] * e2[1], e1[2] * e2[0] - e1[0] * e2[2], e1[0] * e2[1] - e1[1] * e2[0]]
    area += Math.hypot(...cross) / 2
    volume += (a[0] * (b[1] * c[2] - b[2] * c[1]) - a[1] * (b[0] * c[2] - b[2] * c[0]) + a[2] * (b[0] * c[1] - b[1] * c[0])) / 6
    for (const [u, v] of [[I[t], I[t + 1]], [I[t + 1], I[t + 2]], [I[t + 2], I[t]]]) edges.set(`${u},${v}`, (edges.get(`${u},${v}`) ?? 0) + 1)
  }
  let open = 0
  for (const [key, n] of edges) {
    const [u, v] = key.split(',')
    if ((edges.get(`${v},${u}`) ?? 0) !== n) open++
  }
  // Normals pointing away from the centre (positions are (x, y, z) nm).
  const c = [centre[2] * voxelSize[2], centre[1] * voxelSize[1], centre[0] * voxelSize[0]]
  let outward = 0
  for (let v = 0; v < P.length; v += 3) {
    const d = (P[v] - c[0]) * m.normals[v] + (P[v + 1] - c[1]) * m.normals[v + 1] + (P[v + 2] - c[2]) * m.normals[v + 2]
    if (d > 0) outward++
  }
  return { area, volume, open, outward: outward / (P.length / 3), vertices: P.length / 3, triangles: I.length / 3 }
}

describe('segment meshes', () => {
  const analyticArea = 4 * Math.PI * R * R
  const analyticVolume = (4 / 3) * Math.PI * R ** 3

  it('meshes a sphere with anisotropic voxels: closed, outward, area and volume within 5%', async () => {
    const m = measure(await meshSegment(sphere(), 3, { voxelSize, simplify: 0 }))
    expect(m.open).toBe(0)
    expect(m.outward).toBe(1)
    expect(Math.abs(m.area / analyticArea - 1)).toBeLessThan(0.05)
    expect(Math.abs(m.volume / analyticVolume - 1)).toBeLessThan(0.05)
  })

  it('simplifies by vertex clustering and stays closed and close to the sphere', async () => {
    const full = measure(await meshSegment(sphere(), 3, { voxelSize, simplify: 0 }))
    const m = measure(await meshSegment(sphere(), 3, { voxelSize })) // default: 40 nm clusters
    expect(m.triangles).toBeLessThan(full.triangles / 4)
    expect(m.open).toBe(0)
    expect(m.outward).toBeGreaterThan(0.98)
    expect(Math.abs(m.area / analyticArea - 1)).toBeLessThan(0.05)
    expect(Math.abs(m.volume / analyticVolume - 1)).toBeLessThan(0.05)
  })

  it('closes a segment cut by the box with a cap, and gives an empty mesh for an absent id', async () => {
    const half = measure(await meshSegment(sphere(), 3, { voxelSize, simplify: 0, box: { start: [0, 0, 0], stop: [8, 68, 68] } }))
    expect(half.open).toBe(0)
    expect(half.volume / analyticVolume).toBeGreaterThan(0.4)
    expect(half.volume / analyticVolume).toBeLessThan(0.6)
    const none = await meshSegment(sphere(), 99, { voxelSize })
    expect(none.positions.length).toBe(0)
    expect(none.indices.length).toBe(0)
  })

  it('closes small shapes that touch their bounding box: a voxel is a cube, a voxel pair a box', async () => {
    const one: LabelVolume = { data: Uint32Array.from([0, 0, 0, 0, 1, 0, 0, 0, 0]), shape: [1, 3, 3] }
    const cube = measure(await meshSegment(one, 1, { smooth: 0, simplify: 0 }))
    expect(cube).toMatchObject({ vertices: 8, triangles: 12, open: 0 })
    expect(cube.volume).toBeCloseTo(1 / 27, 6) // each corner at the mean of three face midpoints: a cube of side 1/3
    const pair: LabelVolume = { data: Uint32Array.from([1, 1]), shape: [1, 1, 2] }
    expect(measure(await meshSegment(pair, 1, { smooth: 0, simplify: 0 }))).toMatchObject({ triangles: 20, open: 0 })
  })

  it('meshes a segment made of several fragments as one surface', async () => {
    // The sphere cut into two fragments at the equator, meshed as the set of both.
    const whole = sphere()
    const parts = Uint32Array.from(whole.data as Uint32Array, (v, i) => (v === 0 ? 0 : i < (whole.data.length >> 1) ? 4 : 5))
    const joined = measure(await meshSegment({ data: parts, shape }, [4, 5], { voxelSize, simplify: 0 }))
    const one = measure(await meshSegment(whole, 3, { voxelSize, simplify: 0 }))
    expect(joined.triangles).toBe(one.triangles)
    expect(joined.open).toBe(0)
    expect(joined.volume).toBeCloseTo(one.volume, 6)
    expect(measure(await meshSegment({ data: parts, shape }, 4, { voxelSize, simplify: 0 })).volume).toBeLessThan(0.6 * one.volume)
  })

  it('refuses a box outside the volume and id 0', async () => {
    await expect(meshSegment(sphere(), 3, { box: { start: [0, 0, 0], stop: [17, 68, 68] } })).rejects.toThrow(/outside/)
    await expect(meshSegment(sphere(), 0)).rejects.toThrow(/positive labels/)
    await expect(meshSegment(sphere(), 2 ** 33)).rejects.toThrow(/ids must be integers in 0..4294967295/)
  })
})
