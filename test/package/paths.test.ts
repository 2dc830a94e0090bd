import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { appPaths, findAppRoot, userDataDir, userPaths } from '../../src/main/engine/paths'
import { prepareLaunch, WEIGHTS_REPOSITORY } from '../../src/main/engine/launch/firstrun'
import { openTarget, openTargetsFromArgs } from '../../src/main/engine/launch/openwith'

const repo = resolve('.')
const temps: string[] = []
function temp(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tu-launch-'))
  temps.push(dir)
  return dir
}
afterEach(() => {
  for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true })
})

describe('appPaths', () => {
  it('finds the repository from the source tree (development, tests, CLI, browser mode)', () => {
    expect(findAppRoot()).toBe(repo)
    expect(appPaths()).toEqual({
      root: repo,
      resources: join(repo, 'resources'),
      models: join(repo, 'resources', 'models'),
      renderer: join(repo, 'out', 'renderer'),
      nativeAddon: join(repo, 'native', 'build', 'Release', 'tokenunify_native.node'),
    })
  })

  it('reads native files and resources from app.asar.unpacked in the packaged app', () => {
    const root = join('/opt', 'TokenUnify Studio', 'resources', 'app.asar')
    const unpacked = join('/opt', 'TokenUnify Studio', 'resources', 'app.asar.unpacked')
    expect(appPaths(root)).toEqual({
      root,
      resources: join(unpacked, 'resources'),
      models: join(unpacked, 'resources', 'models'),
      renderer: join(root, 'out', 'renderer'),
      nativeAddon: join(unpacked, 'native', 'build', 'Release', 'tokenunify_native.node'),
    })
  })
})

describe('userPaths', () => {
  it('is where Electron keeps userData for the product name, on each OS', () => {
    expect(userDataDir('linux', {}, '/home/ana')).toBe('/home/ana/.config/TokenUnify Studio')
    expect(userDataDir('linux', { XDG_CONFIG_HOME: '/cfg' }, '/home/ana')).toBe('/cfg/TokenUnify Studio')
    expect(userDataDir('darwin', {}, '/Users/ana')).toBe('/Users/ana/Library/Application Support/TokenUnify Studio')
    expect(userDataDir('win32', { APPDATA: 'C:\\Users\\ana\\AppData\\Roaming' }, 'C:\\Users\\ana')).toBe(
      'C:\\Users\\ana\\AppData\\Roaming\\TokenUnify Studio',
    )
    expect(userDataDir('win32', { TOKENUNIFY_DATA_DIR: '/portable/data' }, 'C:\\Users\\ana')).toBe(resolve('/portable/data'))
  })

  it('keeps weights and the demo project in that folder', () => {
    expect(userPaths('/d')).toEqual({ data: '/d', weights: join('/d', 'weights'), demoProject: join('/d', 'demo-project') })
  })
})

describe('first run', () => {
  it('makes the weights folder with its README, and says first run only once', () => {
    const user = userPaths(join(temp(), 'data'))
    const first = prepareLaunch(appPaths(), user)
    expect(first.firstRun).toBe(true)
    expect(first.demoProject).toBe(user.demoProject)
    expect(first.defaultModel).toMatch(/[\\/]resources[\\/]models[\\/][^\\/]+\.(onnx|safetensors|pth)$/)
    expect(first.weights).toEqual({ folder: user.weights, repository: WEIGHTS_REPOSITORY, files: [] })
    const readme = readFileSync(join(user.weights, 'README.txt'), 'utf8')
    expect(readme).toBe(readFileSync('resources/weights/README.txt', 'utf8'))
    expect(readme).toContain('https://huggingface.co/cyd0806/TokenUnify')
    expect(prepareLaunch(appPaths(), user).firstRun).toBe(false)
  })

  it('finds the shipped default model and the weights the user put in the folder', () => {
    const app = { ...appPaths(), models: join(temp(), 'models') }
    const user = userPaths(temp())
    expect(prepareLaunch(app, user).defaultModel).toBeNull()
    mkdirSync(app.models)
    writeFileSync(join(app.models, 'notes.txt'), '')
    writeFileSync(join(app.models, 'tokenunify-small.onnx'), 'model')
    writeFileSync(join(user.weights, 'checkpoint-1160.pth'), 'w')
    writeFileSync(join(user.weights, 'base.SAFETENSORS'), 'w')
    const launch = prepareLaunch(app, user)
    expect(launch.defaultModel).toBe(join(app.models, 'tokenunify-small.onnx'))
    expect(launch.weights.files).toEqual([join(user.weights, 'base.SAFETENSORS'), join(user.weights, 'checkpoint-1160.pth')])
  })
})

describe('what the OS asks to open', () => {
  it('opens a .tuproj marker as its project folder, a folder with project.sqlite as a project, EM files as volumes', () => {
    const dir = temp()
    const project = join(dir, 'mouse cortex')
    mkdirSync(project)
    writeFileSync(join(project, 'project.sqlite'), '')
    writeFileSync(join(project, 'mouse cortex.tuproj'), '')
    writeFileSync(join(dir, 'stack.TIF'), '')
    writeFileSync(join(dir, 'notes.txt'), '')
    mkdirSync(join(dir, 'raw.zarr'))
    expect(openTarget(join(project, 'mouse cortex.tuproj'))).toEqual({ kind: 'project', path: project })
    expect(openTarget(project)).toEqual({ kind: 'project', path: project })
    expect(openTarget(join(dir, 'stack.TIF'))).toEqual({ kind: 'volume', path: join(dir, 'stack.TIF') })
    expect(openTarget(join(dir, 'raw.zarr'))).toEqual({ kind: 'volume', path: join(dir, 'raw.zarr') })
    expect(openTarget(join(dir, 'notes.txt'))).toBeUndefined()
    expect(openTarget(join(dir, 'gone.h5'))).toBeUndefined()
  })

  it('takes paths from a command line, skipping switches and resolving relative paths', () => {
    const dir = temp()
    writeFileSync(join(dir, 'a.h5'), '')
    const args = ['--no-sandbox', 'a.h5', join(dir, 'missing.tif'), '--enable-features=X']
    expect(openTargetsFromArgs(args, dir)).toEqual([{ kind: 'volume', path: join(dir, 'a.h5') }])
  })
})
