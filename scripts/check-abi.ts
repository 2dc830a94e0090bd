/**
 * Checks the native files of every app electron-builder packed under dist/: each .node in
 * app.asar.unpacked must be built for the package's OS and CPU, and an addon bound to one Node ABI
 * (better-sqlite3) must be bound to Electron's, not Node's. electron-builder's rebuild can silently
 * leave Node's build in place (PLATFORM.md); Electron then refuses to load it at run time.
 *
 * Electron's ABI is derived, not assumed: node_modules/electron/abi_version (shipped with the
 * electron package), cross-checked against node-abi's registry when node-abi is installed.
 * How an addon's ABI is read: scripts/native-binary.ts.
 *
 * Usage: tsx scripts/check-abi.ts [--report] [dist]
 *   strict (default): exit 1 on any problem (release.yml, after electron-builder's rebuild)
 *   --report: print the same findings and exit 0 (npm run package:dir, which cannot rebuild here,
 *             so its better_sqlite3.node is Node's and the mismatch is expected)
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { addonAbi, type BinaryFormat, type Cpu } from './native-binary'

const projectRoot = resolve(fileURLToPath(new URL('..', import.meta.url)))

/** Addons the app cannot run without; a packed app missing one fails the check. */
export const REQUIRED_ADDONS = ['better_sqlite3.node', 'tokenunify_native.node', 'onnxruntime_binding.node']

type Os = 'linux' | 'win' | 'mac'
const FORMAT: Record<Os, BinaryFormat> = { linux: 'elf', win: 'pe', mac: 'macho' }

export interface ElectronTarget {
  version: string
  abi: number
}

interface NodeAbi {
  getAbi(target: string, runtime: string): string
  allTargets: { runtime: string; target: string; abi: string }[]
}

function nodeAbi(root: string): NodeAbi | undefined {
  try {
    return createRequire(join(root, 'package.json'))('node-abi') as NodeAbi
  } catch {
    return undefined
  }
}

/** The installed Electron's version and the NODE_MODULE_VERSION its native addons must be built for. */
export function electronTarget(root: string = projectRoot): ElectronTarget {
  const dir = join(root, 'node_modules', 'electron')
  const { version } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }
  const shipped = existsSync(join(dir, 'abi_version')) ? Number(readFileSync(join(dir, 'abi_version'), 'utf8').trim()) : undefined
  let registry: number | undefined
  try {
    registry = Number(nodeAbi(root)?.getAbi(version, 'electron'))
  } catch {
    registry = undefined // node-abi older than this Electron: abi_version alone decides
  }
  if (shipped !== undefined && registry !== undefined && shipped !== registry) {
    throw new Error(`Electron ${version}: abi_version says ${shipped} but node-abi says ${registry}`)
  }
  const abi = shipped ?? registry
  if (abi === undefined || !Number.isInteger(abi)) {
    throw new Error(`Electron ${version}: cannot derive its ABI (no ${join(dir, 'abi_version')} and no node-abi entry)`)
  }
  return { version, abi }
}

/** Which runtime an ABI number belongs to, for messages ("Node 20"), from node-abi when installed. */
function abiOwner(abi: number, root: string): string {
  const hits = (nodeAbi(root)?.allTargets ?? []).filter((t) => Number(t.abi) === abi)
  const node = hits.find((t) => t.runtime === 'node')
  if (node) return `Node ${node.target.split('.')[0]}`
  const electron = hits.find((t) => t.runtime === 'electron')
  return electron ? `Electron ${electron.target.split('.')[0]}` : 'an unknown runtime'
}

export interface PackedApp {
  /** The electron-builder output folder, e.g. dist/linux-unpacked or dist/mac-arm64. */
  dir: string
  os: Os
  cpu: Cpu
  /** Its app.asar.unpacked folder. */
  unpacked: string
}

function findUnpacked(dir: string, depth: number): string | undefined {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    if (!statSync(path).isDirectory()) continue
    if (name === 'app.asar.unpacked') return path
    if (depth > 0) {
      const found = findUnpacked(path, depth - 1)
      if (found) return found
    }
  }
  return undefined
}

