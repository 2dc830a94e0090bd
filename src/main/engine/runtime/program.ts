/**
 * A builder graph made runnable on one execution provider. On CPU the graph is split around its
 * selective scans: ONNX Runtime runs the parts, the native kernel runs each scan between them on
 * libuv workers (the three scan directions of a Mamba layer at once), and the runtime's output
 * arrays are handed to the kernel without copies. GPU providers get one graph whose scans are
 * the parallel form from standard ops.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as ort from 'onnxruntime-node'
import { StudioError } from '../../../shared/errors'
import { sizeOf, type Graph, type Node } from '../graph/builder'
import { emitModel, fitsInline, wholeGraph, writeModel, type GraphPart, type WeightLookup } from '../graph/emit'
import { fuseSoftplusIntoScan, lower, LOWERINGS, selectiveScanParallel, type Provider } from '../graph/lower'
import { partition, type Step } from '../graph/partition'
import { nativeAvailable } from '../native'
import { selectiveScan } from './scan'

export interface ProgramOptions {
  provider: Provider
  weights: WeightLookup
  /** ONNX Runtime intra-op threads and scan workers; default: ONNX Runtime's choice. */
  threads?: number
  /**
   * Parts whose weights exceed this many bytes are written to a temporary folder with their
   * weights as external data and loaded from there (protobuf holds at most 2 GB); default 1.8 GiB.
   */
  inlineWeightLimit?: number
}

type Feeds = Record<string, Float32Array>

interface SessionStep {
  kind: 'onnx'
  session: ort.InferenceSession
  inputs: string[]
  outputs: string[]
}
interface ScanStep {
  kind: 'native'
  inputs: string[]
  output: string
  dims: { batch: number; channels: number; tokens: number; state: number }
  deltaSoftplus: boolean
}

export class Program {
  private constructor(
    readonly provider: Provider,
    private readonly steps: (SessionStep | ScanStep)[],
    /** After step i, the values no later step reads. */
    private readonly freeAfter: string[][],
    private readonly inputs: Map<string, readonly number[]>,
    private readonly outputs: Map<string, readonly number[]>,
    private readonly threads: number | undefined,
    /** Model files with external weights, removed on dispose. */
    private readonly tempDir: string | undefined,
  ) {}

  /**
   * Lowers, emits and loads `graph` for `options.provider`; throws if the provider cannot. On CPU
   * without the native addon the scans run in-graph in their parallel form (slower, but it runs).
   */
  static async create(graph: Graph, options: ProgramOptions): Promise<Program> {
    const split = options.provider === 'cpu' && nativeAvailable()
    const rules = split
      ? { ...LOWERINGS.cpu, ...fuseSoftplusIntoScan(graph) }
      : options.provider === 'cpu'
        ? { ...LOWERINGS.cpu, SelectiveScan: selectiveScanParallel() }
        : LOWERINGS[options.provider]
    const lowered = lower(graph, rules)
    const sessionOptions: ort.InferenceSession.SessionOptions = {
      executionProviders: [options.provider],
      graphOptimizationLevel: 'all',
      // Each part is its own session; with arenas every one would keep its peak working memory.
      enableCpuMemArena: false,
      // Idle ONNX Runtime threads would spin through the native scans between parts and take
      // their cores (a base patch ran 1.4x slower with spinning on 2 cores).
      extra: { session: { intra_op: { allow_spinning: '0' } } },
      ...(options.threads ? { intraOpNumThreads: options.threads, interOpNumThreads: 1 } : {}),
    }
    const planned: Step[] = split ? partition(lowered, (n) => n.op === 'SelectiveScan').steps : [{ kind: 'onnx', part: wholeGraph(lowered) }]
    const names = planned.find((s) => s.kind === 'onnx')?.part.names ?? new Map<number, string>()
    const nameOf = (id: number) => names.get(id) ?? String(id)
    const steps: (SessionStep | ScanStep)[] = []
    let tempDir: string | undefined
    const load = async (part: GraphPart) => {
      if (fitsInline(part, options.inlineWeightLimit)) return ort.InferenceSession.create(emitModel(part, { weights: options.weights }).bytes, sessionOptions)
      tempDir ??= mkdtempSync(join(tmpdir(), 'tokenunify-model-'))
      const file = join(tempDir, `part${steps.length}.onnx`)
      writeModel(file, part, { weights: options.weights, external: true })
      return ort.InferenceSession.create(file, sessionOptions)
    }
    try {
      for (const step of planned) {
        if (step.kind === 'native') {
          steps.push(scanStep(step.node, nameOf))
          continue
        }
        const session = await load(step.part)
        steps.push({ kind: 'onnx', session, inputs: step.part.inputs.map((v) => nameOf(v.id)), outputs: step.part.outputs.map((v) => nameOf(v.id)) })
      }
    } catch (err) {
      await Promise.all(steps.map((s) => (s.kind === 'onnx' ? s.session.release() : undefined)))
      if (tempDir) rmSync(tempDir, { recursive: true, force: true })
      throw err
    }
    const outputs = new Map([...lowered.outputs].map(([name, v]) => [name, v.shape]))
    const inputs = new Map(lowered.inputs.map((v) => [v.name, v.shape]))
    return new Program(options.provider, steps, freeAfter(steps, new Set(outputs.keys())), inputs, outputs, options.threads, tempDir)
  }

