/** Label volume operations: connected components, relabelling, mapping ids through a table. */
import { StudioError } from '../../../shared/errors'
import { native } from '../native'
import type { LabelArray, LabelType, LabelVolume } from './types'
import { allocateLabels, checkLabels, labelTypeOf, nativeCall } from './validate'

/** Each 6-connected region of one non-zero id gets its own id, 1..count in scan order; 0 stays 0. */
export async function connectedComponents(labels: LabelVolume, dtype: LabelType = 'uint32'): Promise<{ labels: LabelVolume; count: number }> {
  checkLabels(labels)
  const out = allocateLabels(dtype, labels.data.length)
  const count = await nativeCall(() => native().connectedComponents(labels.data, labels.shape, out))
  return { labels: { data: out, shape: labels.shape }, count }
}

/** The sorted distinct non-zero ids. */
export async function uniqueLabels<T extends LabelArray>(data: T): Promise<T> {
  return nativeCall(() => native().uniqueLabels(data))
}

/**
 * out[i] = values[k] where keys[k] == data[i]; 0 stays 0; an id missing from `keys` is an error.
 * `keys` ascending; `out` may be `data` itself for an in-place map.
 */
export async function mapLabels(data: LabelArray, keys: LabelArray, values: LabelArray, out: LabelArray): Promise<void> {
  if (keys.length !== values.length) throw new StudioError('bad_input', `mapLabels: ${keys.length} keys but ${values.length} values`)
  await nativeCall(() => native().mapLabels(data, keys, values, out))
}

/**
 * Consecutive ids 1..n in the order of the old ids (what the paper's `relabel` does); 0 stays 0.
 * Returns the new volume and `ids`, the old id of each new id k at ids[k - 1].
 */
export async function relabel(
  labels: LabelVolume,
  options: { dtype?: LabelType; inPlace?: boolean } = {},
): Promise<{ labels: LabelVolume; ids: LabelArray }> {
  checkLabels(labels)
  const type = options.dtype ?? labelTypeOf(labels.data)
  if (options.inPlace && type !== labelTypeOf(labels.data)) throw new StudioError('bad_input', 'relabel: in place keeps the label type')
  const ids = await uniqueLabels(labels.data)
  if (type === 'uint32' && ids.length > 0xffffffff) throw new StudioError('bad_input', 'relabel: more ids than uint32 can hold')
  const values = allocateLabels(type, ids.length)
  if (values instanceof BigUint64Array) for (let k = 0; k < ids.length; k++) values[k] = BigInt(k + 1)
  else for (let k = 0; k < ids.length; k++) values[k] = k + 1
  const out = options.inPlace ? labels.data : allocateLabels(type, labels.data.length)
  await mapLabels(labels.data, ids, values, out)
  return { labels: { data: out, shape: labels.shape }, ids }
}
