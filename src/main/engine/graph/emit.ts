/**
 * Writes builder graphs (or parts of one, for the CPU split around native ops) as ONNX models:
 * nodes in build order (which is topological), params as initializers (inline, or in an external
 * data file for models over protobuf's 2 GB limit) or as graph inputs (training graphs).
 */
import { writeFileSync, openSync, writeSync, closeSync } from 'node:fs'
import { basename } from 'node:path'
import { StudioError } from '../../../shared/errors'
import { sizeOf, type Graph, type Node, type TensorArray, type TensorData, type Value } from './builder'
import { ATTR_TYPE, encodeModel, ONNX_DTYPE, type AttributeMsg, type NodeMsg, type TensorMsg, type ValueInfoMsg } from './onnx-proto'
import type { AttrValue } from './ops'

export const OPSET = 17
/** The custom domain of ops that only our runtime executes (SelectiveScan before lowering). */
export const CUSTOM_DOMAIN = 'ai.tokenunify.studio'

/** Values a graph part reads and writes, with one naming shared by every part of a graph. */
export interface GraphPart {
  nodes: readonly Node[]
  inputs: readonly Value[]
  outputs: readonly Value[]
  names: ReadonlyMap<number, string>
}

export type WeightLookup = (name: string) => Float32Array | undefined

export interface EmitOptions {
  /** Data of params emitted as initializers. */
  weights?: WeightLookup
  /** Params to leave as graph inputs instead (all of them with `true`). */
  paramsAsInputs?: boolean | ReadonlySet<string>
  /** Put params of at least `minBytes` in an external data file called `location` (beside the model). */
  externalData?: { location: string; minBytes?: number }
  docString?: string
  metadata?: Record<string, string>
  graphName?: string
}

export interface EmittedModel {
  bytes: Uint8Array
  /** Contents of the external data file, in order, when options.externalData was given. */
  external: Uint8Array[]
}

/** Protobuf cannot hold messages over 2 GiB; stay well below. */
const INLINE_LIMIT = 1.8 * 2 ** 30

/** One name per value: inputs and params keep theirs, graph outputs take their output name. */
export function nameValues(graph: Graph): Map<number, string> {
  const names = new Map<number, string>()
  for (const v of graph.inputs) names.set(v.id, v.name)
  for (const v of graph.params.values()) names.set(v.id, v.name)
  for (const [name, v] of graph.outputs) {
    if (v.source.kind === 'node' && !names.has(v.id)) names.set(v.id, name)
  }
  for (const node of graph.nodes) {
    node.outputs.forEach((v, i) => {
      if (!names.has(v.id)) names.set(v.id, `${node.scope ? `${node.scope}/` : ''}${node.op}_${node.id}${node.outputs.length > 1 ? `_${i}` : ''}`)
    })
  }
  return names
}

/** The whole graph as one part, pruned to what its outputs need. */
export function wholeGraph(graph: Graph): GraphPart & { outputNames: string[] } {
  const names = nameValues(graph)
  const outputs = [...graph.outputs.values()]
  for (const [name, v] of graph.outputs) {
    if (names.get(v.id) !== name) throw new StudioError('internal', `graph output ${name} must be computed by an op of its own`)
  }
  return { nodes: neededNodes(graph.nodes, outputs), inputs: graph.inputs, outputs, names, outputNames: [...graph.outputs.keys()] }
}

/** Nodes (in order) that the given values depend on. */
export function neededNodes(nodes: readonly Node[], targets: readonly Value[]): Node[] {
  const need = new Set<number>()
  const stack = [...targets]
  while (stack.length) {
    const v = stack.pop()!
    if (v.source.kind !== 'node' || need.has(v.source.node.id)) continue
    need.add(v.source.node.id)
    stack.push(...v.source.node.inputs)
  }
  return nodes.filter((n) => need.has(n.id))
}

function rawBytes(a: TensorArray): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength)
}

