/**
 * Synthetic EM volumes with exact ground truth, for the demo project, tests, benchmarks and the
 * default model's training. Voxels are 40 x 8 x 8 nm (z, y, x) like serial-section EM.
 *
 * Cells are a power diagram (Voronoi with per-cell weights) of jittered seeds, computed in a
 * space that is (1) stretched so cells run about 2.5x longer along z than across, and (2) warped
 * by two octaves of smooth noise so their faces curve. The warp is small enough to stay
 * one-to-one, so every cell is a connected, smooth-faced region (cut only by the volume's edge). Labels are the cells: ids 1..N numbered in scan
 * order of first appearance, no 0 anywhere. Membranes are dark bands centred on the exact label
 * boundaries (their darkness falls off with the distance to the boundary), so the image and the
 * labels agree. Inside cells: a grey level per cell, fine granular texture, dark vesicles and a
 * few mitochondria, each drawn only inside its own cell. Then per-section brightness, an in-plane
 * blur (the beam) and noise. Everything follows from the seed.
 */
import { seededRandom } from '../random'
import type { Vec3 } from '../../../shared/types'
import { ArrayVolume } from './volume'

export interface SyntheticOptions {
  /** (z, y, x) voxels. */
  shape: Vec3
  seed: number
  /** Mean cell width across z, nm (default 480). Cells are 2.5x longer along z. */
  cellSize?: number
  /** Standard deviation of the additive noise, grey levels (default 9). */
  noise?: number
  /** Vesicles per µm² of section (default 6). */
  vesicleDensity?: number
}

export interface SyntheticVolume {
  raw: ArrayVolume
  labels: ArrayVolume
  voxelSize: Vec3
}

export const SYNTHETIC_VOXEL_SIZE: Vec3 = [40, 8, 8]

const ELONGATION = 2.5
/**
 * Warp amplitudes of the coarse and fine octaves, relative to their lattice spacings. Value noise
 * changes by at most 3 per lattice step, so 3 x (0.22 + 0.1) < 1 keeps the warp one-to-one.
 */
const WARP_AMPLITUDE = [0.22, 0.1]
/** Half-width (nm) of the dark membrane profile. */
const MEMBRANE_SIGMA = 11
const WARP_STEP = 8

/** Stateless 32-bit hash of five integers, for randomness that does not depend on visiting order. */
function hash(a: number, b: number, c = 0, d = 0, e = 0): number {
  let h = 0x9e3779b9
  h = mix(h, a)
  h = mix(h, b)
  h = mix(h, c)
  h = mix(h, d)
  return mix(h, e) >>> 0
}

