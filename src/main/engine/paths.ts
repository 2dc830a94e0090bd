/**
 * Where files are. The app's own files (appPaths) resolve the same in development, in tests, in the
 * built CLI and browser-mode server, and in the packaged Electron app, where native binaries and
 * resources/ sit in app.asar.unpacked (electron-builder.yml asarUnpack). The user's files (userPaths)
 * live in one per-user folder that the desktop app, browser mode and the CLI share.
 */
import { existsSync, readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { dirname, join, posix, resolve, win32 } from 'node:path'
import { fileURLToPath } from 'node:url'

const PACKAGE_NAME = 'tokenunify-studio'
export const PRODUCT_NAME = 'TokenUnify Studio'

function isAppRoot(dir: string): boolean {
  const pkg = join(dir, 'package.json')
  if (!existsSync(pkg)) return false
  try {
    return (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === PACKAGE_NAME
  } catch {
    return false
  }
}

/** The folder holding the app's package.json, found upwards from `from` (default: this module). */
export function findAppRoot(from: string = dirname(fileURLToPath(import.meta.url))): string {
  let dir = resolve(from)
  for (;;) {
    if (isAppRoot(dir)) return dir
    const parent = dirname(dir)
    if (parent === dir) throw new Error(`cannot find the ${PACKAGE_NAME} package above ${from}`)
    dir = parent
  }
}

/** Files that the packager unpacks from app.asar are read from the unpacked twin. */
export function unpacked(path: string): string {
  return path.replace(/app\.asar([\\/])/, 'app.asar.unpacked$1')
}

export interface AppPaths {
  /** The folder holding package.json: the repository, or app.asar in the packaged app. */
  root: string
  /** Read-only data shipped with the app. */
  resources: string
  /** Models shipped with the app: the default small model. */
  models: string
  renderer: string
  nativeAddon: string
}

export function appPaths(root: string = findAppRoot()): AppPaths {
  const resources = unpacked(join(root, 'resources'))
  return {
    root,
    resources,
    models: join(resources, 'models'),
    renderer: join(root, 'out', 'renderer'),
    nativeAddon: unpacked(join(root, 'native', 'build', 'Release', 'tokenunify_native.node')),
  }
}

export interface UserPaths {
  /** The per-user folder; the desktop shell makes it Electron's userData, so all modes share it. */
  data: string
  /** Where the user puts TokenUnify weights downloaded by hand (the app never downloads them). */
  weights: string
  /** The demo project the first run opens (a writable copy: the packaged app is read-only). */
  demoProject: string
}

/**
 * The per-user folder, where Electron would put userData for this product name: %APPDATA% on
 * Windows, ~/Library/Application Support on macOS, $XDG_CONFIG_HOME (~/.config) elsewhere.
 * TOKENUNIFY_DATA_DIR overrides it (tests, portable installs).
 */
export function userDataDir(
  platform: NodeJS.Platform = process.platform,
  env: NodeJS.ProcessEnv = process.env,
  home: string = homedir(),
): string {
  if (env.TOKENUNIFY_DATA_DIR) return resolve(env.TOKENUNIFY_DATA_DIR)
  if (platform === 'win32') return win32.join(env.APPDATA || win32.join(home, 'AppData', 'Roaming'), PRODUCT_NAME)
  if (platform === 'darwin') return posix.join(home, 'Library', 'Application Support', PRODUCT_NAME)
  return posix.join(env.XDG_CONFIG_HOME || posix.join(home, '.config'), PRODUCT_NAME)
}

export function userPaths(data: string = userDataDir()): UserPaths {
  return { data, weights: join(data, 'weights'), demoProject: join(data, 'demo-project') }
}
