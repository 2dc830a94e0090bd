/**
 * The renderer's own chunking of a volume into boxes that become 3D textures. It is independent
 * of the file's chunking: sized so one slice change rarely needs new data and one texture stays
 * well under WebGL's 3D texture limit.
 */
import type { Box3, Vec3 } from '../../../shared/types'

export type ChunkKey = string

export class ChunkGrid {
  readonly counts: Vec3

  constructor(
    readonly shape: Vec3,
    readonly chunkShape: Vec3,
  ) {
    this.counts = [0, 1, 2].map((a) => Math.ceil(shape[a] / chunkShape[a])) as Vec3
  }

  /** Chunk shape for a volume: thin in z for anisotropic EM (z voxels much larger than xy). */
  static forVolume(shape: Vec3, voxelSize: Vec3): ChunkGrid {
    const anisotropic = voxelSize[0] >= 2 * Math.min(voxelSize[1], voxelSize[2])
    const base: Vec3 = anisotropic ? [16, 128, 128] : [64, 64, 64]
    return new ChunkGrid(shape, base.map((c, a) => Math.min(c, shape[a])) as Vec3)
  }

  key(c: Vec3): ChunkKey {
    return `${c[0]},${c[1]},${c[2]}`
  }

  box(c: Vec3): Box3 {
    const start = c.map((i, a) => i * this.chunkShape[a]) as Vec3
    const stop = start.map((s, a) => Math.min(this.shape[a], s + this.chunkShape[a])) as Vec3
    return { start, stop }
  }

  /** The chunk holding integer voxel `v`. */
  chunkOf(v: Vec3): Vec3 {
    return v.map((c, a) => Math.floor(c / this.chunkShape[a])) as Vec3
  }

  /** Every chunk that intersects `box`, nearest to `centre` (voxels) first. */
  chunksIn(box: Box3, centre: Vec3): Vec3[] {
    const lo = this.chunkOf(box.start)
    const hi = this.chunkOf(box.stop.map((s) => s - 1) as Vec3)
    const out: Vec3[] = []
    for (let z = lo[0]; z <= hi[0]; z++)
      for (let y = lo[1]; y <= hi[1]; y++) for (let x = lo[2]; x <= hi[2]; x++) out.push([z, y, x])
    const dist = (c: Vec3) =>
      c.reduce((sum, i, a) => {
        const mid = (i + 0.5) * this.chunkShape[a]
        return sum + ((mid - centre[a]) / this.chunkShape[a]) ** 2
      }, 0)
    return out.sort((a, b) => dist(a) - dist(b))
  }

  /** The chunk on the other side of `c` along `axis` (+1 or -1), or null past the edge. */
  neighbour(c: Vec3, axis: number, step: number): Vec3 | null {
    const n: Vec3 = [...c]
    n[axis] += step
    return n[axis] >= 0 && n[axis] < this.counts[axis] ? n : null
  }
}
