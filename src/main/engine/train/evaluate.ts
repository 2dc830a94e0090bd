/**
 * How well a model segments the held-out corrections: the model predicts affinities over the box
 * around the held-out reviewed segments, a fresh segmentation is made from them (watershed
 * fragments, agglomeration at the model's calibrated threshold,
 * or the default one for a model without), and VOI and the adapted Rand error
 * (segment/metrics.ts) are measured against those segments - the same numbers for the model
 * before and after fine-tuning. Only the held-out segments are known to be right, so the score
 * covers the predicted segments that touch them (scoreHeldOut).
 */
import type { Box3, Vec3 } from '../../../shared/types'
import { MemorySink } from '../infer/sinks'
import { inferVolume } from '../infer/sliding'
import { ArrayVolume, type VolumeSource } from '../io/volume'
import type { JobContext } from '../jobs/runner'
import { loadModelOffThread } from '../model/offthread'
import type { Provider } from '../runtime/providers'
import { evaluate, Segmentation, type LabelVolume } from '../segment'
import type { Project } from '../store/project'

export interface HeldOutMetrics {
  voi: number
  voiSplit: number
  voiMerge: number
  arand: number
  /** Ground-truth voxels scored. */
  voxels: number
}

/** Agglomeration thresholds tried when a model is calibrated. */
export const THRESHOLD_CANDIDATES = [0.02, 0.04, 0.06, 0.08, 0.1, 0.12, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5]

/** What evaluation needs: the image and some reviewed segments' labels (the held-out ones, say) over one box. */
export interface CorrectionsRegion {
  box: Box3
  image: VolumeSource
  /** The reviewed segments' ids at each voxel of the box, 0 elsewhere (uint32). */
  truth: Uint32Array
}

/** The first items, in order, whose joint box holds at most `voxels` voxels (always the first one). */
export function withinVoxels<T extends { box: Box3 }>(items: readonly T[], voxels: number): T[] {
  const out: T[] = []
  let start: number[] = []
  let stop: number[] = []
  for (const item of items) {
    const s = out.length === 0 ? [...item.box.start] : start.map((v, a) => Math.min(v, item.box.start[a]))
    const e = out.length === 0 ? [...item.box.stop] : stop.map((v, a) => Math.max(v, item.box.stop[a]))
    if (out.length > 0 && (e[0] - s[0]) * (e[1] - s[1]) * (e[2] - s[2]) > voxels) continue
    out.push(item)
    start = s
    stop = e
  }
  return out
}

/**
 * The region to score: the box around the given reviewed segments' boxes, `margin` voxels wider,
 * with their current labels (fragments through the project's assignment and voxel edits).
 */
export async function correctionsRegion(
  project: Project,
  image: VolumeSource,
  fragments: VolumeSource,
  reviewed: readonly { segment: number; box: Box3 }[],
  margin = 8,
): Promise<CorrectionsRegion | null> {
  if (reviewed.length === 0) return null
  const shape = fragments.shape
  const start = [0, 1, 2].map((a) => Math.max(0, Math.min(...reviewed.map((r) => r.box.start[a])) - margin)) as Vec3
  const stop = [0, 1, 2].map((a) => Math.min(shape[a], Math.max(...reviewed.map((r) => r.box.stop[a])) + margin)) as Vec3
  const box: Box3 = { start, stop }
  const labels = await fragments.read(box)
  const edits = project.voxelEdits(box)
  const edited = new Map<number, number>()
  for (let i = 0; i < edits.indices.length; i++) edited.set(edits.indices[i], edits.labels[i])
  const segments = new Set(reviewed.map((r) => r.segment))
  const truth = new Uint32Array(labels.length)
  const size = [stop[0] - start[0], stop[1] - start[1], stop[2] - start[2]]
  const segmentOf = new Map<number, number>()
  for (let z = 0, i = 0; z < size[0]; z++) {
    for (let y = 0; y < size[1]; y++) {
      for (let x = 0; x < size[2]; x++, i++) {
        const global = ((z + start[0]) * shape[1] + y + start[1]) * shape[2] + x + start[2]
        const f = edited.get(global) ?? Number(labels[i])
        let s = segmentOf.get(f)
        if (s === undefined) segmentOf.set(f, (s = f === 0 ? 0 : project.segmentOf(f)))
        truth[i] = segments.has(s) ? s : 0
      }
    }
  }
  return { box, image, truth }
}

