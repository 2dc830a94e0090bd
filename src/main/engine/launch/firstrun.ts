/**
 * What the app needs on its first run, with no network: the demo project (a synthetic volume and
 * the default model shipped in resources/models) and a folder for the TokenUnify weights the user
 * downloads by hand. The app never downloads anything by itself. Plain Node, no Electron.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { extname, join } from 'node:path'
import type { LaunchInfo } from '../../../shared/api/app'
import type { AppPaths, UserPaths } from '../paths'

export const WEIGHTS_REPOSITORY = 'https://huggingface.co/cyd0806/TokenUnify'
/** Files that hold network weights: checkpoints as published, or ONNX models made from them. */
export const WEIGHT_EXTENSIONS = ['.pth', '.safetensors', '.onnx']

function weightFiles(dir: string): string[] {
  if (!existsSync(dir)) return []
  return readdirSync(dir)
    .filter((name) => WEIGHT_EXTENSIONS.includes(extname(name).toLowerCase()))
    .sort()
    .map((name) => join(dir, name))
}

/**
 * Makes the weights folder (with its README) and records that the first run happened.
 * Cheap and idempotent: the desktop shell calls it at every start.
 */
export function prepareLaunch(app: AppPaths, user: UserPaths): Omit<LaunchInfo, 'open'> {
  mkdirSync(user.weights, { recursive: true })
  const readme = join(user.weights, 'README.txt')
  if (!existsSync(readme)) copyFileSync(join(app.resources, 'weights', 'README.txt'), readme)
  const marker = join(user.data, 'first-run.txt')
  const firstRun = !existsSync(marker)
  if (firstRun) writeFileSync(marker, `first run: ${new Date().toISOString()}\n`)
  return {
    firstRun,
    demoProject: user.demoProject,
    defaultModel: weightFiles(app.models)[0] ?? null,
    weights: { folder: user.weights, repository: WEIGHTS_REPOSITORY, files: weightFiles(user.weights) },
  }
}
