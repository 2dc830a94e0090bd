/**
 * bench/infer: TokenUnify inference speed per execution provider, at the default 16x160x160
 * patch, against a single large 3D Conv on the same provider timed in turn with the network in
 * the same process (fair on a shared machine); peak memory of each configuration (each runs in
 * its own process, read before the reference exists); and the selective scan's forms on CPU.
 *
 *   npx tsx bench/infer/index.ts [--providers cpu,webgpu] [--sizes base,small] [--threads N] [--runs 5]
 *
 * WebGPU is measured when a GPU device is visible (or when --providers names it; on a software
 * adapter such as lavapipe that is very slow). Weights are the official random initialisation.
 */
import { spawnSync } from 'node:child_process'
import { availableParallelism, cpus } from 'node:os'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { Graph, sizeOf } from '../../src/main/engine/graph/builder'
import { selectiveScanParallel, type Provider } from '../../src/main/engine/graph/lower'
import { OPS } from '../../src/main/engine/graph/ops'
import { sizeConfig, type SizeName } from '../../src/main/engine/model/config'
import { initialWeights } from '../../src/main/engine/model/init'
import { buildNetwork, INPUT } from '../../src/main/engine/model/network'
import { paramSpecs } from '../../src/main/engine/model/params'
import { native } from '../../src/main/engine/native'
import { Program } from '../../src/main/engine/runtime/program'
import { reasonToSkip, webgpuUnavailable } from '../../src/main/engine/runtime/providers'
import { selectiveScan } from '../../src/main/engine/runtime/scan'

const PATCH: [number, number, number] = [16, 160, 160]
const VOXELS = PATCH[0] * PATCH[1] * PATCH[2]
/** The reference: one large 3D Conv, 64 -> 64 channels, kernel 1x5x5 (the U-Net's), over the patch. */
const REF = { channels: 64, kernel: [1, 5, 5] }

interface Measured {
  seconds: number
  flops: number
  /** Peak resident memory of the process before the reference Conv was made. */
  maxRssMiB: number
  /** The reference Conv, timed in the same process between the network's runs. */
  ref?: { seconds: number; flops: number }
  scan?: string
  /** Share of a run spent in native scans (CPU split). */
  scanShare?: number
}

/** Best of the runs: on a shared machine the fastest run is the one least disturbed by others. */
const best = (xs: number[]) => Math.min(...xs)

async function timeOnce(program: Program, feeds: Record<string, Float32Array>): Promise<number> {
  const t = performance.now()
  await program.run(feeds)
  return (performance.now() - t) / 1000
}

/** The reference: one Conv3d over the patch, with its input. */
async function referenceConv(provider: Provider, threads: number | undefined) {
  const g = new Graph()
  const c = REF.channels
  const x = g.input(INPUT, 'float32', [1, c, ...PATCH])
  g.output('y', g.conv(x, g.param('w', [c, c, ...REF.kernel]), g.param('b', [c]), { pads: [0, 2, 2, 0, 2, 2] }))
  const w = new Float32Array(c * c * 25).fill(0.01)
  const program = await Program.create(g, { provider, threads, weights: (n) => (n === 'w' ? w : new Float32Array(c)) })
  return { program, feeds: { [INPUT]: new Float32Array(c * VOXELS).fill(0.5) }, flops: g.flops() }
}

/**
 * One measurement, in this process (the parent runs each in a child to get its peak memory).
 * The network and the reference Conv run in turn, so both see the same machine load.
 */
async function child(what: string, provider: Provider, threads: number | undefined, runs: number): Promise<Measured> {
  if (what.startsWith('scan-')) return scanForm(what.slice(5), runs)
  const config = sizeConfig(what as SizeName)
  const g = buildNetwork(config, { patch: PATCH, batch: 1 })
  const weights = initialWeights(config, 0)
  const program = await Program.create(g, { provider, threads, weights: (n) => weights.get(n)?.data })
  weights.clear()
  const feeds = { [INPUT]: Float32Array.from({ length: VOXELS }, (_, i) => ((i * 2654435761) % 255) / 255) }
  await program.run(feeds) // warm-up: first-touch allocations, kernel selection
  const maxRssMiB = process.resourceUsage().maxRSS / 1024
  const ref = await referenceConv(provider, threads)
  await ref.program.run(ref.feeds)
  const [net, conv]: number[][] = [[], []]
  let scanShare = 0
  for (let i = 0; i < runs; i++) {
    net.push(await timeOnce(program, feeds))
    const { onnxSeconds, scanSeconds } = program.lastTiming
    scanShare += scanSeconds / (onnxSeconds + scanSeconds) / runs
    conv.push(await timeOnce(ref.program, ref.feeds))
  }
  return { seconds: best(net), flops: g.flops(), maxRssMiB, ref: { seconds: best(conv), flops: ref.flops }, scan: program.scan, scanShare }
}