function mix(h: number, v: number): number {
  h = Math.imul(h ^ (v | 0), 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  return h ^ (h >>> 16)
}

const unit = (a: number, b: number, c = 0, d = 0, e = 0) => hash(a, b, c, d, e) / 4294967296


/** Smooth value noise in [-1, 1] on a unit lattice; `key` picks an independent field. */
function valueNoise(key: number, z: number, y: number, x: number): number {
  const z0 = Math.floor(z)
  const y0 = Math.floor(y)
  const x0 = Math.floor(x)
  const fz = z - z0
  const fy = y - y0
  const fx = x - x0
  const sz = fz * fz * (3 - 2 * fz)
  const sy = fy * fy * (3 - 2 * fy)
  const sx = fx * fx * (3 - 2 * fx)
  const v000 = unit(key, z0, y0, x0)
  const v001 = unit(key, z0, y0, x0 + 1)
  const v010 = unit(key, z0, y0 + 1, x0)
  const v011 = unit(key, z0, y0 + 1, x0 + 1)
  const v100 = unit(key, z0 + 1, y0, x0)
  const v101 = unit(key, z0 + 1, y0, x0 + 1)
  const v110 = unit(key, z0 + 1, y0 + 1, x0)
  const v111 = unit(key, z0 + 1, y0 + 1, x0 + 1)
  const a = v000 + (v001 - v000) * sx
  const b = v010 + (v011 - v010) * sx
  const d = v100 + (v101 - v100) * sx
  const e = v110 + (v111 - v110) * sx
  const p = a + (b - a) * sy
  const q = d + (e - d) * sy
  return 2 * (p + (q - p) * sz) - 1
}

/** Separable Gaussian blur of one (h, w) plane in place; edges are clamped. */
function blur2d(plane: Float32Array, h: number, w: number, sigma: number): void {
  const r = Math.max(1, Math.ceil(2.5 * sigma))
  const taps = 2 * r + 1
  const kernel = new Float32Array(taps)
  for (let i = 0; i < taps; i++) kernel[i] = Math.exp(-((i - r) ** 2) / (2 * sigma * sigma))
  const total = kernel.reduce((a, b) => a + b, 0)
  for (let i = 0; i < taps; i++) kernel[i] /= total
  const line = new Float32Array(Math.max(h, w) + 2 * r)
  for (let y = 0; y < h; y++) {
    const row = y * w
    for (let i = -r; i < w + r; i++) line[i + r] = plane[row + (i < 0 ? 0 : i >= w ? w - 1 : i)]
    for (let x = 0; x < w; x++) {
      let acc = 0
      for (let t = 0; t < taps; t++) acc += kernel[t] * line[x + t]
      plane[row + x] = acc
    }
  }
  for (let x = 0; x < w; x++) {
    for (let i = -r; i < h + r; i++) line[i + r] = plane[(i < 0 ? 0 : i >= h ? h - 1 : i) * w + x]
    for (let y = 0; y < h; y++) {
      let acc = 0
      for (let t = 0; t < taps; t++) acc += kernel[t] * line[y + t]
      plane[y * w + x] = acc
    }
  }
}

/** 4096 standard normal samples (inverse CDF at evenly spaced quantiles), indexed by random bits for noise. */
const GAUSS = Float32Array.from({ length: 4096 }, (_, i) => inverseNormal((i + 0.5) / 4096))

/** Acklam's rational approximation of the standard normal quantile function. */
function inverseNormal(p: number): number {
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239]
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572]
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783]
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416]
  const tail = (q: number) => (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
  if (p < 0.02425) return tail(Math.sqrt(-2 * Math.log(p)))
  if (p > 1 - 0.02425) return -tail(Math.sqrt(-2 * Math.log(1 - p)))
  const q = p - 0.5
  const r = q * q
  return ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
}

/** Candidate lists are kept per sub-box: each lattice cell split SUB times along each axis. */
const SUB = 4

/**
 * Seeds of the 27 lattice cells around sub-box (a, b, c) (in units of spacing / SUB) that can be
 * one of the two nearest to some point of it: a seed whose smallest power distance over the box
 * exceeds the second-smallest largest distance of the others never is. Cached per sub-box.
 */
function candidates(seeds: Seeds, a: number, b: number, c: number, spacing: number): Int32Array {
  const key = (a * 65536 + b) * 65536 + c
  let list = seeds.candidates.get(key)
  if (list) return list
  const [d0, d1, d2] = seeds.dims
  const size = spacing / SUB
  const lo = [a * size, b * size, c * size]
  const cell = [Math.floor(a / SUB) - seeds.origin[0], Math.floor(b / SUB) - seeds.origin[1], Math.floor(c / SUB) - seeds.origin[2]]
  const near: Array<{ k: number; min: number; max: number }> = []
  for (let i = cell[0] - 1; i <= cell[0] + 1; i++) {
    for (let j = cell[1] - 1; j <= cell[1] + 1; j++) {
      for (let l = cell[2] - 1; l <= cell[2] + 1; l++) {
        if (i < 0 || j < 0 || l < 0 || i >= d0 || j >= d1 || l >= d2) continue
        const k = (i * d1 + j) * d2 + l
        let min = -seeds.weight[k]
        let max = -seeds.weight[k]
        for (let axis = 0; axis < 3; axis++) {
          const p = seeds.pos[3 * k + axis]
          const gap = Math.max(lo[axis] - p, 0, p - (lo[axis] + size))
          const far = Math.max(Math.abs(p - lo[axis]), Math.abs(p - lo[axis] - size))
          min += gap * gap
          max += far * far
        }
        near.push({ k, min, max })
      }
    }
  }
  const bound = near.map((n) => n.max).sort((x, y) => x - y)[1]
  list = Int32Array.from(near.filter((n) => n.min <= bound), (n) => n.k)
  seeds.candidates.set(key, list)
  return list
}

