/**
 * A TokenUnify checkpoint made runnable: read and validated (checkpoint/), built for a patch and
 * batch (network.ts), and loaded on the best working execution provider (runtime/).
 */
import { join } from 'node:path'
import type { Vec3 } from '../../../shared/types'
import { appPaths } from '../paths'
import { onFirstWorkingProvider, type PassedOver, type Provider, type ProviderChoice } from '../runtime/providers'
import { Program } from '../runtime/program'
import { loadCheckpoint, openCheckpoint, type Checkpoint } from './checkpoint'
import type { NetworkConfig, SizeName } from './config'
import { buildNetwork, INPUT, OUTPUT } from './network'

/** safetensors metadata keys this app writes and reads. */
export const META_UNTRAINED = 'tokenunify.untrained'
export const META_DESCRIPTION = 'tokenunify.description'
/** The agglomeration threshold this model's affinities segment best at, found when it was trained. */
export const META_THRESHOLD = 'tokenunify.threshold'

export const DEFAULT_PATCH: Vec3 = [16, 160, 160]

export interface ModelInfo {
  path: string
  format: Checkpoint['format']
  /** The published size, or 'custom'. */
  size: SizeName | 'custom'
  config: NetworkConfig
  parameters: number
  /** True when the file says its weights were never trained (the bundled default model). */
  untrained: boolean
  description?: string
  /** Agglomeration threshold calibrated for this model; segmentations use it unless told otherwise. */
  threshold?: number
}

export interface ModelOptions {
  provider?: ProviderChoice
  patch?: Vec3
  /** Windows per run. */
  batch?: number
  threads?: number
  /** Insist on this architecture (a wrong checkpoint is refused listing the differences). */
  config?: NetworkConfig
}

export interface RunnableModel {
  info: ModelInfo
  provider: Provider
  /** Providers tried first and why they were not used. */
  passedOver: PassedOver[]
  patch: Vec3
  batch: number
  /** How the selective scans run (runtime/program.ts). */
  scan: 'native' | 'in-graph'
  /** (batch, 1, z, y, x) intensities in [0, 1] -> (batch, 3, z, y, x) affinities. */
  run(windows: Float32Array): Promise<Float32Array>
  dispose(): Promise<void>
}

/** The small model bundled with the app (resources/models), trained on synthetic EM by scripts/train-default-model.ts. */
export function defaultModelPath(): string {
  return join(appPaths().resources, 'models', 'tokenunify-tiny-synthetic.safetensors')
}

/** The calibrated threshold a file's metadata records, if any (a value outside (0, 1) is ignored). */
export function modelThreshold(metadata: Record<string, string> | undefined): number | undefined {
  const t = Number(metadata?.[META_THRESHOLD])
  return metadata?.[META_THRESHOLD] !== undefined && t > 0 && t < 1 ? t : undefined
}

function describe(c: Pick<Checkpoint, 'path' | 'format' | 'size' | 'config' | 'params' | 'meta'>): ModelInfo {
  const metadata = c.meta.metadata ?? {}
  return {
    path: c.path,
    format: c.format,
    size: c.size ?? 'custom',
    config: c.config,
    parameters: c.params.reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0),
    untrained: metadata[META_UNTRAINED] === 'true',
    ...(metadata[META_DESCRIPTION] ? { description: metadata[META_DESCRIPTION] } : {}),
    ...(modelThreshold(metadata) === undefined ? {} : { threshold: modelThreshold(metadata) }),
  }
}

/** What a checkpoint holds, without reading its weights. */
export async function modelInfo(path: string): Promise<ModelInfo> {
  const checkpoint = await openCheckpoint(path)
  try {
    return describe(checkpoint)
  } finally {
    await checkpoint.close()
  }
}

export async function loadModel(path: string, options: ModelOptions = {}): Promise<RunnableModel> {
  const patch = options.patch ?? DEFAULT_PATCH
  const batch = options.batch ?? 1
  const checkpoint = await loadCheckpoint(path, options.config ? { config: options.config } : {})
  const info = describe({ ...checkpoint, params: [...checkpoint.weights].map(([name, t]) => ({ name, shape: t.shape })) })
  const graph = buildNetwork(checkpoint.config, { patch, batch })
  const weights = (name: string) => checkpoint.weights.get(name)?.data
  const { value: program, provider, passedOver } = await onFirstWorkingProvider(options.provider ?? 'auto', (p) =>
    Program.create(graph, { provider: p, weights, threads: options.threads }),
  )
  return {
    info,
    provider,
    passedOver,
    patch,
    batch,
    scan: program.scan,
    run: async (windows) => (await program.run({ [INPUT]: windows })).get(OUTPUT)!,
    dispose: () => program.dispose(),
  }
}
