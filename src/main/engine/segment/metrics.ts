/**
 * Segmentation quality against ground truth, as the paper scores it with skimage.metrics
 * (../shared/design/TOKENUNIFY.md section 7): VOI split and merge in bits and the adapted Rand
 * error, from one contingency table, ground-truth label 0 ignored (native/src/metrics.cc).
 */
import type { LabelVolume } from './types'
import { native } from '../native'
import { checkLabels, checkSameShape, idNumber, nativeCall } from './validate'

export interface SegmentError {
  id: number
  /** This id's term of the VOI sum, bits. */
  bits: number
}

export interface Evaluation {
  /** H(segmentation | ground truth): ground-truth objects broken into pieces. */
  voiSplit: number
  /** H(ground truth | segmentation): segments that span several objects. */
  voiMerge: number
  voi: number
  /** skimage.metrics.adapted_rand_error(gt, seg, ignore_labels=0)[0]. */
  arand: number
  /** Voxels counted (ground truth non-zero). */
  voxels: number
  /** Ground-truth objects by their share of VOI split, largest first: the likely false splits. */
  splits: SegmentError[]
  /** Segments by their share of VOI merge, largest first: the likely false merges. */
  merges: SegmentError[]
}

export async function evaluate(segmentation: LabelVolume, groundTruth: LabelVolume): Promise<Evaluation> {
  checkLabels(segmentation, 'segmentation')
  checkLabels(groundTruth, 'ground truth')
  checkSameShape(segmentation.shape, groundTruth.shape, 'segmentation and ground truth')
  const r = await nativeCall(() => native().evaluate(groundTruth.data, segmentation.data))
  const ranked = (ids: ArrayLike<number | bigint>, bits: Float64Array): SegmentError[] =>
    Array.from(bits, (b, i) => ({ id: idNumber(ids[i]), bits: b })).sort((a, b) => b.bits - a.bits)
  return {
    voiSplit: r.voiSplit,
    voiMerge: r.voiMerge,
    voi: r.voiSplit + r.voiMerge,
    arand: r.arand,
    voxels: r.voxels,
    splits: ranked(r.gtIds, r.gtSplit),
    merges: ranked(r.segIds, r.segMerge),
  }
}
