/**
 * Splits a graph around ops that run outside ONNX Runtime (the CPU's native selective scan):
 * a sequence of steps, alternating ONNX parts and native ops. A value's level is the number of
 * native ops on its longest path from the inputs; ONNX part k holds the ordinary nodes of level
 * k, and the native ops of level k + 1 run after it (they need only values of level <= k).
 */
import type { Graph, Node, Value } from './builder'
import { nameValues, type GraphPart } from './emit'

export type Step = { kind: 'onnx'; part: GraphPart } | { kind: 'native'; node: Node }

export interface Partition {
  steps: Step[]
  names: Map<number, string>
}

export function partition(graph: Graph, isNative: (node: Node) => boolean): Partition {
  const names = nameValues(graph)
  const level = new Map<number, number>()
  const levelOf = (v: Value) => level.get(v.id) ?? 0
  const byLevel: Node[][] = []
  const nativeByLevel: Node[][] = []
  for (const node of graph.nodes) {
    const native = isNative(node)
    const l = Math.max(0, ...node.inputs.map(levelOf)) + (native ? 1 : 0)
    for (const v of node.outputs) level.set(v.id, l)
    ;((native ? nativeByLevel : byLevel)[l] ??= []).push(node)
  }
  // Values each node consumes, to know which values must leave a part.
  const consumers = new Map<number, Node[]>()
  for (const node of graph.nodes) for (const v of node.inputs) (consumers.get(v.id) ?? consumers.set(v.id, []).get(v.id)!).push(node)
  const graphOutputs = new Set([...graph.outputs.values()].map((v) => v.id))

  const steps: Step[] = []
  const levels = Math.max(byLevel.length, nativeByLevel.length)
  for (let l = 0; l < levels; l++) {
    for (const node of nativeByLevel[l] ?? []) steps.push({ kind: 'native', node })
    const nodes = byLevel[l] ?? []
    if (nodes.length === 0) continue
    const inside = new Set(nodes.map((n) => n.id))
    const produced = new Set(nodes.flatMap((n) => n.outputs.map((v) => v.id)))
    const inputs = new Map<number, Value>()
    for (const n of nodes) {
      for (const v of n.inputs) {
        if (!produced.has(v.id) && (v.source.kind === 'input' || v.source.kind === 'node')) inputs.set(v.id, v)
      }
    }
    const outputs = nodes
      .flatMap((n) => n.outputs)
      .filter((v) => graphOutputs.has(v.id) || (consumers.get(v.id) ?? []).some((c) => !inside.has(c.id)))
    steps.push({ kind: 'onnx', part: { nodes, inputs: [...inputs.values()], outputs, names } })
  }
  return { steps, names }
}
