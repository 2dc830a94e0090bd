/**
 * Model versions of a project (the store's ModelRegistry holds the records): weight files in the
 * project's models/ folder as safetensors with the official key names, the active one used for
 * inference, exports as safetensors and as ONNX.
 */
import { copyFileSync, existsSync } from 'node:fs'
import { basename, join } from 'node:path'
import { StudioError } from '../../../shared/errors'
import type { ModelVersion, Vec3 } from '../../../shared/types'
import { wholeGraph, writeModel } from '../graph/emit'
import { lower, LOWERINGS } from '../graph/lower'
import { loadCheckpoint, saveSafetensors, type Tensor } from '../model/checkpoint'
import type { NetworkConfig } from '../model/config'
import { buildNetwork, INPUT, OUTPUT } from '../model/network'
import { paramSpecs } from '../model/params'
import { DEFAULT_PATCH, defaultModelPath, META_DESCRIPTION, META_THRESHOLD, modelThreshold } from '../model/runnable'
import { MODELS_DIR, type Project } from '../store/project'

/** The file of a version, absolute. */
export function versionFile(project: Project, v: ModelVersion): string {
  return join(project.dir, MODELS_DIR, v.file)
}

/**
 * The active version, recording the bundled default model as the project's first version (copied
 * into models/) when the project has none, so every fine-tuned version has a parent to roll back to.
 */
export function activeVersion(project: Project, bundled = defaultModelPath()): ModelVersion {
  const active = project.models.active()
  if (active) return active
  if (project.models.list().length > 0) throw new StudioError('conflict', 'no model version is active; activate one first')
  const file = basename(bundled)
  const target = join(project.dir, MODELS_DIR, file)
  if (!existsSync(target)) copyFileSync(bundled, target)
  return project.models.record({ name: 'bundled default', file, activate: true })
}

/** The weights file inference should use: the active version's, or the bundled model before any. */
export function activeModelFile(project: Project | null): string {
  const active = project?.models.active()
  return active && project ? versionFile(project, active) : defaultModelPath()
}

/**
 * Adds a model file from elsewhere (.pth or safetensors, e.g. trained with the official code) as a
 * version of the project: validated against the architecture, written into models/ as safetensors
 * with the official key names, recorded (active unless told otherwise).
 */
export async function importVersion(project: Project, path: string, options: { name?: string; activate?: boolean } = {}): Promise<ModelVersion> {
  const checkpoint = await loadCheckpoint(path)
  const file = `imported-${Date.now()}-${basename(path).replace(/\.(pth|pt|safetensors)$/i, '')}.safetensors`
  const metadata = checkpoint.meta.metadata
  await saveWeights(join(project.dir, MODELS_DIR, file), checkpoint.config, checkpoint.weights, {
    description: metadata?.[META_DESCRIPTION] ?? `imported from ${path}`,
    threshold: modelThreshold(metadata),
  })
  return project.models.record({ name: options.name ?? `imported ${basename(path)}`, file, activate: options.activate ?? true })
}

/** What a saved model file says of itself besides its weights. */
export interface ModelNotes {
  description: string
  /** The calibrated agglomeration threshold (runnable.ts META_THRESHOLD). */
  threshold?: number
}

/** Writes every parameter in the official state_dict order with the official key names. */
export async function saveWeights(file: string, config: NetworkConfig, weights: ReadonlyMap<string, Tensor>, notes: ModelNotes): Promise<void> {
  const ordered = paramSpecs(config).map((p): [string, Tensor] => {
    const t = weights.get(p.name)
    if (!t) throw new StudioError('internal', `saving ${file}: no weights for ${p.name}`)
    return [p.name, t]
  })
  const metadata: Record<string, string> = { [META_DESCRIPTION]: notes.description, config: JSON.stringify(config) }
  if (notes.threshold !== undefined) metadata[META_THRESHOLD] = String(notes.threshold)
  await saveSafetensors(file, ordered, { metadata })
}

/**
 * Exports a version: 'safetensors' copies its weights (official key names, loadable by the
 * official code after safetensors.torch.load_file), 'onnx' writes the network with its weights as a
 * self-contained graph of standard ops for `patch`. Returns the files written.
 */
export async function exportVersion(project: Project, id: number, out: string, format: 'safetensors' | 'onnx', patch: Vec3 = DEFAULT_PATCH): Promise<string[]> {
  const file = versionFile(project, project.models.get(id))
  if (format === 'safetensors') {
    copyFileSync(file, out)
    return [out]
  }
  const checkpoint = await loadCheckpoint(file)
  const graph = lower(buildNetwork(checkpoint.config, { patch, batch: 1 }), LOWERINGS.portable)
  return writeModel(out, wholeGraph(graph), {
    weights: (name) => checkpoint.weights.get(name)?.data,
    docString: 'TokenUnify segmentation network (SegMamba) fine-tuned in TokenUnify Studio',
    metadata: { config: JSON.stringify(checkpoint.config), patch: patch.join(','), input: INPUT, output: OUTPUT },
  })
}
