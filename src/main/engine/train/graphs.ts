/**
 * Training graphs, built from the one network definition (model/network.ts):
 *
 * - the loss: the official weighted MSE (TOKENUNIFY.md section 5) on the sigmoid output,
 *   sum(weight * (p - target)^2) / (B * D * H * W); a loss mask enters as zeros in `weight`;
 * - the gradient graph: loss and d loss / d every parameter (`tokenunify model grad`, parity tests);
 * - the training step for a trainable scope (head, decoder, all): the network is cut where work
 *   on frozen weights meets the rest. The frozen part becomes a feature graph, run once per sample
 *   and cached; the step graph takes those features (and the input, where it still reads it), the
 *   trainable weights and their AdamW moments, and returns the loss, the updated weights and the
 *   updated moments.
 */
import { StudioError } from '../../../shared/errors'
import type { Vec3 } from '../../../shared/types'
import { gradients } from '../autodiff/gradients'
import { Graph, type Node, type Value } from '../graph/builder'
import type { NetworkConfig } from '../model/config'
import { buildNetwork, OUTPUT } from '../model/network'
import { paramSpecs, type ParamSpec } from '../model/params'

export type Scope = 'head' | 'decoder' | 'all'
export const SCOPES: readonly Scope[] = ['head', 'decoder', 'all']

/** Graph input names of the loss. */
export const TARGET = 'target'
export const WEIGHT = 'weight'
export const LOSS = 'loss'

/** Name of a gradient output of the gradient graph. */
export const gradName = (param: string) => `grad:${param}`

/** Parameters a scope trains: the output head; the decoder with the head; everything. */
export function trainableParams(config: NetworkConfig, scope: Scope): ParamSpec[] {
  const all = paramSpecs(config)
  if (scope === 'all') return all
  const prefixes = scope === 'head' ? ['out.'] : ['out.', 'decoder']
  return all.filter((p) => prefixes.some((prefix) => p.name.startsWith(prefix)))
}

/** timm's add_weight_decay: no decay on 1-D tensors and biases. */
export function decays(p: ParamSpec): boolean {
  return p.shape.length > 1 && !p.name.endsWith('.bias')
}

/** Appends the weighted MSE of `prob` against new inputs `target` and `weight`; returns the loss (a scalar). */
export function addLoss(g: Graph, prob: Value): Value {
  const target = g.input(TARGET, 'float32', prob.shape)
  const weight = g.input(WEIGHT, 'float32', prob.shape)
  const [b, , ...grid] = prob.shape
  const diff = g.sub(prob, target)
  const sum = g.reduceSum(g.mul(weight, g.mul(diff, diff)), prob.shape.map((_, i) => i), false)
  return g.mul(sum, g.f32(1 / (b * grid.reduce((p, d) => p * d, 1))))
}

export interface PatchOptions {
  patch: Vec3
  batch: number
}

/**
 * The network with its loss and the gradient of every parameter (or of `params`): inputs
 * `input`, `target`, `weight`; outputs `loss` and `grad:<name>`; weights are bound when emitted.
 */
export function gradientGraph(config: NetworkConfig, options: PatchOptions & { params?: readonly string[] }): Graph {
  const g = buildNetwork(config, options)
  const loss = addLoss(g, g.outputs.get(OUTPUT)!)
  g.outputs.delete(OUTPUT)
  g.output(LOSS, loss)
  const names = options.params ?? paramSpecs(config).map((p) => p.name)
  const params = names.map((n) => {
    const v = g.params.get(n)
    if (!v) throw new StudioError('bad_input', `the network has no parameter ${n}`)
    return v
  })
  gradients(g, [[loss, g.f32(1)]], params).forEach((d, i) => g.output(gradName(names[i]), ownValue(g, d)))
  return g
}

/** A graph output must be made by an op of its own (not an input, param or another output). */
function ownValue(g: Graph, v: Value): Value {
  return v.source.kind === 'node' && ![...g.outputs.values()].includes(v) ? v : g.op('Mul', [v, g.f32(1)])
}

