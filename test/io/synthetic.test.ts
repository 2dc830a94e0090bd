/** The synthetic EM generator: deterministic, labels 1..N, membranes where the labels change. */
import { describe, expect, it } from 'vitest'
import { syntheticVolume } from '../../src/main/engine/io/synthetic'

describe('syntheticVolume', () => {
  const shape: [number, number, number] = [12, 96, 128]
  const a = syntheticVolume({ shape, seed: 3 })
  const raw = a.raw.data as Uint8Array
  const labels = a.labels.data as Uint32Array
  const [d, h, w] = shape

  it('is deterministic from its seed, and differs between seeds', () => {
    const again = syntheticVolume({ shape, seed: 3 })
    expect(Buffer.from((again.raw.data as Uint8Array).buffer).equals(Buffer.from(raw.buffer))).toBe(true)
    expect(Buffer.from((again.labels.data as Uint32Array).buffer).equals(Buffer.from(labels.buffer))).toBe(true)
    const other = syntheticVolume({ shape, seed: 4 })
    expect(Buffer.from((other.raw.data as Uint8Array).buffer).equals(Buffer.from(raw.buffer))).toBe(false)
  })

  it('numbers cells 1..N in scan order of first appearance, with no 0', () => {
    let next = 1
    let bad = -1
    labels.forEach((id, i) => {
      if (id === next) next++
      else if (!(id > 0 && id < next) && bad < 0) bad = i
    })
    expect(bad).toBe(-1)
    expect(next - 1).toBeGreaterThan(10)
    expect(a.voxelSize).toEqual([40, 8, 8])
    expect(a.raw.voxelSize).toEqual([40, 8, 8])
  })

  it('draws dark membranes exactly where the labels change, bright cytoplasm away from them', () => {
    // Pixels whose in-plane neighbour has another label vs pixels 4+ px from any other label.
    let boundarySum = 0
    let boundaryN = 0
    let insideSum = 0
    let insideN = 0
    const at = (z: number, y: number, x: number) => labels[(z * h + y) * w + x]
    for (let z = 0; z < d; z++) {
      for (let y = 4; y < h - 4; y++) {
        for (let x = 4; x < w - 4; x++) {
          const id = at(z, y, x)
          const v = raw[(z * h + y) * w + x]
          if (at(z, y, x + 1) !== id || at(z, y + 1, x) !== id) {
            boundarySum += v
            boundaryN++
          } else {
            let far = true
            for (let dy = -4; dy <= 4 && far; dy++) for (let dx = -4; dx <= 4 && far; dx++) far = at(z, y + dy, x + dx) === id
            if (far) {
              insideSum += v
              insideN++
            }
          }
        }
      }
    }
    expect(boundaryN).toBeGreaterThan(1000)
    expect(boundarySum / boundaryN).toBeLessThan(110)
    expect(insideSum / insideN).toBeGreaterThan(150)
  })

  it('makes cells longer along z than across, per nm (anisotropic like serial sections)', () => {
    let changesZ = 0
    let changesX = 0
    for (let z = 0; z < d - 1; z++) {
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w - 1; x++) {
          const i = (z * h + y) * w + x
          if (labels[i] !== labels[i + h * w]) changesZ++
          if (labels[i] !== labels[i + 1]) changesX++
        }
      }
    }
    // Boundaries crossed per nm of travel: along z (40 nm steps) well below along x (8 nm steps).
    expect(changesZ / 40).toBeLessThan((0.6 * changesX) / 8)
  })
})
