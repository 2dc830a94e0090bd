/** Shared by memory.test.ts and its child process: what was written where. */
export interface ChildVolume {
  path: string
  /** z-slices the parent wrote with `pattern`; all other voxels are 0. */
  written: number[]
  /** Rows y0..y1 of the written slices that hold the pattern (default: all). */
  writtenRows?: [number, number]
}

/** The value the parent wrote at (z, y, x) of a written slice. */
export function pattern(z: number, y: number, x: number): number {
  return (z * 7 + y * 3 + x) % 251
}