function valueInfo(name: string, v: Value): ValueInfoMsg {
  return { name, type: { tensor_type: { elem_type: ONNX_DTYPE[v.dtype], shape: { dim: v.shape.map((d) => ({ dim_value: d })) } } } }
}

/** Attributes that ONNX types as float (all other numbers are ints). */
const FLOAT_ATTRS = new Set(['alpha'])

function attr(name: string, value: AttrValue): AttributeMsg {
  if (typeof value === 'string') return { name, type: ATTR_TYPE.STRING, s: new TextEncoder().encode(value) }
  if (Array.isArray(value)) return { name, type: ATTR_TYPE.INTS, ints: value }
  return FLOAT_ATTRS.has(name) ? { name, type: ATTR_TYPE.FLOAT, f: value } : { name, type: ATTR_TYPE.INT, i: value }
}

function int64(values: number[]): TensorData {
  return { dtype: 'int64', shape: [values.length], data: BigInt64Array.from(values.map((v) => BigInt(v))) }
}

/** Emits a graph part as a serialised ONNX model. */
export function emitModel(part: GraphPart, options: EmitOptions = {}): EmittedModel {
  const name = (v: Value) => {
    const n = part.names.get(v.id) ?? (v.source.kind === 'const' ? `const_${v.id}` : undefined)
    if (n === undefined) throw new StudioError('internal', `value ${v.id} has no name`)
    return n
  }
  const initializers: TensorMsg[] = []
  const extraInputs: ValueInfoMsg[] = []
  const external: Uint8Array[] = []
  let externalOffset = 0
  let inlineBytes = 0
  const seen = new Set<number>(part.inputs.map((v) => v.id))
  const paramAsInput = (n: string) =>
    options.paramsAsInputs === true || (options.paramsAsInputs instanceof Set && options.paramsAsInputs.has(n))

  const addTensor = (tensorName: string, t: TensorData) => {
    const bytes = rawBytes(t.data)
    const ext = options.externalData
    if (ext && bytes.byteLength >= (ext.minBytes ?? 1024)) {
      const pad = (4096 - (externalOffset % 4096)) % 4096
      if (pad) external.push(new Uint8Array(pad))
      externalOffset += pad
      initializers.push({
        name: tensorName,
        dims: [...t.shape],
        data_type: ONNX_DTYPE[t.dtype],
        data_location: 1,
        external_data: [
          { key: 'location', value: ext.location },
          { key: 'offset', value: String(externalOffset) },
          { key: 'length', value: String(bytes.byteLength) },
        ],
      })
      external.push(bytes)
      externalOffset += bytes.byteLength
      return
    }
    inlineBytes += bytes.byteLength
    initializers.push({ name: tensorName, dims: [...t.shape], data_type: ONNX_DTYPE[t.dtype], raw_data: bytes })
  }

  const use = (v: Value) => {
    if (seen.has(v.id)) return
    seen.add(v.id)
    if (v.source.kind === 'const') addTensor(name(v), v.source.data)
    else if (v.source.kind === 'param') {
      if (paramAsInput(v.name)) {
        extraInputs.push(valueInfo(v.name, v))
        return
      }
      const data = options.weights?.(v.name)
      if (!data) throw new StudioError('bad_input', `no weights for ${v.name} ${'(' + v.shape.join(',') + ')'}`)
      if (data.length !== sizeOf(v.shape)) {
        throw new StudioError('bad_input', `weights for ${v.name} hold ${data.length} values, shape (${v.shape.join(',')}) needs ${sizeOf(v.shape)}`)
      }
      addTensor(v.name, { dtype: 'float32', shape: v.shape, data })
    } else if (v.source.kind === 'input') {
      throw new StudioError('internal', `graph input ${v.name} is used but not an input of this part`)
    }
  }

  const nodes: NodeMsg[] = []
  let constIds = -1
  const constInput = (t: TensorData) => {
    const n = `const_${part.nodes.length}_${constIds--}`
    addTensor(n, t)
    return n
  }
  for (const node of part.nodes) {
    node.inputs.forEach(use)
    node.outputs.forEach((v) => seen.add(v.id))
    const inputs = node.inputs.map(name)
    const attrs: AttributeMsg[] = []
    const opType: string = node.op
    let domain: string | undefined
    const a = node.attrs
    switch (node.op) {
      case 'Reshape':
        inputs.push(constInput(int64(a.shape as number[])))
        break
      case 'Slice':
        for (const key of ['starts', 'ends', 'axes', 'steps']) inputs.push(constInput(int64(a[key] as number[])))
        break
      case 'ReduceSum':
        inputs.push(constInput(int64(a.axes as number[])))
        attrs.push(attr('keepdims', a.keepdims))
        break
      case 'ReduceMean':
        attrs.push(attr('axes', a.axes), attr('keepdims', a.keepdims))
        break
      case 'Conv':
        attrs.push(attr('kernel_shape', node.inputs[1].shape.slice(2)), attr('strides', a.strides), attr('pads', a.pads), attr('group', a.group))
        break
      case 'ConvTranspose':
        attrs.push(attr('kernel_shape', node.inputs[1].shape.slice(2)), attr('strides', a.strides))
        break
      case 'SelectiveScan':
      case 'SelectiveScanGrad':
        domain = CUSTOM_DOMAIN
        break
      case 'Expand':
        inputs.push(constInput(int64(a.shape as number[])))
        break
      default:
        for (const [k, v] of Object.entries(a)) attrs.push(attr(k, v))
    }
    nodes.push({ input: inputs, output: node.outputs.map(name), name: name(node.outputs[0]), op_type: opType, domain, attribute: attrs })
  }
  for (const v of part.outputs) use(v)

  if (inlineBytes > INLINE_LIMIT) {
    throw new StudioError('bad_input', `model weights are ${(inlineBytes / 2 ** 30).toFixed(2)} GiB inline; write them as external data`)
  }
  const customUsed = nodes.some((n) => n.domain === CUSTOM_DOMAIN)
  const bytes = encodeModel({
    ir_version: 8,
    opset_import: [{ domain: '', version: OPSET }, ...(customUsed ? [{ domain: CUSTOM_DOMAIN, version: 1 }] : [])],
    producer_name: 'tokenunify-studio',
    producer_version: '1',
    doc_string: options.docString,
    graph: {
      name: options.graphName ?? 'graph',
      node: nodes,
      initializer: initializers,
      input: [...part.inputs.map((v) => valueInfo(name(v), v)), ...extraInputs],
      output: part.outputs.map((v) => valueInfo(name(v), v)),
    },
    metadata_props: Object.entries(options.metadata ?? {}).map(([key, value]) => ({ key, value })),
  })
  return { bytes, external }
}

/** Whether the params of `part` fit inside one protobuf message (under `limit` bytes). */
export function fitsInline(part: GraphPart, limit = INLINE_LIMIT): boolean {
  const params = new Map<number, number>()
  for (const n of part.nodes) for (const v of n.inputs) if (v.source.kind === 'param') params.set(v.id, sizeOf(v.shape) * 4)
  return [...params.values()].reduce((a, b) => a + b, 0) <= limit
}

/**
 * Writes `part` to `file`; weights go to `<file>.data` beside it when they would not fit inline
 * (or when `external` is true). Returns the files written.
 */
export function writeModel(file: string, part: GraphPart, options: EmitOptions & { external?: boolean } = {}): string[] {
  const useExternal = options.external ?? !fitsInline(part)
  const location = `${basename(file)}.data`
  const emitted = emitModel(part, useExternal ? { ...options, externalData: { location } } : options)
  writeFileSync(file, emitted.bytes)
  if (!useExternal) return [file]
  const dataFile = `${file}.data`
  const fd = openSync(dataFile, 'w')
  try {
    for (const chunk of emitted.external) writeSync(fd, chunk)
  } finally {
    closeSync(fd)
  }
  return [file, dataFile]
}