export const ADAM = { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.05 } as const

/** Scalar inputs of the step graph, recomputed each step (adamScalars). */
export const STEP_SIZE = 'adam.step_size'
export const BC2_ROOT = 'adam.inv_sqrt_bc2'
export const DECAY = 'adam.decay'

/** Names of a trainable weight's inputs and outputs in the step graph. */
export const stepNames = (param: string) => ({
  weight: `w:${param}`,
  m: `m:${param}`,
  v: `v:${param}`,
  newWeight: `new_w:${param}`,
  newM: `new_m:${param}`,
  newV: `new_v:${param}`,
})

/** Feature inputs of the step graph (outputs of the feature graph), by position. */
export const featureName = (k: number) => `feature:${k}`

/** AdamW's scalars for step t (1-based) at learning rate lr, as PyTorch computes them. */
export function adamScalars(t: number, lr: number): Record<string, Float32Array> {
  return {
    [STEP_SIZE]: Float32Array.of(lr / (1 - ADAM.beta1 ** t)),
    [BC2_ROOT]: Float32Array.of(1 / Math.sqrt(1 - ADAM.beta2 ** t)),
    [DECAY]: Float32Array.of(1 - lr * ADAM.weightDecay),
  }
}

export interface StepGraphs {
  scope: Scope
  trainable: ParamSpec[]
  /** Computes the features from `input` with frozen weights; null when nothing is frozen. */
  features: Graph | null
  /** Features: name, shape, and whether it depends on the sample (else computed once). */
  featureSpecs: { name: string; shape: readonly number[]; perSample: boolean }[]
  /** Inputs: features, `input` when anything still reads it, target, weight, AdamW scalars, w:/m:/v: per trainable weight. */
  step: Graph
}

/**
 * The training step for `scope`: forward from the cached features, loss, gradients, AdamW
 * (betas 0.9/0.95, weight decay 0.05 except 1-D tensors and biases) returning updated weights
 * and moments. Frozen weights stay initializers of both graphs.
 */
