/**
 * Where the app's own files are, the same in development, in tests, in the built CLI and server,
 * and in the packaged Electron app (where native binaries sit in app.asar.unpacked).
 */
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const PACKAGE_NAME = 'tokenunify-studio'

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
  root: string
  resources: string
  renderer: string
  nativeAddon: string
}

export function appPaths(root: string = findAppRoot()): AppPaths {
  return {
    root,
    resources: unpacked(join(root, 'resources')),
    renderer: join(root, 'out', 'renderer'),
    nativeAddon: unpacked(join(root, 'native', 'build', 'Release', 'tokenunify_native.node')),
  }
}
