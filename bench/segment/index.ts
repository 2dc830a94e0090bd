/**
 * bench/segment: speed and memory of the segmentation on 128 x 512 x 512 uint8 affinities made
 * from a synthetic label volume (test/segment/synthetic.ts), against two references measured in
 * the same run: one native pass over the same affinity bytes (the histogram), and scikit-image's
 * watershed on the same input (bench/segment/skimage_watershed.py, Debian's python3-skimage).
 *
 *   npx tsx bench/segment/index.ts [--shape 128,512,512] [--no-skimage]
 *
 * Every native stage runs on one worker thread, so CPU seconds are one core's time; wall seconds
 * also count waiting for a busy machine. Working memory (bytes per voxel beyond the input) is the
 * growth of the peak resident size of a child process over each stage: fragments (uint32 ids,
 * which stay), then region graph + agglomeration (graph and merge history, which stay).
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { readNpy, writeNpy } from '../../src/main/engine/io/npy'
import { native } from '../../src/main/engine/native'
import { computeFragments } from '../../src/main/engine/segment/fragments'
import { buildRegionGraph } from '../../src/main/engine/segment/graph'
import { agglomerate } from '../../src/main/engine/segment/agglomerate'
import { meshSegment } from '../../src/main/engine/segment/mesh'
import { evaluate } from '../../src/main/engine/segment/metrics'
import { Segmentation } from '../../src/main/engine/segment/segmentation'
import type { Affinities } from '../../src/main/engine/segment/types'
import type { Vec3 } from '../../src/shared/types'
import { cellLabels, labelAffinities, widenBorders } from '../../test/segment/synthetic'

interface Timed<T> {
  value: T
  wall: number
  cpu: number
}

async function timed<T>(fn: () => Promise<T> | T): Promise<Timed<T>> {
  const c = process.cpuUsage()
  const t = performance.now()
  const value = await fn()
  const used = process.cpuUsage(c)
  return { value, wall: (performance.now() - t) / 1000, cpu: (used.user + used.system) / 1e6 }
}

function status(field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'))
  return m ? Number(m[1]) * 1024 : NaN
}

/** Peak resident bytes `fn` adds to the process (Linux: VmHWM reset through clear_refs). */
async function peakOf<T>(fn: () => Promise<T>): Promise<{ value: T; bytes: number }> {
  ;(globalThis as { gc?: () => void }).gc?.()
  writeFileSync('/proc/self/clear_refs', '5') // resets the peak (VmHWM) to the current size
  const base = status('VmRSS')
  const value = await fn()
  return { value, bytes: status('VmHWM') - base }
}

interface MemoryResult {
  /** Fragments (2D, uint32), beyond the input. */
  fragments: number
  /** Region graph + agglomeration, beyond the input and the fragments. */
  agglomeration: number
}

/** Child: peak working memory of the stages beyond the loaded input. */
async function memoryChild(file: string): Promise<void> {
  const npy = readNpy(file)
  const affinities: Affinities = { data: npy.data as Uint8Array, shape: npy.shape.slice(1) as Vec3 }
  const f = await peakOf(() => computeFragments(affinities, { mode: '2d' }))
  const a = await peakOf(() => Segmentation.fromFragments(f.value.fragments, affinities))
  const result: MemoryResult = { fragments: f.bytes, agglomeration: a.bytes }
  process.stdout.write(JSON.stringify(result))
}

function runMemoryChild(file: string): MemoryResult | string {
  const r = spawnSync(process.execPath, ['--expose-gc', ...process.execArgv, fileURLToPath(import.meta.url), '--memory', file], {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  })
  if (r.status !== 0) return `failed: ${(r.stderr || r.error?.message || '').trim().split('\n').at(-1)}`
  try {
    return JSON.parse(r.stdout) as MemoryResult
  } catch {
    return `no result (${r.stdout.slice(0, 80)})`
  }
}

