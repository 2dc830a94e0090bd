/**
 * Training data from a project's corrections. Reviewed segments are ground truth inside their
 * region, so an affinity edge (a voxel and its predecessor along z, y or x) is known when either
 * voxel lies in a reviewed segment: 1 when both lie in the same one, else 0 (a reviewed
 * segment's boundary). Merges and splits the user made add the edges they fixed: between the
 * fragments a merge moved and the rest of their segment (1), between the fragments a split moved
 * out and what stayed (0). Every other edge is masked out of the loss.
 *
 * Crops of the network's patch are centred on corrections (a reviewed segment, a merge, a split)
 * and augmented by flips, xy transposes and intensity jitter before the targets are made, so the
 * targets follow the image. A share of the reviewed segments is held out: their edges never
 * enter the loss, and they measure the model before and after (evaluate.ts).
 */
import { StudioError } from '../../../shared/errors'
import type { Box3, Vec3 } from '../../../shared/types'
import type { VolumeSource } from '../io/volume'
import { seededRandom } from '../random'
import type { Project } from '../store/project'
import type { Sample } from './trainer'
import { weightBinaryRatio } from './targets'

/** What a crop is centred on. */
export interface Correction {
  kind: 'reviewed' | 'merge' | 'split'
  /** The reviewed segment, or the segment a merge or split left the moved fragments in. */
  segment: number
  /** Box around the correction's fragments. */
  box: Box3
}

export interface CorrectionOptions {
  /** Share of the reviewed segments held out for validation (default 0.2; when above 0, at least one if there are two or more). */
  heldOutShare?: number
  seed?: number
}

/** A crop with one voxel of margin on every side (for the predecessors of its first planes). */
interface Region {
  shape: Vec3
  image: Float32Array
  segment: Float64Array
  fragment: Float64Array
  /** 1 inside the volume. */
  inside: Uint8Array
}


export class CorrectionData {
  readonly train: Correction[]
  readonly heldOut: Correction[]
  readonly shape: Vec3
  private readonly reviewed: Set<number>
  private readonly heldOutSegments: Set<number>
  /** Fragments a merge moved: their edges to the rest of their segment are known (1). */
  private readonly merged = new Set<number>()
  /** Fragments a split moved out, with the segment they left: edges to it are known (0). */
  private readonly splitFrom = new Map<number, number>()

  private constructor(
    readonly project: Project,
    /** The image, as the network reads it: intensities in [0, 1]. */
    private readonly image: (box: Box3) => Promise<Float32Array>,
    private readonly fragments: VolumeSource,
    boxes: Map<number, Box3>,
    options: CorrectionOptions,
  ) {
    this.shape = fragments.shape
    this.reviewed = new Set(project.reviewedSegments())
    const boxOf = (frags: Iterable<number>): Box3 | null => unionBoxes([...frags].map((f) => boxes.get(f)).filter((b): b is Box3 => b !== undefined))
    const reviewed: Correction[] = []
    for (const segment of this.reviewed) {
      const box = boxOf(project.fragmentsOf(segment))
      if (box) reviewed.push({ kind: 'reviewed', segment, box })
    }
    // Held out by a seeded shuffle, so the same project and seed give the same split.
    const random = seededRandom(options.seed ?? 0)
    const order = reviewed.map((c) => ({ c, k: random() })).sort((a, b) => a.k - b.k).map((x) => x.c)
    const share = options.heldOutShare ?? 0.2
    const held = share > 0 && order.length >= 2 ? Math.max(1, Math.round(order.length * share)) : 0
    this.heldOut = order.slice(0, held)
    this.heldOutSegments = new Set(this.heldOut.map((c) => c.segment))
    this.train = order.slice(held)
    for (const { record, delta } of project.appliedEdits()) {
      if (!delta || record.origin === 'auto' || (record.kind !== 'merge' && record.kind !== 'split')) continue
      const { ids, before } = delta.assign
      for (let i = 0; i < ids.length; i++) {
        if (record.kind === 'merge') this.merged.add(ids[i])
        else this.splitFrom.set(ids[i], before[i])
      }
      // Centred on the boundary it fixed: around the moved fragments and the ones on the other side.
      const other = record.kind === 'merge' ? project.fragmentsOf(project.segmentOf(ids[0])) : project.fragmentsOf(before[0])
      const box = boxOf([...ids, ...other])
      if (box) this.train.push({ kind: record.kind, segment: project.segmentOf(ids[0]), box })
    }
  }

