import type { TensorDType } from './dtype'

/** A tensor as the network uses it: float32, C order. */
export interface Tensor {
  shape: number[]
  data: Float32Array
}

export interface TensorInfo {
  name: string
  /** As stored in the file; reads convert to float32. */
  dtype: TensorDType
  shape: number[]
}

export interface CheckpointMeta {
  /** pth: where the state_dict was: the 'model' or 'state_dict' entry of a dict, or the whole file. */
  wrapper?: 'model' | 'state_dict' | 'none'
  /** pth: the wrapper's other entries (optimizer, epoch, scaler, args...), skipped, never constructed. */
  otherEntries?: string[]
  /** pth: the wrapper's 'epoch', when it is a number. */
  epoch?: number
  /** safetensors: the header's __metadata__ strings. */
  metadata?: Record<string, string>
}

/** The tensors of one file, read lazily one at a time. */
export interface TensorFile {
  readonly path: string
  readonly format: 'pth' | 'safetensors'
  /** In file order. */
  readonly tensors: readonly TensorInfo[]
  readonly meta: CheckpointMeta
  /** A fresh float32 C-order copy of one tensor, read from disk now. */
  read(name: string): Promise<Float32Array>
  close(): Promise<void>
}
