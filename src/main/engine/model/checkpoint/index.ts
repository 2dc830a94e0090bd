/**
 * TokenUnify weights from disk: a .pth (read without executing its pickle) or a safetensors
 * file, validated against the network for the config inferred from its shapes. Tensors are read
 * one at a time, so a large checkpoint is never held twice in memory.
 */
import { open } from 'node:fs/promises'
import { StudioError } from '../../../../shared/errors'
import { sizeOf, type NetworkConfig, type SizeName } from '../config'
import type { ParamSpec } from '../params'
import { isFloat } from './dtype'
import { openPth } from './pth'
import { looksLikeSafetensors, openSafetensors } from './safetensors'
import type { CheckpointMeta, Tensor, TensorFile } from './types'
import { checkAgainstNetwork, inferConfig } from './validate'
import { ZIP_MAGIC } from './zip'

export type { CheckpointMeta, Tensor, TensorInfo, TensorFile } from './types'
export type { TensorDType } from './dtype'
export { CheckpointMismatchError, inferConfig, checkAgainstNetwork, type ShapeMismatch } from './validate'
export { saveSafetensors } from './safetensors'

/** DistributedDataParallel's key prefix; the official loader strips it. */
const DDP_PREFIX = 'module.'

export interface CheckpointOptions {
  /** Validate against this config instead of the one inferred from the shapes. */
  config?: NetworkConfig
  /** nslices of the inferred config (it does not show in the weights); default 5. */
  nSlices?: number
}

export interface Checkpoint {
  path: string
  format: TensorFile['format']
  config: NetworkConfig
  /** The published size the config equals, if any. */
  size: SizeName | undefined
  meta: CheckpointMeta & {
    /** The prefix removed from every key that had it ('module.' from DistributedDataParallel). */
    strippedPrefix?: string
  }
  /** Every parameter, in the official state_dict order. */
  params: ParamSpec[]
  /** One parameter, by its official name, as a fresh float32 array read from disk now. */
  read(name: string): Promise<Float32Array>
  /** The parameters in state_dict order, read one at a time. */
  tensors(): AsyncGenerator<[string, Tensor]>
  close(): Promise<void>
}

export interface LoadedCheckpoint {
  path: string
  format: TensorFile['format']
  config: NetworkConfig
  size: SizeName | undefined
  meta: Checkpoint['meta']
  /** Official name -> tensor, in state_dict order. */
  weights: Map<string, Tensor>
}

/** Opens a .pth or safetensors file of any size and validates it; tensors are read on demand. */
export async function openCheckpoint(path: string, options: CheckpointOptions = {}): Promise<Checkpoint> {
  const file = await openTensorFile(path)
  try {
    // Official name -> name in the file.
    const stored = new Map<string, string>()
    const shapes = new Map<string, number[]>()
    for (const t of file.tensors) {
      const name = t.name.startsWith(DDP_PREFIX) ? t.name.slice(DDP_PREFIX.length) : t.name
      if (stored.has(name)) throw new StudioError('bad_input', `${path} has tensor ${name} twice (with and without '${DDP_PREFIX}')`, { file: path })
      stored.set(name, t.name)
      shapes.set(name, t.shape)
    }
    const config = options.config ?? inferConfig(shapes, options.nSlices)
    const params = checkAgainstNetwork(shapes, config, path)
    for (const t of file.tensors) {
      if (!isFloat(t.dtype)) throw new StudioError('unsupported', `${path}: parameter ${t.name} has dtype ${t.dtype}, not a float type`, { file: path })
    }
    const stripped = file.tensors.some((t) => t.name.startsWith(DDP_PREFIX))
    const read = async (name: string) => {
      const original = stored.get(name)
      if (original === undefined) throw new StudioError('not_found', `${path} has no parameter ${name}`, { file: path })
      return file.read(original)
    }
    return {
      path,
      format: file.format,
      config,
      size: sizeOf(config),
      meta: stripped ? { ...file.meta, strippedPrefix: DDP_PREFIX } : file.meta,
      params,
      read,
      async *tensors() {
        for (const { name, shape } of params) yield [name, { shape, data: await read(name) }]
      },
      close: () => file.close(),
    }
  } catch (err) {
    await file.close()
    throw err
  }
}

/** Opens, validates and reads every parameter into memory. */
export async function loadCheckpoint(path: string, options: CheckpointOptions = {}): Promise<LoadedCheckpoint> {
  const checkpoint = await openCheckpoint(path, options)
  try {
    const weights = new Map<string, Tensor>()
    for await (const [name, tensor] of checkpoint.tensors()) weights.set(name, tensor)
    const { format, config, size, meta } = checkpoint
    return { path, format, config, size, meta, weights }
  } finally {
    await checkpoint.close()
  }
}

/** The tensors of a .pth or safetensors file, without any knowledge of the network. */
export async function openTensorFile(path: string): Promise<TensorFile> {
  const head = new Uint8Array(9)
  let got: number
  try {
    const fh = await open(path, 'r')
    try {
      got = (await fh.read(head, 0, 9, 0)).bytesRead
    } finally {
      await fh.close()
    }
  } catch (err) {
    throw new StudioError('not_found', `${path}: cannot read: ${(err as Error).message}`, { file: path })
  }
  if (ZIP_MAGIC.every((b, i) => head[i] === b)) return openPth(path)
  if (looksLikeSafetensors(head.subarray(0, got))) return openSafetensors(path)
  // A bare pickle (legacy torch.save) starts with PROTO; openPth explains how to re-save it.
  if (head[0] === 0x80) return openPth(path)
  throw new StudioError('bad_format', `${path} is neither a PyTorch checkpoint (.pth) nor a safetensors file`, { file: path })
}
