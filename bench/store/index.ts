/**
 * Project store speed at 1,000,000 fragments: current-state queries, merge and split of a
 * 10,000-fragment segment, undo latency, small edits per second, and opening (replay) — each with
 * its ratio to two references measured in the same run: a plain SELECT by primary key, and an
 * empty write transaction (BEGIN IMMEDIATE + commit with synchronous=FULL: the fsync floor of
 * every edit).
 * Run: npx tsx bench/store/index.ts   (BENCH_FRAGMENTS, BENCH_RUNS to change the size)
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { writeTransaction } from '../../src/main/engine/store/database'
import { createProject, openProject, type Project } from '../../src/main/engine/store/project'
import type { Vec3 } from '../../src/shared/types'

const FRAGMENTS = Number(process.env.BENCH_FRAGMENTS ?? 1_000_000)
const RUNS = Number(process.env.BENCH_RUNS ?? 15)
const BIG = 10_000
const LABELS: Vec3 = [200, 1024, 1024]

/** Median milliseconds of `runs` calls of `fn`; `after` (untimed) restores the state between runs. */
function time(runs: number, fn: () => void, after: () => void = () => {}): number {
  const ms: number[] = []
  for (let i = 0; i < runs; i++) {
    const t = performance.now()
    fn()
    ms.push(performance.now() - t)
    after()
  }
  return ms.sort((a, b) => a - b)[Math.floor(ms.length / 2)]
}

/**
 * Base assignment: segments 1 and 2 hold 10,000 fragments each, spread over the whole id range
 * (every 100th fragment), as a long neurite's fragments are; the rest sit in segments of 10.
 */
function baseAssignment(n: number): { fragments: Float64Array; segments: Float64Array } {
  const fragments = Float64Array.from({ length: n }, (_, i) => i + 1)
  const segments = new Float64Array(n)
  const stride = Math.floor(n / BIG)
  let rest = 0
  for (let i = 0; i < n; i++) {
    const r = i % stride
    segments[i] = r === 0 && i / stride < BIG ? 1 : r === 1 && i / stride < BIG ? 2 : 3 + Math.floor(rest++ / 10)
  }
  return { fragments, segments }
}