export function trainingStepGraphs(config: NetworkConfig, options: PatchOptions & { scope: Scope }): StepGraphs {
  const full = buildNetwork(config, options)
  const trainable = trainableParams(config, options.scope)
  const trainableIds = new Set(trainable.map((p) => full.params.get(p.name)!.id))
  // Live values change with the trainable weights; heavy ones are work on frozen weights (the
  // frozen part, run once per sample); the rest only rearranges the input and runs where needed.
  const live = new Set<number>(trainableIds)
  const heavy = new Set<number>()
  for (const v of full.params.values()) if (!trainableIds.has(v.id)) heavy.add(v.id)
  const dependsOnInput = new Set<number>(full.inputs.map((v) => v.id))
  for (const node of full.nodes) {
    const set = node.inputs.some((v) => live.has(v.id)) ? live : node.inputs.some((v) => heavy.has(v.id)) ? heavy : null
    for (const v of node.outputs) {
      set?.add(v.id)
      if (node.inputs.some((i) => dependsOnInput.has(i.id))) dependsOnInput.add(v.id)
    }
  }
  // The step computes what the loss needs back to the frozen work's results: the cut.
  const needed = new Set<number>()
  const stack = [full.outputs.get(OUTPUT)!]
  while (stack.length) {
    const v = stack.pop()!
    if (v.source.kind !== 'node' || heavy.has(v.id) || needed.has(v.source.node.id)) continue
    needed.add(v.source.node.id)
    stack.push(...v.source.node.inputs)
  }
  const stepNodes = full.nodes.filter((n) => needed.has(n.id))
  const cut: Value[] = []
  const seen = new Set<number>()
  for (const node of stepNodes) {
    for (const v of node.inputs) {
      if (!heavy.has(v.id) || seen.has(v.id) || v.source.kind === 'param') continue
      seen.add(v.id)
      cut.push(v)
    }
  }
  let features: Graph | null = null
  if (cut.length > 0) {
    features = new Graph()
    const copy = copier(full, features, new Set())
    for (const v of full.inputs) copy.bind(v, features.input(v.name, v.dtype, v.shape))
    copy.nodes(full.nodes.filter((n) => !n.outputs.some((v) => live.has(v.id))))
    cut.forEach((v, k) => features!.output(featureName(k), ownValue(features!, copy.get(v))))
  }

  const step = new Graph()
  const copy = copier(full, step, trainableIds)
  for (const v of full.inputs) if (stepNodes.some((n) => n.inputs.includes(v))) copy.bind(v, step.input(v.name, v.dtype, v.shape))
  cut.forEach((v, k) => copy.bind(v, step.input(featureName(k), v.dtype, v.shape)))
  const weights = trainable.map((p) => {
    const w = step.input(stepNames(p.name).weight, 'float32', p.shape)
    copy.bind(full.params.get(p.name)!, w)
    return w
  })
  copy.nodes(stepNodes)
  const loss = addLoss(step, copy.get(full.outputs.get(OUTPUT)!))
  step.output(LOSS, loss)
  const grads = gradients(step, [[loss, step.f32(1)]], weights)
  const stepSize = step.input(STEP_SIZE, 'float32', [])
  const bc2 = step.input(BC2_ROOT, 'float32', [])
  const decay = step.input(DECAY, 'float32', [])
  step.scope('adamw', () =>
    trainable.forEach((p, i) => {
      const names = stepNames(p.name)
      const m = step.input(names.m, 'float32', p.shape)
      const v = step.input(names.v, 'float32', p.shape)
      const grad = grads[i]
      const newM = step.addOp(step.mul(m, step.f32(ADAM.beta1)), step.mul(grad, step.f32(1 - ADAM.beta1)))
      const newV = step.addOp(step.mul(v, step.f32(ADAM.beta2)), step.mul(step.mul(grad, grad), step.f32(1 - ADAM.beta2)))
      const denom = step.addOp(step.mul(step.sqrt(newV), bc2), step.f32(ADAM.eps))
      const decayed = decays(p) ? step.mul(weights[i], decay) : weights[i]
      step.output(names.newWeight, step.sub(decayed, step.mul(stepSize, step.div(newM, denom))))
      step.output(names.newM, newM)
      step.output(names.newV, newV)
    }),
  )
  return {
    scope: options.scope,
    trainable,
    features,
    featureSpecs: cut.map((v, k) => ({ name: featureName(k), shape: v.shape, perSample: dependsOnInput.has(v.id) })),
    step,
  }
}

/**
 * Copies nodes of `from` into `to`, mapping values: bound ones (inputs, cut values), params
 * (kept as params unless in `replaced`, which must be bound), constants (shared data).
 */
function copier(from: Graph, to: Graph, replaced: ReadonlySet<number>) {
  const map = new Map<number, Value>()
  const get = (v: Value): Value => {
    const known = map.get(v.id)
    if (known) return known
    let made: Value
    if (v.source.kind === 'param' && !replaced.has(v.id)) made = to.param(v.name, v.shape)
    else if (v.source.kind === 'const') made = to.constant(v.source.data)
    else throw new StudioError('internal', `training graph: value ${v.name || v.id} of ${from === to ? 'the graph' : 'the network'} is used before it is made`)
    map.set(v.id, made)
    return made
  }
  return {
    get,
    bind: (v: Value, to: Value) => void map.set(v.id, to),
    nodes(nodes: readonly Node[]) {
      for (const node of nodes) {
        const outs = to.scope(node.scope, () => to.add(node.op, node.inputs.map(get), { ...node.attrs }))
        outs.forEach((v, i) => map.set(node.outputs[i].id, v))
      }
    },
  }
}
