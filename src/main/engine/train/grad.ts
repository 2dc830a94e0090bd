/**
 * One training step's loss and parameter gradients for a checkpoint, an input patch and a label
 * volume, with the official targets, weights and loss (`tokenunify model grad`, for comparing
 * with other frameworks; the parity tests check it against PyTorch autograd).
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { StudioError } from '../../../shared/errors'
import type { Vec3 } from '../../../shared/types'
import type { Provider } from '../graph/lower'
import { readNpy, writeNpy } from '../io/npy'
import { loadCheckpoint } from '../model/checkpoint'
import { checkPatch, type NetworkConfig } from '../model/config'
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

/**
 * `tokenunify model grad`: reads the patch and labels from .npy files, writes loss.npy (a float32
 * scalar), target.npy, weight.npy and <parameter name>.npy for every parameter into `outDir`.
 */
export async function writeGradientFiles(
  checkpointPath: string,
  inputPath: string,
  labelsPath: string,
  outDir: string,
  options: { params?: readonly string[]; threads?: number } = {},
): Promise<{ loss: number; files: number }> {
  const checkpoint = await loadCheckpoint(checkpointPath)
  const input = readNpy(inputPath)
  const labels = readNpy(labelsPath)
  const patch = squeezePatch(input.shape, inputPath)
  const labelShape = squeezePatch(labels.shape, labelsPath)
  if (labelShape.join() !== patch.join()) {
    throw new StudioError('bad_input', `${labelsPath}: labels ${labelShape.join('x')} do not match the input patch ${patch.join('x')}`, { file: labelsPath })
  }
  let intensity: Float32Array
  if (input.data instanceof Float32Array) intensity = input.data
  else if (input.data instanceof Uint8Array) intensity = Float32Array.from(input.data, (v) => v / 255)
  else throw new StudioError('bad_input', `${inputPath}: the input must be float32 in [0, 1] or uint8 (divided by 255), not ${input.dtype}`, { file: inputPath })
  if (labels.dtype.startsWith('float') || labels.dtype === 'bool' || labels.dtype.endsWith('64')) {
    throw new StudioError('bad_input', `${labelsPath}: labels must be uint8/16/32 or int8/16/32, not ${labels.dtype}`, { file: labelsPath })
  }
  const result = await computeGradients(checkpoint.config, (n) => checkpoint.weights.get(n)?.data, intensity, labels.data as LabelArray, patch, options)
  mkdirSync(outDir, { recursive: true })
  writeNpy(join(outDir, 'loss.npy'), Float32Array.of(result.loss), [])
  writeNpy(join(outDir, 'target.npy'), result.target, [1, 3, ...patch])
  writeNpy(join(outDir, 'weight.npy'), result.weight, [1, 3, ...patch])
  for (const [name, grad] of result.grads) writeNpy(join(outDir, `${name}.npy`), grad, checkpoint.weights.get(name)!.shape)
  return { loss: result.loss, files: result.grads.size + 3 }
}

/** (z, y, x) of an array shaped (z, y, x) with any number of leading 1s. */
function squeezePatch(shape: number[], file: string): Vec3 {
  const lead = shape.slice(0, -3)
  if (shape.length < 3 || lead.some((d) => d !== 1)) {
    throw new StudioError('bad_input', `${file}: expected one patch shaped (z, y, x) or (1, 1, z, y, x), got (${shape.join(', ')})`, { file })
  }
  return shape.slice(-3) as Vec3
}