function main(): void {
  const root = mkdtempSync(join(tmpdir(), 'tu-bench-store-'))
  const dir = join(root, 'p')
  const p = createProject(dir, { author: 'bench' })
  const run = p.addSegmentationRun({ thresholds: { merge: 0.5 }, labelShape: LABELS })
  const base = baseAssignment(FRAGMENTS)
  const tLoad = performance.now()
  p.setBaseAssignment(run, base.fragments, base.segments)
  p.info()
  const loadMs = performance.now() - tLoad
  const rows: [string, number][] = []
  const add = (name: string, ms: number) => rows.push([name, ms])

  // References.
  p.note('reference row')
  const byKey = p.db.prepare('SELECT id, kind, state FROM edits WHERE id = ?')
  const selectMs = time(5, () => {
    for (let i = 0; i < 10_000; i++) byKey.get(1)
  }) / 10_000

  // Current-state queries.
  let sink = 0
  add('segment of a fragment', time(5, () => {
    for (let i = 0; i < 100_000; i++) sink += p.segmentOf(1 + ((i * 7919) % FRAGMENTS))
  }) / 100_000)
  add(`fragments of a ${BIG}-fragment segment`, time(RUNS, () => (sink += p.fragmentsOf(1).length)))
  add('state of a segment (size, flags)', time(5, () => {
    for (let i = 0; i < 10_000; i++) sink += p.segmentState(3 + (i % 1000)).fragments
  }) / 10_000)

  // A real change (the bookmark table is not part of the edit history), so the commit writes and
  // syncs; measured here, among the edits, because a sync costs more while the -wal file grows
  // than once it is reused after a checkpoint.
  const bump = p.db.prepare('UPDATE bookmarks SET title = ? WHERE id = ?')
  const bookmark = p.bookmarks.add([0, 0, 0], 'reference', 'bench').id
  let k = 0
  const commitMs = time(RUNS * 2, () => writeTransaction(p.db, () => bump.run(`reference ${k++}`, bookmark)))

  // Big edits: each run is undone (untimed) so the next starts from the same state.
  add(`merge of a ${BIG}-fragment segment`, time(RUNS, () => p.merge(1, 2), () => p.undo()))
  const half = p.fragmentsOf(1).subarray(0, BIG / 2)
  add(`split of a ${BIG}-fragment segment (half moves)`, time(RUNS, () => p.split(1, half), () => p.undo()))
  const all2 = p.fragmentsOf(2)
  p.merge(1, 2)
  add(`split ${BIG} fragments off a ${2 * BIG}-fragment segment`, time(RUNS, () => p.split(1, all2), () => p.undo()))
  add(`undo of a ${BIG}-fragment merge`, time(RUNS, () => p.undo(), () => p.redo()))
  add(`redo of a ${BIG}-fragment merge`, time(RUNS, () => p.redo(), () => p.undo()))
  p.undo()

  // Small edits, as a proofreader makes them.
  const smallMerges = 200
  const t = performance.now()
  for (let i = 0; i < smallMerges; i++) p.merge(3 + 2 * i, 4 + 2 * i)
  const smallMs = (performance.now() - t) / smallMerges
  add('merge of two 10-fragment segments', smallMs)
  add('undo of a small merge', time(RUNS, () => p.undo(), () => p.redo()))
  const indices = Float64Array.from({ length: 1000 }, (_, i) => 5_000_000 + (i % 40) + 1024 * Math.floor(i / 40))
  const before = Float64Array.from({ length: 1000 }, (_, i) => 500_000 + (i % 7))
  add('paint of 1,000 voxels', time(RUNS, () => p.paint({ indices, before, fragment: 11 }), () => p.undo()))
  add('review of a segment', time(RUNS, () => p.review([5]), () => p.undo()))
  add('frozen() with 200 reviewed segments', (() => {
    for (let i = 0; i < 200; i++) p.review([3 + 2 * i])
    return time(RUNS, () => (sink += p.frozen().fragments.length))
  })())
  const edits = p.info().appliedEdits
  p.close()
  let opened: Project | null = null
  add(`open: load ${FRAGMENTS.toLocaleString('en')} fragments + replay ${edits} edits`, time(3, () => (opened = openProject(dir)), () => opened?.close()))

  const fmt = (ms: number) => (ms < 0.01 ? `${(ms * 1000).toFixed(2)} us` : ms < 1 ? `${(ms * 1000).toFixed(0)} us` : `${ms.toFixed(1)} ms`)
  const width = Math.max(...rows.map(([name]) => name.length), 40)
  console.log(`\nProject store at ${FRAGMENTS.toLocaleString('en')} fragments (median of ${RUNS} runs; label volume ${LABELS.join('x')})`)
  console.log(`base assignment written and loaded once: ${fmt(loadMs)}\n`)
  console.log(`${'operation'.padEnd(width)}  ${'time'.padStart(10)}  ${'x SELECT by key'.padStart(16)}  ${'x empty commit'.padStart(15)}`)
  const line = (name: string, ms: number) =>
    console.log(`${name.padEnd(width)}  ${fmt(ms).padStart(10)}  ${(ms / selectMs).toFixed(1).padStart(16)}  ${(ms / commitMs).toFixed(2).padStart(15)}`)
  line('reference: SELECT by primary key', selectMs)
  line('reference: empty write transaction (fsync)', commitMs)
  for (const [name, ms] of rows) line(name, ms)
  console.log(`\nsmall edits per second: ${(1000 / smallMs).toFixed(0)}   (checksum ${sink % 7})`)
  rmSync(root, { recursive: true, force: true })
}

main()
