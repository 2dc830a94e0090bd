/**
 * `npm run package:dir`: the unpacked Linux app, made by electron-builder --dir from electron-builder.yml,
 * on a machine that cannot download Electron or rebuild native modules for it: a stand-in Electron
 * (scripts/electron-standin.ts) and no rebuild (npmRebuild false). Then the ABI check in report mode,
 * where better_sqlite3.node is expected to be Node's build. Run `npm run build:native` and
 * `npm run build` first.
 *
 * Usage: tsx scripts/package-dir.ts [--out dist]   (the app lands in <out>/linux-unpacked)
 */
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { checkDist } from './check-abi'
import { makeElectronStandin } from './electron-standin'

const projectRoot = resolve(fileURLToPath(new URL('..', import.meta.url)))

/** What the packed app is made of; each must be built before packaging. */
const BUILT = [
  ['out/main/index.js', 'npm run build'],
  ['out/preload/index.cjs', 'npm run build'],
  ['out/renderer/index.html', 'npm run build'],
  ['native/build/Release/tokenunify_native.node', 'npm run build:native'],
]

/** Packs the app into `<out>/linux-unpacked` and returns that folder. */
export function packageDir(out: string, log: (line: string) => void = console.log): string {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(`package:dir uses a Linux x64 stand-in for Electron; on ${process.platform}-${process.arch} run electron-builder --dir with the real Electron`)
  }
  for (const [file, command] of BUILT) {
    if (!existsSync(join(projectRoot, file))) throw new Error(`${file} is missing: run \`${command}\` first`)
  }
  const standin = makeElectronStandin(join(out, 'electron-standin'), projectRoot)
  const cli = createRequire(join(projectRoot, 'package.json')).resolve('electron-builder/cli.js')
  const args = [cli, '--linux', 'dir', '--publish', 'never', `-c.electronDist=${standin}`, '-c.npmRebuild=false', `-c.directories.output=${out}`]
  const run = spawnSync(process.execPath, args, { cwd: projectRoot, encoding: 'utf8' })
  if (run.status !== 0) throw new Error(`electron-builder failed (exit ${run.status}):\n${run.stdout}\n${run.stderr}`)
  log(`packed ${join(out, 'linux-unpacked')}`)
  const problems = checkDist(out, projectRoot, log)
  if (problems > 0) log(`${problems} native problem(s), expected without the rebuild for Electron; installers are checked strictly`)
  return join(out, 'linux-unpacked')
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { out: { type: 'string', default: 'dist' } } })
  packageDir(resolve(values.out))
}