  /**
   * Reads the project's corrections: `image` is the raw volume, `fragments` the label volume of
   * the project's automatic segmentation (the one its base assignment refers to).
   */
  static async open(project: Project, image: VolumeSource, fragments: VolumeSource, options: CorrectionOptions = {}): Promise<CorrectionData> {
    if (project.info().labelShape === null) throw new StudioError('conflict', 'this project has no segmentation yet; segment it and review some segments first')
    if (!sameShape(image.shape, fragments.shape)) {
      throw new StudioError('bad_input', `the image (${image.shape.join('x')}) and the fragments (${fragments.shape.join('x')}) differ in shape`)
    }
    const boxes = await fragmentBoxes(fragments)
    return new CorrectionData(project, (box) => readIntensity(image, box), fragments, boxes, options)
  }

  /** Segments whose edges never enter the loss. */
  get heldOutIds(): ReadonlySet<number> {
    return this.heldOutSegments
  }

  /**
   * One training sample of `patch` centred at a random point of `correction`'s box (default: a
   * random training correction), augmented unless `augment` is false. `known` counts the edges
   * in the loss.
   */
  async sample(patch: Vec3, random: () => number, options: { correction?: Correction; augment?: boolean } = {}): Promise<Sample & { known: number }> {
    if (this.train.length === 0) throw new StudioError('conflict', 'no corrections to train on: review some segments (or merge/split) first')
    const c = options.correction ?? this.train[Math.floor(random() * this.train.length)]
    const centre = c.box.start.map((s, a) => s + Math.floor(random() * (c.box.stop[a] - s))) as Vec3
    const box = cropAround(centre, patch, this.shape)
    const edits = this.project.voxelEdits(expand(box, this.shape))
    const edited = new Map<number, number>()
    for (let i = 0; i < edits.indices.length; i++) edited.set(edits.indices[i], edits.labels[i])
    const segments = new Map<number, number>()
    const region = await readRegion(box, this.shape, this.image, (b) => this.fragments.read(b), {
      fragment: (index, stored) => edited.get(index) ?? stored,
      segment: (f) => segments.get(f) ?? segments.set(f, f === 0 ? 0 : this.project.segmentOf(f)).get(f)!,
    })
    if (options.augment !== false) augment(region, random)
    return sampleOf(region, this.truth)
  }

  /** Which edges the corrections make known. */
  private get truth(): Truth {
    return {
      known: (s) => s !== 0 && this.reviewed.has(s) && !this.heldOutSegments.has(s),
      held: (s) => this.heldOutSegments.has(s),
      fixes: (a, b, sa, sb) => {
        if (a === b || a === 0 || b === 0) return false
        if (sa === sb && (this.merged.has(a) || this.merged.has(b))) return true
        return sa !== sb && (this.splitFrom.get(a) === sb || this.splitFrom.get(b) === sa)
      },
    }
  }
}

/**
 * Samples from a volume labelled everywhere (every non-zero label is ground truth), at random
 * places: how the default model is trained on synthetic data (scripts/train-default-model.ts).
 */
export class LabelledData {
  private static readonly truth: Truth = { known: (s) => s !== 0, held: () => false, fixes: () => false }

  constructor(
    private readonly image: VolumeSource,
    private readonly labels: VolumeSource,
  ) {
    if (!sameShape(image.shape, labels.shape)) throw new StudioError('bad_input', `${image.name} and ${labels.name} differ in shape`)
  }

  async sample(patch: Vec3, random: () => number): Promise<Sample & { known: number }> {
    const centre = this.image.shape.map((n) => Math.floor(random() * n)) as Vec3
    const region = await readRegion(cropAround(centre, patch, this.image.shape), this.image.shape, (b) => readIntensity(this.image, b), (b) => this.labels.read(b), {
      fragment: (_index, stored) => stored,
      segment: (f) => f,
    })
    augment(region, random)
    return sampleOf(region, LabelledData.truth)
  }
}

