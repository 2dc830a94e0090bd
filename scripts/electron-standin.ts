/**
 * A stand-in for the Electron distribution that electron-builder copies around the app.
 *
 * Electron's binary comes from GitHub, which the build machines of this project cannot reach, so
 * `npm run package:dir` points electron-builder's `electronDist` at this folder instead. It has the
 * parts of Electron's Linux zip that electron-builder touches (the `electron` executable it renames,
 * `resources/`, `locales/`, `version`); its `electron` is a script that says what it is and exits 1.
 * Everything electron-builder puts around it (app.asar, app.asar.unpacked, native files, resources)
 * is what the real binary would load. Installers are made where the real one downloads (release.yml).
 */
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

export function makeElectronStandin(dir: string, projectRoot: string): string {
  const pkg = join(projectRoot, 'node_modules', 'electron', 'package.json')
  const { version } = JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(join(dir, 'resources'), { recursive: true })
  mkdirSync(join(dir, 'locales'))
  writeFileSync(join(dir, 'locales', 'en-US.pak'), '')
  writeFileSync(join(dir, 'version'), version)
  writeFileSync(join(dir, 'LICENSE'), 'Stand-in for the Electron distribution: see scripts/electron-standin.ts.\n')
  const exe = join(dir, 'electron')
  writeFileSync(
    exe,
    `#!/bin/sh\necho "stand-in for Electron ${version}: the real binary could not be downloaded on the build machine" >&2\nexit 1\n`,
  )
  chmodSync(exe, 0o755)
  return dir
}