/** electron-builder's output folders: linux-unpacked, linux-arm64-unpacked, win-unpacked, mac, mac-arm64... */
export function findPackedApps(dist: string): PackedApp[] {
  const apps: PackedApp[] = []
  for (const name of readdirSync(dist)) {
    const m = /^(linux|win|mac)(?:-(arm64|ia32))?(?:-unpacked)?$/.exec(name)
    if (!m || !statSync(join(dist, name)).isDirectory()) continue
    const unpacked = findUnpacked(join(dist, name), 4)
    if (!unpacked) throw new Error(`${join(dist, name)}: no app.asar.unpacked inside (is asarUnpack set in electron-builder.yml?)`)
    apps.push({ dir: join(dist, name), os: m[1] as Os, cpu: (m[2] ?? 'x64') as Cpu, unpacked })
  }
  return apps
}

export interface Finding {
  /** Path inside app.asar.unpacked. */
  file: string
  abi: number | 'napi'
  format: BinaryFormat
  cpu: Cpu
  problems: string[]
}

function nodeFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.node'))
    .map((f) => join(dir, f))
}

/** Every .node file in one packed app, with what is wrong with it; `missing` lists absent required addons. */
export function checkPackedApp(
  app: PackedApp,
  electron: ElectronTarget,
  root: string = projectRoot,
): { findings: Finding[]; missing: string[] } {
  const files = nodeFiles(app.unpacked)
  const findings = files.map((file): Finding => {
    const { abi, binary } = addonAbi(file)
    const problems: string[] = []
    if (binary.format !== FORMAT[app.os]) problems.push(`is ${binary.format}, but a ${app.os} app needs ${FORMAT[app.os]}`)
    if (binary.cpu !== app.cpu) problems.push(`is built for ${binary.cpu}, but the app is ${app.cpu}`)
    if (abi !== 'napi' && abi !== electron.abi) {
      problems.push(
        `is built for ABI ${abi} (${abiOwner(abi, root)}), but Electron ${electron.version} loads only ABI ${electron.abi}: ` +
          'rebuild it for Electron (electron-builder npmRebuild)',
      )
    }
    return { file: relative(app.unpacked, file), abi, format: binary.format, cpu: binary.cpu, problems }
  })
  const names = new Set(files.map((f) => f.split(/[\\/]/).pop()))
  return { findings, missing: REQUIRED_ADDONS.filter((n) => !names.has(n)) }
}

/** Checks every packed app under `dist`, prints the findings and returns the number of problems. */
export function checkDist(dist: string, root: string = projectRoot, log: (line: string) => void = console.log): number {
  const electron = electronTarget(root)
  const apps = findPackedApps(dist)
  if (apps.length === 0) throw new Error(`${dist}: no packed app (linux-unpacked, win-unpacked, mac...) to check`)
  let problems = 0
  for (const app of apps) {
    log(`${app.dir}: ${app.os} ${app.cpu}, Electron ${electron.version} (ABI ${electron.abi})`)
    const { findings, missing } = checkPackedApp(app, electron, root)
    for (const f of findings) {
      const abi = f.abi === 'napi' ? 'N-API' : `ABI ${f.abi}`
      log(`  ${f.problems.length ? 'PROBLEM' : 'ok     '} ${f.file} (${f.format} ${f.cpu}, ${abi})`)
      for (const p of f.problems) log(`          ${p}`)
      problems += f.problems.length
    }
    for (const name of missing) log(`  PROBLEM ${name} is missing from ${app.unpacked}`)
    problems += missing.length
  }
  return problems
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values, positionals } = parseArgs({ options: { report: { type: 'boolean', default: false } }, allowPositionals: true })
  const dist = resolve(positionals[0] ?? 'dist')
  const problems = checkDist(dist)
  if (problems === 0) console.log('native files: all built for their app')
  else if (values.report) {
    console.log(
      `${problems} problem(s), reported only (--report): expected for npm run package:dir, which cannot rebuild ` +
        'for Electron on this machine; the release jobs run this check strictly after the rebuild',
    )
  } else {
    console.error(`${problems} problem(s): these packages would fail to load their native code`)
    process.exit(1)
  }
}
