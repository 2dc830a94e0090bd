/**
 * Checks a checkpoint's tensors against the network: the config (size) is inferred from the
 * shapes, then the key set and every shape must equal params.ts for that config.
 */
import { StudioError } from '../../../../shared/errors'
import { SIZES, sizeOf, type NetworkConfig } from '../config'
import { paramSpecs, type ParamSpec } from '../params'

export interface ShapeMismatch {
  name: string
  expected: number[]
  found: number[]
}

/** The checkpoint has other keys or shapes than the network; the lists are complete. */
export class CheckpointMismatchError extends StudioError {
  constructor(
    file: string,
    config: NetworkConfig,
    readonly missing: string[],
    readonly unexpected: string[],
    readonly mismatched: ShapeMismatch[],
  ) {
    const parts: string[] = []
    if (missing.length > 0) parts.push(`${missing.length} missing keys: ${list(missing)}`)
    if (unexpected.length > 0) parts.push(`${unexpected.length} unexpected keys: ${list(unexpected)}`)
    if (mismatched.length > 0) {
      const shown = mismatched.map((m) => `${m.name} (expected ${shapeText(m.expected)}, found ${shapeText(m.found)})`)
      parts.push(`${mismatched.length} shape mismatches: ${list(shown)}`)
    }
    super('bad_input', `${file} does not match the TokenUnify network (compared with ${describeConfig(config)}): ${parts.join('; ')}`, { file })
    this.name = 'CheckpointMismatchError'
  }
}

const SHOWN = 8

function list(items: string[]): string {
  const head = items.slice(0, SHOWN).join(', ')
  return items.length > SHOWN ? `${head} and ${items.length - SHOWN} more` : head
}

function shapeText(shape: number[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`
}

export function describeConfig(config: NetworkConfig): string {
  const size = sizeOf(config)
  return size ? `size ${size}` : `feat_size [${config.featSize.join(', ')}], hidden_size ${config.hiddenSize}, depths [${config.depths.join(', ')}]`
}

/**
 * The config whose parameters have these shapes, read from one telling key per field. A field
 * whose key is absent or malformed keeps the base size's value, so that the comparison that
 * follows reports what is wrong. nSlices does not show in any shape.
 */
export function inferConfig(shapes: ReadonlyMap<string, readonly number[]>, nSlices: number = SIZES.base.nSlices): NetworkConfig {
  const base = SIZES.base
  const dim = (key: string, rank: number, axis: number): number | undefined => {
    const s = shapes.get(key)
    return s && s.length === rank && s[axis] > 0 ? s[axis] : undefined
  }
  const featSize = base.featSize.map(
    (c, i) =>
      (i === 0 ? dim('vit.downsample_layers.0.0.weight', 5, 0) : dim(`vit.downsample_layers.${i}.1.weight`, 5, 0)) ??
      dim(`vit.stages.${i}.0.norm.weight`, 1, 0) ??
      c,
  ) as NetworkConfig['featSize']
  const depths = base.depths.map((d, i) => {
    let n = 0
    while (shapes.has(`vit.stages.${i}.${n}.norm.weight`)) n++
    return n > 0 ? n : d
  }) as NetworkConfig['depths']
  const innerWidth = dim('vit.stages.0.0.mamba.in_proj.weight', 2, 0)
  const expand = innerWidth !== undefined && innerWidth % (2 * featSize[0]) === 0 ? innerWidth / (2 * featSize[0]) : base.expand
  const kernel = shapes.get('encoder1.layer.conv1.conv.weight')
  return {
    inChannels: dim('vit.downsample_layers.0.0.weight', 5, 1) ?? base.inChannels,
    outChannels: dim('out.conv.conv.weight', 5, 0) ?? base.outChannels,
    featSize,
    hiddenSize: dim('encoder5.layer.conv1.conv.weight', 5, 0) ?? dim('decoder5.transp_conv.conv.weight', 5, 0) ?? base.hiddenSize,
    depths,
    kernelSize: kernel?.length === 5 ? [kernel[2], kernel[3], kernel[4]] : [...base.kernelSize],
    dState: dim('vit.stages.0.0.mamba.A_log', 2, 1) ?? base.dState,
    dConv: dim('vit.stages.0.0.mamba.conv1d.weight', 3, 2) ?? base.dConv,
    expand,
    nSlices,
  }
}

/** The network's parameters in state_dict order; throws CheckpointMismatchError unless `shapes` has exactly them. */
export function checkAgainstNetwork(shapes: ReadonlyMap<string, readonly number[]>, config: NetworkConfig, file: string): ParamSpec[] {
  const specs = paramSpecs(config)
  const expected = new Map(specs.map((s) => [s.name, s.shape]))
  const missing = specs.filter((s) => !shapes.has(s.name)).map((s) => s.name)
  const unexpected = [...shapes.keys()].filter((k) => !expected.has(k))
  const mismatched: ShapeMismatch[] = []
  for (const spec of specs) {
    const found = shapes.get(spec.name)
    if (found && (found.length !== spec.shape.length || found.some((n, i) => n !== spec.shape[i]))) {
      mismatched.push({ name: spec.name, expected: spec.shape, found: [...found] })
    }
  }
  if (missing.length + unexpected.length + mismatched.length > 0) throw new CheckpointMismatchError(file, config, missing, unexpected, mismatched)
  return specs
}
