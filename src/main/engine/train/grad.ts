/**
 * One training step's loss and parameter gradients for a checkpoint, an input patch and a label
 * volume, with the official targets, weights and loss (`tokenunify model grad`, for comparing
 * with other frameworks; the parity tests check it against PyTorch autograd).
 */
import type { Vec3 } from '../../../shared/types'
import { StudioError } from '../../../shared/errors'
import type { NetworkConfig } from '../model/config'
import { checkPatch } from '../model/config'
import type { Provider } from '../graph/lower'
import { Executor } from './executor'
import { gradientGraph, gradName, LOSS, TARGET, WEIGHT } from './graphs'
import { affinitiesFromLabels, weightBinaryRatio, type LabelArray } from './targets'

export interface GradientResult {
  loss: number
  /** Official parameter name -> d loss / d parameter. */
  grads: Map<string, Float32Array>
  target: Float32Array
  weight: Float32Array
}

export async function computeGradients(
  config: NetworkConfig,
  weights: (name: string) => Float32Array | undefined,
  input: Float32Array,
  labels: LabelArray,
  patch: Vec3,
  options: { params?: readonly string[]; provider?: Provider; threads?: number } = {},
): Promise<GradientResult> {
  checkPatch(patch, config)
  const voxels = patch[0] * patch[1] * patch[2]
  if (input.length !== voxels || labels.length !== voxels) {
    throw new StudioError('bad_input', `input (${input.length} values) and labels (${labels.length}) must both be one ${patch.join('x')} patch`)
  }
  const target = affinitiesFromLabels(labels, patch)
  const weight = weightBinaryRatio(target)
  const graph = gradientGraph(config, { patch, batch: 1, params: options.params })
  const exec = await Executor.create(graph, { provider: options.provider ?? 'cpu', weights, threads: options.threads })
  try {
    const out = await exec.run({ input, [TARGET]: target, [WEIGHT]: weight })
    const grads = new Map<string, Float32Array>()
    for (const [name, data] of out) if (name.startsWith('grad:')) grads.set(name.slice(gradName('').length), data)
    return { loss: out.get(LOSS)![0], grads, target, weight }
  } finally {
    await exec.dispose()
  }
}