interface Seeds {
  /** Metric-space position (z, y, x) and power weight of the seed of each lattice cell. */
  pos: Float64Array
  weight: Float64Array
  /** Lattice size and origin (cells), covering the volume plus a margin. */
  dims: Vec3
  origin: Vec3
  candidates: Map<number, Int32Array>
}

function placeSeeds(seed: number, extent: Vec3, spacing: number): Seeds {
  const origin = [-2, -2, -2] as Vec3
  const dims = extent.map((e) => Math.ceil(e / spacing) + 4) as Vec3
  const n = dims[0] * dims[1] * dims[2]
  const pos = new Float64Array(3 * n)
  const weight = new Float64Array(n)
  let i = 0
  for (let a = 0; a < dims[0]; a++) {
    for (let b = 0; b < dims[1]; b++) {
      for (let c = 0; c < dims[2]; c++, i++) {
        const cell = [a + origin[0], b + origin[1], c + origin[2]]
        for (let k = 0; k < 3; k++) pos[3 * i + k] = (cell[k] + 0.1 + 0.8 * unit(hash(seed, 1, k), cell[0], cell[1], cell[2])) * spacing
        // Power weights vary cell sizes (a seed may end up with no voxels: ids are renumbered after).
        weight[i] = (unit(hash(seed, 2), cell[0], cell[1], cell[2]) - 0.5) * 0.4 * spacing * spacing
      }
    }
  }
  return { pos, weight, dims, origin, candidates: new Map() }
}

/**
 * One z-slice of the power diagram: for each pixel, its warped position, the two nearest seeds
 * among the 27 lattice cells around it, the label, and the image with the membrane darkening.
 */
function cellSlice(seeds: Seeds, warp: Float32Array, gw: number, zm: number, spacing: number, tone: Float32Array, labelPlane: Uint32Array, image: Float32Array, height: number, width: number): void {
  const { pos, weight } = seeds
  const [, vy, vx] = SYNTHETIC_VOXEL_SIZE
  let list: Int32Array = new Int32Array(0)
  let la = -1
  let lb = -1
  let lc = -1
  for (let y = 0; y < height; y++) {
    const gyf = y / WARP_STEP
    const gy0 = Math.floor(gyf)
    const ty = gyf - gy0
    for (let x = 0; x < width; x++) {
      const gxf = x / WARP_STEP
      const gx0 = Math.floor(gxf)
      const tx = gxf - gx0
      const i00 = (gy0 * gw + gx0) * 3
      const i10 = i00 + gw * 3
      const w0 = warp[i00] + (warp[i00 + 3] - warp[i00]) * tx
      const w1 = warp[i00 + 1] + (warp[i00 + 4] - warp[i00 + 1]) * tx
      const w2 = warp[i00 + 2] + (warp[i00 + 5] - warp[i00 + 2]) * tx
      const qz = zm + w0 + (warp[i10] + (warp[i10 + 3] - warp[i10]) * tx - w0) * ty
      const qy = y * vy + w1 + (warp[i10 + 1] + (warp[i10 + 4] - warp[i10 + 1]) * tx - w1) * ty
      const qx = x * vx + w2 + (warp[i10 + 2] + (warp[i10 + 5] - warp[i10 + 2]) * tx - w2) * ty
      // The two nearest seeds (power distance) among those that can be nearest inside q's lattice cell.
      const a = Math.floor((qz * SUB) / spacing)
      const b = Math.floor((qy * SUB) / spacing)
      const c = Math.floor((qx * SUB) / spacing)
      // Neighbouring pixels mostly share a sub-box: look its list up only when it changes.
      if (a !== la || b !== lb || c !== lc) {
        list = candidates(seeds, a, b, c, spacing)
        la = a
        lb = b
        lc = c
      }
      let best = Infinity
      let second = Infinity
      let bi = 0
      let si = 0
      for (let n = 0; n < list.length; n++) {
        const k = list[n]
        const dz = qz - pos[3 * k]
        const dy = qy - pos[3 * k + 1]
        const dx = qx - pos[3 * k + 2]
        const d = dz * dz + dy * dy + dx * dx - weight[k]
        if (d < best) {
          second = best
          si = bi
          best = d
          bi = k
        } else if (d < second) {
          second = d
          si = k
        }
      }
      // Distance from q to the face between the two cells (their radical plane).
      const sz = pos[3 * si] - pos[3 * bi]
      const sy = pos[3 * si + 1] - pos[3 * bi + 1]
      const sx = pos[3 * si + 2] - pos[3 * bi + 2]
      const face = (second - best) / (2 * Math.sqrt(sz * sz + sy * sy + sx * sx))
      const f = face / MEMBRANE_SIGMA
      const membrane = f < 4 ? Math.exp(-f * f) : 0
      const p = y * width + x
      labelPlane[p] = bi + 1
      image[p] = tone[bi] * (1 - membrane) + 45 * membrane
    }
  }
}