/** Which edges are known: inside or at the boundary of a ground-truth segment, or fixed by an edit. */
interface Truth {
  known(segment: number): boolean
  /** Segments whose edges stay out of the loss even when known. */
  held(segment: number): boolean
  fixes(a: number, b: number, sa: number, sb: number): boolean
}

/** A box of `patch` around `centre`, inside the volume when the volume is large enough (else centred on it). */
function cropAround(centre: Vec3, patch: Vec3, shape: Vec3): Box3 {
  const start = patch.map((p, a) => {
    const hi = shape[a] - p
    return hi >= 0 ? Math.min(Math.max(centre[a] - Math.floor(p / 2), 0), hi) : Math.floor(hi / 2)
  }) as Vec3
  return { start, stop: [start[0] + patch[0], start[1] + patch[1], start[2] + patch[2]] }
}

/** `box` one voxel wider on every side, clipped to the volume. */
function expand(box: Box3, shape: Vec3): Box3 {
  return { start: box.start.map((s) => Math.max(0, s - 1)) as Vec3, stop: box.stop.map((s, a) => Math.min(shape[a], s + 1)) as Vec3 }
}

/**
 * The crop at `box` plus one voxel of margin, voxels outside the volume marked: intensities,
 * fragment labels (`labels.fragment` may replace the stored one, by linear index in the volume) and
 * their segments.
 */
async function readRegion(
  box: Box3,
  volume: Vec3,
  image: (box: Box3) => Promise<Float32Array>,
  fragments: (box: Box3) => Promise<ArrayLike<number | bigint>>,
  labels: { fragment(index: number, stored: number): number; segment(fragment: number): number },
): Promise<Region> {
  const shape = box.start.map((s, a) => box.stop[a] - s + 2) as Vec3
  const n = shape[0] * shape[1] * shape[2]
  const region: Region = { shape, image: new Float32Array(n), segment: new Float64Array(n), fragment: new Float64Array(n), inside: new Uint8Array(n) }
  const read = expand(box, volume)
  const { start: lo, stop: hi } = read
  if (lo.some((v, a) => v >= hi[a])) return region
  const [pixels, stored] = await Promise.all([image(read), fragments(read)])
  for (let z = lo[0], j = 0; z < hi[0]; z++) {
    for (let y = lo[1]; y < hi[1]; y++) {
      for (let x = lo[2]; x < hi[2]; x++, j++) {
        const i = ((z - box.start[0] + 1) * shape[1] + y - box.start[1] + 1) * shape[2] + x - box.start[2] + 1
        const f = labels.fragment((z * volume[1] + y) * volume[2] + x, Number(stored[j]))
        region.image[i] = pixels[j]
        region.fragment[i] = f
        region.segment[i] = labels.segment(f)
        region.inside[i] = 1
      }
    }
  }
  return region
}

/** Input, targets and weights (loss mask included) of the inner part of an (augmented) region. */
function sampleOf(r: Region, truth: Truth): Sample & { known: number } {
  const [Z, Y, X] = r.shape
  const inner: Vec3 = [Z - 2, Y - 2, X - 2]
  const n = inner[0] * inner[1] * inner[2]
  const input = new Float32Array(n)
  const target = new Float32Array(3 * n)
  const mask = new Float32Array(3 * n)
  const steps = [Y * X, X, 1]
  let known = 0
  for (let z = 0, o = 0; z < inner[0]; z++) {
    for (let y = 0; y < inner[1]; y++) {
      for (let x = 0; x < inner[2]; x++, o++) {
        const p = ((z + 1) * Y + y + 1) * X + x + 1
        input[o] = r.image[p]
        if (!r.inside[p]) continue
        const sp = r.segment[p]
        for (let c = 0; c < 3; c++) {
          const q = p - steps[c]
          let t = 0
          let m = 0
          if (!r.inside[q]) {
            // The volume's first plane along this axis: the official convention, label > 0.
            if (truth.known(sp)) [t, m] = [1, 1]
          } else {
            const sq = r.segment[q]
            if (truth.held(sp) || truth.held(sq)) m = 0
            else if (truth.known(sp) || truth.known(sq)) [t, m] = [sp === sq ? 1 : 0, 1]
            else if (truth.fixes(r.fragment[p], r.fragment[q], sp, sq)) [t, m] = [sp === sq && sp !== 0 ? 1 : 0, 1]
          }
          target[c * n + o] = t
          mask[c * n + o] = m
          known += m
        }
      }
    }
  }
  // Class balance over the known edges; the mean over them (x 3, as the official loss) by scaling.
  const weight = weightBinaryRatio(target, mask)
  if (known > 0) {
    const scale = (3 * n) / known
    for (let i = 0; i < weight.length; i++) weight[i] *= scale
  }
  return { input, target, weight, known }
}