/** The 24 scans of one base-size patch: per stage, 2 layers x 3 directions of (channels, tokens). */
const BASE_SCANS = [
  { channels: 64, tokens: 51200 },
  { channels: 128, tokens: 6400 },
  { channels: 256, tokens: 800 },
  { channels: 512, tokens: 100 },
]

function scanInputs(channels: number, tokens: number) {
  const n = 16
  const rnd = (len: number, lo: number, hi: number) => Float32Array.from({ length: len }, (_, i) => lo + (hi - lo) * (((i * 2654435761) % 1000) / 1000))
  return {
    u: rnd(channels * tokens, -1, 1),
    delta: rnd(channels * tokens, 0.001, 1),
    A: rnd(channels * n, -16, -1),
    B: rnd(n * tokens, -1, 1),
    C: rnd(n * tokens, -1, 1),
  }
}

/** Seconds for the 24 scans of a base patch, one stage at a time (each stage's scan x 6). */
async function scanForm(form: string, runs: number): Promise<Measured> {
  let seconds = 0
  let flops = 0
  for (const { channels, tokens } of BASE_SCANS) {
    const ins = scanInputs(channels, tokens)
    const dims = { batch: 1, channels, tokens, state: 16 }
    flops += 6 * OPS.SelectiveScan.flops([{ shape: [1, channels, tokens] }, {}, { shape: [channels, 16] }] as never, [], {})
    if (form === 'parallel') {
      const g = new Graph()
      const v = {
        u: g.input('u', 'float32', [1, channels, tokens]),
        delta: g.input('delta', 'float32', [1, channels, tokens]),
        A: g.input('A', 'float32', [channels, 16]),
        B: g.input('B', 'float32', [1, 16, tokens]),
        C: g.input('C', 'float32', [1, 16, tokens]),
      }
      g.output('y', g.selectiveScan(v.u, v.delta, v.A, v.B, v.C))
      // In-graph on the CPU provider: lower the scan to its parallel form by hand.
      const program = await Program.create(lowerScan(g), { provider: 'cpu', weights: () => undefined })
      await program.run(ins)
      const times = []
      for (let i = 0; i < runs; i++) times.push(await timeOnce(program, ins))
      seconds += 6 * best(times)
      await program.dispose()
      continue
    }
    const isa = form as 'avx512' | 'avx2' | 'scalar'
    const once = async () => {
      const t = performance.now()
      await selectiveScan(ins.u, ins.delta, ins.A, ins.B, ins.C, dims, { isa })
      return (performance.now() - t) / 1000
    }
    await once()
    const times = []
    for (let i = 0; i < runs; i++) times.push(await once())
    seconds += 6 * best(times)
  }
  return { seconds, flops, maxRssMiB: process.resourceUsage().maxRSS / 1024 }
}

function lowerScan(g: Graph): Graph {
  const out = new Graph()
  const map = new Map(g.inputs.map((v) => [v.id, out.input(v.name, v.dtype, v.shape)]))
  const node = g.nodes[0]
  const [y] = selectiveScanParallel()(out, node, node.inputs.map((v) => map.get(v.id)!))
  out.output('y', y)
  return out
}

function runChild(args: string[]): Measured | string {
  const r = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--child', ...args], {
    encoding: 'utf8',
    maxBuffer: 1 << 24,
    timeout: 30 * 60 * 1000,
    env: { ...process.env, UV_THREADPOOL_SIZE: String(Math.max(4, availableParallelism())) },
  })
  const line = r.stdout.trim().split('\n').at(-1) ?? ''
  if (r.error) return `${r.error.message}`.slice(0, 120)
  if (r.status !== 0 || !line.startsWith('{')) return (r.stderr.trim().split('\n').filter((l) => !l.startsWith('Warning')).at(-1) ?? `exit ${r.status}`).slice(0, 120)
  return JSON.parse(line) as Measured
}