function runSkimage(file: string): { seconds: number; cpu_seconds: number; fragments: number } | string {
  const script = join(import.meta.dirname, 'skimage_watershed.py')
  const r = spawnSync('/usr/bin/python3', [script, file], { encoding: 'utf8', maxBuffer: 1 << 20 })
  if (r.status !== 0) return `not run: ${(r.stderr || r.error?.message || '').trim().split('\n').at(-1)}`
  return JSON.parse(r.stdout) as { seconds: number; cpu_seconds: number; fragments: number }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { shape: { type: 'string', default: '128,512,512' }, 'no-skimage': { type: 'boolean', default: false }, memory: { type: 'string' } },
  })
  if (values.memory) return memoryChild(values.memory)
  const shape = values.shape.split(',').map(Number) as Vec3
  const voxels = shape[0] * shape[1] * shape[2]
  const mvox = (seconds: number) => (voxels / 1e6 / seconds).toFixed(2)

  const made = await timed(() => {
    const labels = widenBorders(cellLabels(shape, 24, 1), shape)
    return { labels, affinities: { data: labelAffinities(labels, shape, 0.15, 2), shape } as Affinities }
  })
  const { labels, affinities } = made.value
  const dir = mkdtempSync(join(tmpdir(), 'bench-segment-'))
  const file = join(dir, 'affinities.npy')
  writeNpy(file, affinities.data, [3, ...shape])
  process.stdout.write(`affinities ${shape.join('x')} uint8 (3 x ${(voxels / 1e6).toFixed(1)} M values), made in ${made.wall.toFixed(1)} s\n\n`)

  const pass = await timed(() => native().histogram(affinities.data, 256, 0, 255))
  const f2 = await timed(() => computeFragments(affinities, { mode: '2d' }))
  const f3 = await timed(() => computeFragments(affinities, { mode: '3d' }))
  const fragments = f2.value.fragments
  const graph = await timed(() => buildRegionGraph(fragments, affinities))
  const history = await timed(() => agglomerate(graph.value))
  const seg = await Segmentation.fromFragments(fragments, affinities)
  // A threshold change is a union-find over a prefix of the history (no native work).
  const change = await timed(() => {
    let n = 0
    for (const t of [0.3, 0.4, 0.6, 0.7, 0.5]) n += seg.fragmentMap(t).segments.length
    return n
  })
  const segmented = await timed(() => seg.labels(0.5))
  const scores = await timed(() => evaluate(segmented.value, { data: labels, shape }))
  const largest = scores.value.merges.length ? scores.value.merges.reduce((a, b) => (a.bits > b.bits ? a : b)).id : 1
  const mesh = await timed(() => meshSegment(segmented.value, largest, { voxelSize: [40, 8, 8] }))
  const memory = runMemoryChild(file)
  const ski = values['no-skimage'] ? 'skipped (--no-skimage)' : runSkimage(file)
  rmSync(dir, { recursive: true, force: true })

  const pipeline = { wall: f2.wall + graph.wall + history.wall, cpu: f2.cpu + graph.cpu + history.cpu }
  const rows: string[][] = [['stage', 'wall s', 'CPU s', 'Mvox/s (CPU)', 'x memory pass', 'note']]
  const row = (name: string, t: { wall: number; cpu: number }, note = '') =>
    rows.push([name, t.wall.toFixed(3), t.cpu.toFixed(3), mvox(t.cpu), (t.cpu / pass.cpu).toFixed(1), note])
  row('memory pass (reference)', pass, 'native histogram of the 3 affinity channels')
  row('fragments 2D', f2, `${f2.value.count} fragments, per z-slice (the paper's)`)
  row('fragments 3D', f3, `${f3.value.count} fragments; ${(f3.cpu / f2.cpu).toFixed(2)}x the 2D time`)
  row('region graph', graph, `${graph.value.u.length} edges, ${graph.value.bins.length} links`)
  row('agglomeration', history, `${history.value.length} merges (full history, waterz scoring)`)
  row('fragments 2D + graph + agglomeration', pipeline, 'target >= 3 Mvox/s on one core')
  row('threshold change', { wall: change.wall / 5, cpu: change.cpu / 5 }, `fragment -> segment map of ${seg.graph.ids.length} fragments (TS)`)
  row('labels at a threshold', segmented, 'native map pass over the volume')
  row('metrics (VOI, ARAND)', scores, `VOI ${scores.value.voi.toFixed(4)}, ARAND ${scores.value.arand.toFixed(4)} vs the labels`)
  row('mesh of one segment', mesh, `${mesh.value.indices.length / 3} triangles (segment ${largest})`)
  if (typeof ski !== 'string') {
    rows.push(['scikit-image watershed (2D)', ski.seconds.toFixed(3), ski.cpu_seconds.toFixed(3), mvox(ski.cpu_seconds), (ski.cpu_seconds / pass.cpu).toFixed(1), `${ski.fragments} markers; watershed call only`])
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)))
  for (const [i, r] of rows.entries()) {
    process.stdout.write(`${r.map((cell, c) => (c === 0 || c === 5 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ')}\n`)
    if (i === 0) process.stdout.write(`${widths.map((w) => '-'.repeat(w)).join('  ')}\n`)
  }
  process.stdout.write('\n')
  process.stdout.write(`fragments + agglomeration: ${mvox(pipeline.cpu)} Mvox/s on one core (target >= 3)\n`)
  const perVoxel = (bytes: number) => (bytes / voxels).toFixed(1)
  process.stdout.write(
    typeof memory === 'string'
      ? `working memory: ${memory}\n`
      : `working memory beyond the input: fragments ${perVoxel(memory.fragments)} + region graph and agglomeration ${perVoxel(memory.agglomeration)} = ${perVoxel(memory.fragments + memory.agglomeration)} bytes/voxel (target <= 16)\n`,
  )
  process.stdout.write(
    typeof ski === 'string'
      ? `scikit-image reference: ${ski}\n`
      : `fragments + agglomeration are ${(ski.cpu_seconds / pipeline.cpu).toFixed(2)}x faster than scikit-image's watershed alone (CPU time; target > 1)\n`,
  )
}

await main()