/** Flips along z, y, x (each with probability 1/2), an xy transpose when y = x, intensity jitter. */
function augment(r: Region, random: () => number): void {
  const [Z, Y, X] = r.shape
  const flip = [random() < 0.5, random() < 0.5, random() < 0.5]
  const transpose = Y === X && random() < 0.5
  const gain = 0.85 + 0.3 * random()
  const offset = -0.08 + 0.16 * random()
  const arrays = [r.image, r.segment, r.fragment, r.inside] as const
  const copies = arrays.map((a) => a.slice())
  for (let z = 0, i = 0; z < Z; z++) {
    for (let y = 0; y < Y; y++) {
      for (let x = 0; x < X; x++, i++) {
        const [fy, fx] = [flip[1] ? Y - 1 - y : y, flip[2] ? X - 1 - x : x]
        const [sy, sx] = transpose ? [fx, fy] : [fy, fx]
        const from = ((flip[0] ? Z - 1 - z : z) * Y + sy) * X + sx
        for (let k = 0; k < arrays.length; k++) arrays[k][i] = copies[k][from]
      }
    }
  }
  for (let i = 0; i < r.image.length; i++) r.image[i] = Math.min(1, Math.max(0, r.image[i] * gain + offset))
}

/** Bounding box of every fragment id, from one pass over the volume in slabs. */
async function fragmentBoxes(fragments: VolumeSource): Promise<Map<number, Box3>> {
  const [Z, Y, X] = fragments.shape
  const boxes = new Map<number, Box3>()
  const slab = Math.max(1, Math.min(Z, fragments.chunkShape[0]))
  for (let z0 = 0; z0 < Z; z0 += slab) {
    const z1 = Math.min(Z, z0 + slab)
    const data = await fragments.read({ start: [z0, 0, 0], stop: [z1, Y, X] })
    for (let z = z0, i = 0; z < z1; z++) {
      for (let y = 0; y < Y; y++) {
        for (let x = 0; x < X; x++, i++) {
          const f = Number(data[i])
          if (f === 0) continue
          const b = boxes.get(f)
          if (!b) boxes.set(f, { start: [z, y, x], stop: [z + 1, y + 1, x + 1] })
          else {
            if (y < b.start[1]) b.start[1] = y
            if (x < b.start[2]) b.start[2] = x
            b.stop[0] = z + 1
            if (y >= b.stop[1]) b.stop[1] = y + 1
            if (x >= b.stop[2]) b.stop[2] = x + 1
          }
        }
      }
    }
  }
  return boxes
}

function unionBoxes(boxes: Box3[]): Box3 | null {
  if (boxes.length === 0) return null
  const start = [...boxes[0].start] as Vec3
  const stop = [...boxes[0].stop] as Vec3
  for (const b of boxes) {
    for (let a = 0; a < 3; a++) {
      start[a] = Math.min(start[a], b.start[a])
      stop[a] = Math.max(stop[a], b.stop[a])
    }
  }
  return { start, stop }
}

function sameShape(a: Vec3, b: Vec3): boolean {
  return a[0] === b[0] && a[1] === b[1] && a[2] === b[2]
}

/** Intensities in [0, 1] as the network reads them (uint8 / 255; wider integers clipped to 255; floats as they are). */
async function readIntensity(image: VolumeSource, box: Box3): Promise<Float32Array> {
  const v = await image.read(box)
  if (v instanceof Float32Array) return v
  if (v instanceof BigUint64Array) throw new StudioError('bad_input', `${image.name}: a uint64 volume is labels, not an image to train on`)
  return Float32Array.from(v, (x) => Math.min(x, 255) / 255)
}