/** A synthetic EM volume and its labels. 64 x 512 x 512 takes a few seconds. */
export function syntheticVolume(options: SyntheticOptions): SyntheticVolume {
  const [depth, height, width] = options.shape
  const seed = options.seed >>> 0
  const spacing = options.cellSize ?? 480
  const noiseSigma = options.noise ?? 9
  const vesicleDensity = options.vesicleDensity ?? 6
  const [vz, vy, vx] = SYNTHETIC_VOXEL_SIZE
  // Metric space: nm, with z compressed so cells come out ELONGATION times longer along z.
  const zScale = 1 / ELONGATION
  const warpSpacing = spacing * 0.9
  const warpAmp = WARP_AMPLITUDE[0] * warpSpacing
  // A finer octave bends the faces within a cell's width.
  const fineSpacing = warpSpacing / 2.5
  const fineAmp = WARP_AMPLITUDE[1] * fineSpacing
  const extent: Vec3 = [depth * vz * zScale, height * vy, width * vx]
  const seeds = placeSeeds(seed, extent, spacing)
  const cells = seeds.weight.length
  const tone = Float32Array.from({ length: cells }, (_, i) => 150 + 55 * unit(seed, 3, i))

  const plane = height * width
  const labels = new Uint32Array(depth * plane)
  const raw = new Uint8Array(depth * plane)
  const image = new Float32Array(plane)
  const gh = Math.ceil(height / WARP_STEP) + 2
  const gw = Math.ceil(width / WARP_STEP) + 2
  const warp = new Float32Array(gh * gw * 3)
  const rand = seededRandom(hash(seed, 4))
  const mitochondria = placeMitochondria(seed, options.shape, vy)

  for (let z = 0; z < depth; z++) {
    const zm = z * vz * zScale
    // Warp on a coarse grid, interpolated per pixel below.
    for (let gy = 0; gy < gh; gy++) {
      for (let gx = 0; gx < gw; gx++) {
        const ym = gy * WARP_STEP * vy
        const xm = gx * WARP_STEP * vx
        for (let c = 0; c < 3; c++) {
          warp[(gy * gw + gx) * 3 + c] =
            warpAmp * valueNoise(hash(seed, 10 + c), zm / warpSpacing, ym / warpSpacing, xm / warpSpacing) +
            fineAmp * valueNoise(hash(seed, 20 + c), zm / fineSpacing, ym / fineSpacing, xm / fineSpacing)
        }
      }
    }
    const labelPlane = labels.subarray(z * plane, (z + 1) * plane)
    cellSlice(seeds, warp, gw, zm, spacing, tone, labelPlane, image, height, width)
    drawOrganelles(image, labelPlane, z, height, width, rand, vesicleDensity, vy, mitochondria)
    // Granular cytoplasm texture: blurred white noise (xorshift32, seeded per slice).
    const grain = new Float32Array(plane)
    let state = hash(seed, 7, z) | 1
    for (let i = 0; i < plane; i++) {
      state ^= state << 13
      state ^= state >>> 17
      state ^= state << 5
      grain[i] = (state >>> 0) / 4294967296 - 0.5
    }
    blur2d(grain, height, width, 1.2)
    for (let i = 0; i < plane; i++) image[i] += 60 * grain[i]
    blur2d(image, height, width, 0.8)
    // Section-to-section brightness and contrast drift, then noise.
    const gain = 1 + 0.06 * (rand() - 0.5)
    const offset = 8 * (rand() - 0.5)
    const out = raw.subarray(z * plane, (z + 1) * plane)
    // Gaussian noise from a table, two samples per 32 random bits.
    for (let i = 0; i < plane; i += 2) {
      state ^= state << 13
      state ^= state >>> 17
      state ^= state << 5
      const bits = state >>> 0
      for (let j = 0; j < 2 && i + j < plane; j++) {
        const v = image[i + j] * gain + offset + noiseSigma * GAUSS[(bits >>> (16 * j)) & 4095] + 0.5
        out[i + j] = v <= 0 ? 0 : v >= 255 ? 255 : v
      }
    }
  }
  relabel(labels)
  return {
    raw: new ArrayVolume(`synthetic-${seed}-raw`, options.shape, 'uint8', raw, SYNTHETIC_VOXEL_SIZE),
    labels: new ArrayVolume(`synthetic-${seed}-labels`, options.shape, 'uint32', labels, SYNTHETIC_VOXEL_SIZE),
    voxelSize: SYNTHETIC_VOXEL_SIZE,
  }
}

