import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { evalCommand } from '../../src/main/cli/commands/eval'
import { segment } from '../../src/main/cli/commands/segment'
import { readNpy, writeNpy } from '../../src/main/engine/io/npy'
import type { Vec3 } from '../../src/shared/types'
import { cellLabels, labelAffinities, widenBorders } from './synthetic'

async function output(run: () => Promise<number>): Promise<{ code: number; json: Record<string, unknown> }> {
  const lines: string[] = []
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((s) => (lines.push(String(s)), true))
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true)
  try {
    const code = await run()
    return { code, json: JSON.parse(lines.join('')) as Record<string, unknown> }
  } finally {
    out.mockRestore()
    err.mockRestore()
  }
}

afterEach(() => vi.restoreAllMocks())

describe('tokenunify segment and eval', () => {
  it('segments .npy affinities and scores the result against the labels they came from', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tu-seg-'))
    const shape: Vec3 = [8, 64, 64]
    const gt = widenBorders(cellLabels(shape, 20, 11), shape)
    const affs = labelAffinities(gt, shape, 0.15, 2)
    writeNpy(join(dir, 'affs.npy'), Float32Array.from(affs, (v) => v / 255), [3, ...shape])
    writeNpy(join(dir, 'gt.npy'), Int32Array.from(gt), shape) // signed ids, as Python scripts write them

    const s = await output(() => segment.run(['--affinities', join(dir, 'affs.npy'), '--out', join(dir, 'seg.npy')]))
    expect(s.code).toBe(0)
    expect(s.json).toMatchObject({ out: join(dir, 'seg.npy'), threshold: 0.5 })
    const seg = readNpy(join(dir, 'seg.npy'))
    expect(seg).toMatchObject({ dtype: 'uint32', shape })
    const ids = new Set(seg.data as Uint32Array)
    expect(Math.max(...ids)).toBe(ids.size) // consecutive ids 1..n, as the paper's relabel
    expect(s.json.segments).toBe(ids.size)

    const e = await output(() => evalCommand.run(['--seg', join(dir, 'seg.npy'), '--gt', join(dir, 'gt.npy')]))
    expect(Object.keys(e.json)).toEqual(['voi_split', 'voi_merge', 'voi', 'arand'])
    expect(e.json.voi as number).toBeLessThan(0.05)
    expect(e.json.voi).toBeCloseTo((e.json.voi_split as number) + (e.json.voi_merge as number), 12)

    // At threshold 0 nothing is merged: many more segments, and --top names the worst split.
    const f = await output(() =>
      segment.run(['--affinities', join(dir, 'affs.npy'), '--out', join(dir, 'seg.npy'), '--threshold', '0', '--fragments', '3d', '--overwrite']),
    )
    expect(f.json.segments as number).toBeGreaterThan(s.json.segments as number)
    const worse = await output(() => evalCommand.run(['--seg', join(dir, 'seg.npy'), '--gt', join(dir, 'gt.npy'), '--top', '2']))
    expect(worse.json.voi_split as number).toBeGreaterThan(e.json.voi_split as number)
    expect(worse.json.worst_splits).toHaveLength(2)
  })

  it('refuses bad options and missing files with a message', async () => {
    await expect(segment.run(['--affinities', 'a.npy'])).rejects.toThrow(/--affinities and --out are required/)
    await expect(segment.run(['--affinities', 'a.npy', '--out', 'b.npy', '--fragments', '4d'])).rejects.toThrow(/--fragments: 2d or 3d/)
    await expect(segment.run(['--affinities', 'a.npy', '--out', 'b.npy', '--threshold', '2'])).rejects.toThrow(/--threshold/)
    await expect(segment.run(['--affinities', '/nonexistent/a.npy', '--out', 'b.npy'])).rejects.toThrow(/no such file/)
    await expect(evalCommand.run(['--seg', 'x.npy'])).rejects.toThrow(/--seg and --gt are required/)
  })
})