const fmt = {
  s: (x: number) => (x < 10 ? x.toFixed(3) : x.toFixed(1)),
  g: (x: number) => (x / 1e9).toFixed(1),
  mib: (x: number) => (x >= 1024 ? `${(x / 1024).toFixed(2)} GiB` : `${x.toFixed(0)} MiB`),
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)))
  return rows.map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ')).join('\n')
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      child: { type: 'boolean' },
      what: { type: 'string' },
      provider: { type: 'string', default: 'cpu' },
      providers: { type: 'string' },
      sizes: { type: 'string', default: 'base,small' },
      threads: { type: 'string' },
      runs: { type: 'string', default: '5' },
      'no-scan-forms': { type: 'boolean' },
    },
  })
  const threads = values.threads ? Number(values.threads) : undefined
  const runs = Number(values.runs)
  if (values.child) {
    const m = await child(values.what!, values.provider as Provider, threads, runs)
    process.stdout.write(`${JSON.stringify(m)}\n`)
    return
  }
  const asked = values.providers?.split(',') as Provider[] | undefined
  const providers: Provider[] = []
  for (const p of asked ?? (['cpu', 'webgpu', 'cuda'] as Provider[])) {
    const skip = p === 'cpu' ? undefined : p === 'webgpu' ? (asked ? await webgpuUnavailable() : reasonToSkip(p, 'auto') ?? (await webgpuUnavailable())) : reasonToSkip(p, p)
    if (skip) console.log(`${p}: not measured (${skip})`)
    else providers.push(p)
  }
  const common = [...(threads ? ['--threads', String(threads)] : []), '--runs', String(runs)]
  console.log(`bench/infer: patch ${PATCH.join('x')}, batch 1, best of ${runs} runs after a warm-up; ${cpus()[0]?.model ?? 'cpu'} x ${availableParallelism()}; scan kernel ${native().selectiveScanIsa()}`)
  console.log(`reference: one Conv3d ${REF.channels}->${REF.channels}, kernel ${REF.kernel.join('x')}, input (1,${REF.channels},${PATCH.join(',')}), run in turn with the network\n`)

  const rows = [['provider', 'what', 's/patch', 'voxels/s', 'GFLOP/patch', 'GFLOP/s', 'conv GFLOP/s', 'of conv', 'peak RSS', 'scan (time share)']]
  for (const provider of providers) {
    for (const size of values.sizes.split(',')) {
      const m = runChild(['--what', size, '--provider', provider, ...common])
      if (typeof m === 'string') {
        rows.push([provider, size, `failed: ${m}`, '', '', '', '', '', '', ''])
        continue
      }
      const rate = m.flops / m.seconds
      const refRate = m.ref!.flops / m.ref!.seconds
      const scan = m.scan === 'native' ? `native (${((m.scanShare ?? 0) * 100).toFixed(0)}%)` : (m.scan ?? '')
      rows.push([provider, `${size} (${(paramsOf(size as SizeName) / 1e6).toFixed(1)}M)`, fmt.s(m.seconds), (VOXELS / m.seconds).toFixed(0), fmt.g(m.flops), fmt.g(rate), fmt.g(refRate), `${((100 * rate) / refRate).toFixed(0)}%`, fmt.mib(m.maxRssMiB), scan])
    }
  }
  console.log(table(rows))

  if (!values['no-scan-forms'] && providers.includes('cpu')) {
    console.log('\nselective scan forms on CPU: the 24 scans of one base patch (6 per stage; stage 0 is 64 channels x 51200 tokens)')
    const forms = [['native-avx512', 'scan-avx512'], ['native-avx2', 'scan-avx2'], ['native-scalar', 'scan-scalar'], ['parallel in ONNX Runtime', 'scan-parallel']]
    const scanRows = [['form', 's/patch', 'GFLOP/s', 'vs fastest native', 'peak RSS']]
    let best = Infinity
    const results = forms.map(([name, what]) => {
      const m = runChild(['--what', what, '--provider', 'cpu', '--runs', '1'])
      if (typeof m !== 'string' && name.startsWith('native')) best = Math.min(best, m.seconds)
      return [name, m] as const
    })
    for (const [name, m] of results) {
      if (typeof m === 'string') scanRows.push([name, `failed: ${m}`, '', '', ''])
      else scanRows.push([name, fmt.s(m.seconds), fmt.g(m.flops / m.seconds), `${(m.seconds / best).toFixed(1)}x`, fmt.mib(m.maxRssMiB)])
    }
    console.log(table(scanRows))
  }
}

function paramsOf(size: SizeName): number {
  return paramSpecs(sizeConfig(size)).reduce((n, s) => n + sizeOf(s.shape), 0)
}

await main()