/** Vesicles (small dark rings) and mitochondria sections (dark textured ellipses), each kept inside its own cell. */
function drawOrganelles(image: Float32Array, labels: Uint32Array, z: number, h: number, w: number, rand: () => number, density: number, nmPerPixel: number, mitochondria: Mitochondrion[]): void {
  const areaUm2 = (h * w * nmPerPixel * nmPerPixel) / 1e6
  const draw = (cy: number, cx: number, ry: number, rx: number, angle: number, shade: (r: number) => number) => {
    const owner = labels[Math.min(h - 1, Math.floor(cy)) * w + Math.min(w - 1, Math.floor(cx))]
    const reach = Math.ceil(Math.max(ry, rx) + 2)
    const cos = Math.cos(angle)
    const sin = Math.sin(angle)
    for (let y = Math.max(0, Math.floor(cy) - reach); y < Math.min(h, Math.floor(cy) + reach + 1); y++) {
      for (let x = Math.max(0, Math.floor(cx) - reach); x < Math.min(w, Math.floor(cx) + reach + 1); x++) {
        const p = y * w + x
        if (labels[p] !== owner) continue
        const u = ((x - cx) * cos + (y - cy) * sin) / rx
        const v = (-(x - cx) * sin + (y - cy) * cos) / ry
        const r = Math.sqrt(u * u + v * v)
        if (r < 1.3) image[p] = shade(r) * image[p]
      }
    }
  }
  const vesicles = Math.round(density * areaUm2 * (0.5 + rand()))
  for (let i = 0; i < vesicles; i++) {
    const radius = (18 + 10 * rand()) / nmPerPixel
    // A dark ring with a paler lumen.
    draw(rand() * h, rand() * w, radius, radius, 0, (r) => 1 - 0.55 * Math.exp(-(((r - 0.85) / 0.3) ** 2)))
  }
  for (const m of mitochondria) {
    // Cross-section of the ellipsoid by this slice.
    const t = (z - m.z) / m.rz
    if (Math.abs(t) >= 1) continue
    const s = Math.sqrt(1 - t * t)
    draw(m.y, m.x, m.ry * s, m.rx * s, m.angle, (r) => (r > 1 ? 1 : 0.62 - 0.12 * Math.sin(m.phase + r * 9)))
  }
}

interface Mitochondrion {
  z: number
  y: number
  x: number
  /** Radii in voxels: z in slices. */
  rz: number
  ry: number
  rx: number
  angle: number
  phase: number
}

/** Mitochondria as 3D ellipsoids (about 0.15 per µm² of section), so they run through several sections. */
function placeMitochondria(seed: number, [depth, h, w]: Vec3, nmPerPixel: number): Mitochondrion[] {
  const rand = seededRandom(hash(seed, 5))
  const count = Math.round(0.15 * ((h * w * nmPerPixel * nmPerPixel) / 1e6) * Math.max(1, depth / 8))
  return Array.from({ length: count }, () => {
    const ry = (60 + 40 * rand()) / nmPerPixel
    return { z: rand() * depth, y: rand() * h, x: rand() * w, rz: 3 + 6 * rand(), ry, rx: ry * (1.5 + 1.5 * rand()), angle: rand() * Math.PI, phase: rand() * 10 }
  })
}

/** Renumbers ids to 1..N in scan order of first appearance. */
function relabel(labels: Uint32Array): void {
  const map = new Map<number, number>()
  for (let i = 0; i < labels.length; i++) {
    const v = labels[i]
    let id = map.get(v)
    if (id === undefined) {
      id = map.size + 1
      map.set(v, id)
    }
    labels[i] = id
  }
}
