/**
 * Reverse-mode automatic differentiation over builder graphs: walks the nodes between the
 * differentiated values and the seeds backwards, applies each op's rule (rules.ts) and sums the
 * contributions, appending the backward nodes to the same graph. The result is one graph holding
 * forward and backward, ready to be lowered, emitted and run like any other.
 */
import { StudioError } from '../../../shared/errors'
import type { Graph, Node, Value } from '../graph/builder'
import { RULES, zeros } from './rules'

const sameShape = (a: Value, b: Value) => a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i])

/**
 * Gradients of sum(seed * value) over the given seeds with respect to each of `wrt`, as values of
 * `g` with the shape of each `wrt` (zeros where a value does not influence the seeds). A seed's
 * gradient must broadcast to its value (a scalar 1 differentiates a loss).
 */
export function gradients(g: Graph, seeds: readonly [Value, Value][], wrt: readonly Value[]): Value[] {
  // Values that depend on something differentiated, in build order.
  const active = new Set(wrt.map((v) => v.id))
  const nodes: Node[] = []
  for (const node of g.nodes) {
    if (node.inputs.some((v) => active.has(v.id))) {
      nodes.push(node)
      for (const v of node.outputs) active.add(v.id)
    }
  }
  const grads = new Map<number, Value>()
  const accumulate = (v: Value, d: Value) => {
    const known = grads.get(v.id)
    grads.set(v.id, known ? g.addOp(known, d) : d)
  }
  for (const [v, seed] of seeds) if (active.has(v.id)) accumulate(v, seed)
  /** The gradient of `v` at its own shape, or null when nothing flows into it. */
  const full = (v: Value): Value | null => {
    const d = grads.get(v.id)
    if (!d || sameShape(d, v)) return d ?? null
    const expanded = g.op('Expand', [d], { shape: [...v.shape] })
    grads.set(v.id, expanded)
    return expanded
  }

  for (let i = nodes.length - 1; i >= 0; i--) {
    const node = nodes[i]
    const dys = node.outputs.map(full)
    if (dys.every((d) => d === null)) continue
    const rule = RULES[node.op]
    if (!rule) throw new StudioError('unsupported', `autodiff: ${node.op} at ${node.scope || 'top level'} has no gradient rule`)
    const wants = node.inputs.map((v) => active.has(v.id))
    const dxs = g.scope(`grad/${node.scope}`, () =>
      rule(
        g,
        node,
        node.outputs.map((o, k) => dys[k] ?? zeros(g, o.shape)),
        wants,
      ),
    )
    node.inputs.forEach((v, k) => {
      const d = dxs[k]
      if (wants[k] && d) accumulate(v, d)
    })
  }
  return wrt.map((v) => full(v) ?? zeros(g, v.shape))
}
