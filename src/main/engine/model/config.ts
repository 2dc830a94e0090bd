/**
 * The TokenUnify segmentation network's configuration (the official `SegMamba`,
 * ../shared/design/TOKENUNIFY.md sections 1.2 and 2), its five published sizes, and the patch
 * shapes it accepts.
 */
import type { Vec3 } from '../../../shared/types'
import { StudioError } from '../../../shared/errors'

/** Field names follow the official constructor arguments (in brackets) in camelCase. */
export interface NetworkConfig {
  /** Input channels [in_chans]. */
  inChannels: number
  /** Output channels [out_chans]: 3 affinities (z, y, x). */
  outChannels: number
  /** Channels of the four encoder stages [feat_size]. */
  featSize: [number, number, number, number]
  /** Channels of the bottleneck block encoder5 [hidden_size]. */
  hiddenSize: number
  /** Mamba layers per encoder stage [depths]. */
  depths: [number, number, number, number]
  /** U-Net block kernel (z, y, x) [kernel_size]. */
  kernelSize: Vec3
  /** Mamba state size N [d_state]. */
  dState: number
  /** Causal depthwise conv1d width [d_conv]. */
  dConv: number
  /** Mamba inner width = expand * channels [expand]. */
  expand: number
  /** Chunks of the interleaved ("s") scan direction [nslices]; not visible in weight shapes. */
  nSlices: number
}

export type SizeName = 'base' | 'small' | 'mid' | 'large' | 'huge'

const shared = {
  inChannels: 1,
  outChannels: 3,
  depths: [2, 2, 2, 2],
  kernelSize: [1, 5, 5],
  dState: 16,
  dConv: 4,
  expand: 2,
  nSlices: 5,
} as const

function preset(featSize: NetworkConfig['featSize'], hiddenSize: number): NetworkConfig {
  return { ...shared, depths: [...shared.depths], kernelSize: [...shared.kernelSize], featSize, hiddenSize }
}

/** The published sizes (`segmamba_<size>_model` in the official models_mamba.py). */
export const SIZES: Readonly<Record<SizeName, Readonly<NetworkConfig>>> = {
  base: preset([32, 64, 128, 256], 512), // 28.3 M parameters
  small: preset([64, 128, 256, 512], 1024), // 112.5 M, "TokenUnify-100M"
  mid: preset([96, 192, 384, 768], 1024), // 206.6 M, "200M"
  large: preset([144, 288, 576, 1104], 2048), // 506.6 M, "500M" (C3 really is 1104)
  huge: preset([192, 384, 768, 1536], 3072), // 1008.9 M, "1B"
}

/** A fresh, mutable copy of a published size. */
export function sizeConfig(size: SizeName): NetworkConfig {
  const c = SIZES[size]
  return { ...c, featSize: [...c.featSize], depths: [...c.depths], kernelSize: [...c.kernelSize] }
}

export function sameConfig(a: NetworkConfig, b: NetworkConfig): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b))
}

function canonical(c: NetworkConfig): unknown[] {
  return [c.inChannels, c.outChannels, c.featSize, c.hiddenSize, c.depths, c.kernelSize, c.dState, c.dConv, c.expand, c.nSlices]
}

/** The published size a config equals, or undefined for a custom one. */
export function sizeOf(config: NetworkConfig): SizeName | undefined {
  return (Object.keys(SIZES) as SizeName[]).find((s) => sameConfig(SIZES[s], config))
}

/** Mamba's dt_rank = "auto" = ceil(channels / 16). */
export function dtRank(channels: number): number {
  return Math.ceil(channels / 16)
}

/** Encoder stages; each halves D, H and W. */
export const STAGES = 4

/**
 * Throws a bad_input StudioError unless the network accepts a (z, y, x) patch (section 2.4):
 * D, H, W divisible by 2^4 = 16 (four stride-2 stages, then the decoder concatenates with the
 * skips), and the token count of every stage divisible by nSlices (the interleaved scan splits
 * the tokens into nSlices equal chunks).
 */
export function checkPatch(patch: Vec3, config: Pick<NetworkConfig, 'nSlices'>): void {
  const text = patch.join('x')
  const fail = (why: string) => new StudioError('bad_input', `patch ${text} does not fit the TokenUnify network: ${why}`)
  if (patch.length !== 3 || patch.some((n) => !Number.isInteger(n) || n <= 0)) {
    throw fail('it must be three positive integers (z, y, x)')
  }
  const step = 2 ** STAGES
  const bad = patch.map((n, i) => (n % step === 0 ? '' : `${'zyx'[i]}=${n}`)).filter(Boolean)
  if (bad.length > 0) throw fail(`every side must be a multiple of ${step} (${bad.join(', ')} is not)`)
  for (let stage = 0; stage < STAGES; stage++) {
    const grid = patch.map((n) => n / 2 ** (stage + 1))
    const tokens = grid[0] * grid[1] * grid[2]
    if (tokens % config.nSlices !== 0) {
      throw fail(
        `encoder stage ${stage} has ${grid.join('x')} = ${tokens} tokens, which the interleaved scan cannot split ` +
          `into ${config.nSlices} equal parts` +
          (config.nSlices === 5 ? '; with nslices 5 one side must be a multiple of 80, e.g. 16x160x160 or 16x80x80' : ''),
      )
    }
  }
}