  /** Runs the graph; returns every graph output as a float32 array (C order). */
  async run(feeds: Feeds): Promise<Map<string, Float32Array>> {
    const values = new Map<string, ort.Tensor>()
    for (const [name, shape] of this.inputs) {
      const data = feeds[name]
      if (!data || data.length !== sizeOf(shape)) {
        throw new StudioError('bad_input', `input ${name} needs ${sizeOf(shape)} float32 values (${shape.join('x')}), got ${data?.length ?? 'none'}`)
      }
      values.set(name, new ort.Tensor('float32', data, [...shape]))
    }
    const get = (name: string) => {
      const t = values.get(name)
      if (!t) throw new StudioError('internal', `program: value ${name} is not computed yet`)
      return t
    }
    const timing = { onnxSeconds: 0, scanSeconds: 0 }
    for (let i = 0; i < this.steps.length; i++) {
      const step = this.steps[i]
      const started = performance.now()
      if (step.kind === 'onnx') {
        const result = await step.session.run(Object.fromEntries(step.inputs.map((n) => [n, get(n)])))
        for (const n of step.outputs) values.set(n, result[n] as ort.Tensor)
        timing.onnxSeconds += (performance.now() - started) / 1000
      } else {
        // Scans that follow each other are independent (same level): run them together.
        const batch: ScanStep[] = []
        for (let j = i; j < this.steps.length && this.steps[j].kind === 'native'; j++) batch.push(this.steps[j] as ScanStep)
        await Promise.all(
          batch.map(async (s) => {
            const [u, delta, A, B, C] = s.inputs.map((n) => get(n).data as Float32Array)
            const y = await selectiveScan(u, delta, A, B, C, s.dims, { workers: this.threads, deltaSoftplus: s.deltaSoftplus })
            values.set(s.output, new ort.Tensor('float32', y, [s.dims.batch, s.dims.channels, s.dims.tokens]))
          }),
        )
        timing.scanSeconds += (performance.now() - started) / 1000
        for (let j = i; j < i + batch.length; j++) for (const n of this.freeAfter[j]) values.delete(n)
        i += batch.length - 1
        continue
      }
      for (const n of this.freeAfter[i]) values.delete(n)
    }
    this.lastTiming = timing
    return new Map([...this.outputs.keys()].map((n) => [n, get(n).data as Float32Array]))
  }

  /** Where the last run spent its time: ONNX Runtime sessions, and native scans between them. */
  lastTiming = { onnxSeconds: 0, scanSeconds: 0 }

  /** How the selective scans run: the native kernel between ONNX parts, or inside the graph. */
  get scan(): 'native' | 'in-graph' {
    return this.steps.some((s) => s.kind === 'native') ? 'native' : 'in-graph'
  }

  /** How many ONNX Runtime sessions and native scans one run goes through. */
  get shape(): { sessions: number; scans: number } {
    return { sessions: this.steps.filter((s) => s.kind === 'onnx').length, scans: this.steps.filter((s) => s.kind === 'native').length }
  }

  async dispose(): Promise<void> {
    await Promise.all(this.steps.map((s) => (s.kind === 'onnx' ? s.session.release() : undefined)))
    if (this.tempDir) rmSync(this.tempDir, { recursive: true, force: true })
  }
}

function scanStep(node: Node, nameOf: (id: number) => string): ScanStep {
  const [u, , A] = node.inputs
  const [batch, channels, tokens] = u.shape
  return {
    kind: 'native',
    inputs: node.inputs.map((v) => nameOf(v.id)),
    output: nameOf(node.outputs[0].id),
    dims: { batch, channels, tokens, state: A.shape[1] },
    deltaSoftplus: node.attrs.deltaSoftplus === 1,
  }
}

function freeAfter(steps: (SessionStep | ScanStep)[], keep: Set<string>): string[][] {
  const last = new Map<string, number>()
  steps.forEach((s, i) => {
    for (const n of s.inputs) last.set(n, i)
  })
  const free: string[][] = steps.map(() => [])
  for (const [n, i] of last) if (!keep.has(n)) free[i].push(n)
  return free
}