interface ScoreOptions {
  patch?: Vec3
  provider?: Provider
  threads?: number
}

/** The model's segmentation graph of the region (fragments and merge history), and its calibrated threshold. */
async function segmentRegion(region: CorrectionsRegion, modelFile: string, options: ScoreOptions, ctx?: JobContext): Promise<{ seg: Segmentation; threshold?: number }> {
  const { box } = region
  const shape = [box.stop[0] - box.start[0], box.stop[1] - box.start[1], box.stop[2] - box.start[2]] as Vec3
  const pixels = await region.image.read(box)
  const crop = new ArrayVolume(`${region.image.name} (held-out box)`, shape, region.image.dtype, pixels)
  const model = await loadModelOffThread(modelFile, { provider: options.provider ?? 'cpu', ...(options.patch ? { patch: options.patch } : {}), threads: options.threads })
  const sink = new MemorySink(shape)
  try {
    await inferVolume(crop, model, sink, {}, ctx)
  } finally {
    await model.dispose()
  }
  return { seg: await Segmentation.fromAffinities({ data: sink.data, shape }), threshold: model.info.threshold }
}

/**
 * VOI and ARand of a predicted segmentation against held-out segments (`truth`: their ids, 0 where
 * unknown). Scored: the voxels of predicted segments that touch a held-out segment. Outside the
 * held-out segments the truth is unknown except that it is not them, so there each predicted
 * segment counts as its own true object: merging a held-out object with a neighbour is an error,
 * how the neighbours themselves are cut is not.
 */
export async function scoreHeldOut(labels: LabelVolume, truth: Uint32Array): Promise<HeldOutMetrics> {
  const touching = new Set<number>()
  for (let i = 0; i < truth.length; i++) if (truth[i] !== 0) touching.add(Number(labels.data[i]))
  // Held-out segments as 1..k, the outside part of each touching predicted segment as k+1...
  const ids = new Map<number, number>()
  const outside = new Map<number, number>()
  const scored = new Uint32Array(truth.length)
  for (let i = 0; i < truth.length; i++) if (truth[i] !== 0 && !ids.has(truth[i])) ids.set(truth[i], ids.size + 1)
  for (let i = 0; i < truth.length; i++) {
    if (truth[i] !== 0) scored[i] = ids.get(truth[i])!
    else {
      const p = Number(labels.data[i])
      if (!touching.has(p)) continue
      let id = outside.get(p)
      if (id === undefined) outside.set(p, (id = ids.size + outside.size + 1))
      scored[i] = id
    }
  }
  const e = await evaluate(labels, { data: scored, shape: labels.shape })
  return { voi: e.voi, voiSplit: e.voiSplit, voiMerge: e.voiMerge, arand: e.arand, voxels: e.voxels }
}

async function scoreAt(region: CorrectionsRegion, seg: Segmentation, threshold: number | undefined): Promise<HeldOutMetrics> {
  return scoreHeldOut(await seg.labels(threshold), region.truth)
}

/** VOI and ARand of `modelFile`'s segmentation of the region (at the model's calibrated threshold unless given). */
export async function scoreModel(region: CorrectionsRegion, modelFile: string, options: ScoreOptions & { threshold?: number } = {}, ctx?: JobContext): Promise<HeldOutMetrics> {
  const { seg, threshold } = await segmentRegion(region, modelFile, options, ctx)
  return scoreAt(region, seg, options.threshold ?? threshold)
}

/** The candidate threshold at which `modelFile` segments the region with the lowest VOI, and every candidate's scores. */
export async function calibrateThreshold(
  region: CorrectionsRegion,
  modelFile: string,
  candidates: readonly number[],
  options: ScoreOptions = {},
): Promise<{ threshold: number; scores: { threshold: number; metrics: HeldOutMetrics }[] }> {
  const { seg } = await segmentRegion(region, modelFile, options)
  const scores: { threshold: number; metrics: HeldOutMetrics }[] = []
  for (const threshold of candidates) scores.push({ threshold, metrics: await scoreAt(region, seg, threshold) })
  const best = scores.reduce((a, b) => (b.metrics.voi < a.metrics.voi ? b : a))
  return { threshold: best.threshold, scores }
}
