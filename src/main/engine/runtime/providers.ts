/**
 * Which ONNX Runtime execution providers this machine offers, and the choice among them:
 * 'auto' tries the GPU first (CUDA when its provider library is installed, then WebGPU when a
 * GPU device is visible) and falls back to the CPU; an explicit choice that fails falls back to
 * the CPU too. Every provider passed over is reported with the reason.
 */
import { existsSync, readdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import * as ort from 'onnxruntime-node'
import { StudioError } from '../../../shared/errors'
import { Graph } from '../graph/builder'
import { emitModel, wholeGraph } from '../graph/emit'
import type { Provider } from '../graph/lower'

export type { Provider } from '../graph/lower'
export type ProviderChoice = 'auto' | Provider

export const PROVIDER_CHOICES: readonly ProviderChoice[] = ['auto', 'cpu', 'webgpu', 'cuda']

export async function availableProviders(): Promise<string[]> {
  return ort
    .listSupportedBackends()
    .filter((b) => b.bundled)
    .map((b) => b.name)
}

export function parseProviderChoice(text: string): ProviderChoice {
  if (!(PROVIDER_CHOICES as readonly string[]).includes(text)) {
    throw new StudioError('bad_input', `provider must be one of ${PROVIDER_CHOICES.join(', ')}, not '${text}'`)
  }
  return text as ProviderChoice
}

/** A provider not used, and why. */
export interface PassedOver {
  provider: Provider
  reason: string
}

/** The folder holding onnxruntime-node's native libraries for this platform. */
function ortLibraryDir(): string | undefined {
  try {
    const root = dirname(dirname(createRequire(import.meta.url).resolve('onnxruntime-node')))
    const dir = join(root, 'bin', 'napi-v6', process.platform, process.arch)
    return existsSync(dir) ? dir : undefined
  } catch {
    return undefined
  }
}

/** Why a provider should not even be tried here, or undefined when it is worth a try. */
export function reasonToSkip(provider: Provider, choice: ProviderChoice): string | undefined {
  if (provider === 'cuda') {
    const dir = ortLibraryDir()
    const present = dir !== undefined && readdirSync(dir).some((f) => /onnxruntime_providers_cuda\.(so|dll)$/.test(f))
    return present ? undefined : "ONNX Runtime's CUDA provider library is not installed (onnxruntime-node ships without it)"
  }
  if (provider === 'webgpu' && choice === 'auto' && process.platform === 'linux') {
    // Without a GPU device, WebGPU would run on a software rasterizer, far slower than the CPU.
    const gpu = existsSync('/dev/dri') || existsSync('/dev/nvidia0') || existsSync('/dev/dxg')
    return gpu ? undefined : 'no GPU device (/dev/dri, /dev/nvidia0) on this machine'
  }
  return undefined
}

/** Providers to try for a choice, best first; the CPU is always last. */
export function providerOrder(choice: ProviderChoice): Provider[] {
  if (choice === 'auto') return ['cuda', 'webgpu', 'cpu']
  return choice === 'cpu' ? ['cpu'] : [choice, 'cpu']
}

/**
 * Runs `create` on each provider of the choice in turn until one succeeds; returns its value,
 * the provider, and the providers passed over with their reasons.
 */
export async function onFirstWorkingProvider<T>(
  choice: ProviderChoice,
  create: (provider: Provider) => Promise<T>,
): Promise<{ value: T; provider: Provider; passedOver: PassedOver[] }> {
  const passedOver: PassedOver[] = []
  for (const provider of providerOrder(choice)) {
    const skip = provider === 'cpu' ? undefined : reasonToSkip(provider, choice)
    if (skip) {
      passedOver.push({ provider, reason: skip })
      continue
    }
    try {
      return { value: await create(provider), provider, passedOver }
    } catch (err) {
      if (provider === 'cpu') throw err
      passedOver.push({ provider, reason: firstLine((err as Error).message) })
    }
  }
  throw new StudioError('internal', 'no execution provider could run the model')
}

/** ONNX Runtime's errors start with a source location; keep the message. */
function firstLine(message: string): string {
  const line = message.split('\n')[0]
  return line.replace(/^\S*onnxruntime_src\S*\s+\S+\s+/, '').slice(0, 300)
}

/**
 * Whether WebGPU can run here at all (a software adapter counts): undefined when it can,
 * otherwise ONNX Runtime's reason. Used by tests that need a WebGPU adapter.
 */
export async function webgpuUnavailable(): Promise<string | undefined> {
  const g = new Graph()
  g.output('y', g.exp(g.input('x', 'float32', [1])))
  const model = emitModel(wholeGraph(g)).bytes
  try {
    const session = await ort.InferenceSession.create(model, { executionProviders: ['webgpu'] })
    await session.release()
    return undefined
  } catch (err) {
    return firstLine((err as Error).message)
  }
}
