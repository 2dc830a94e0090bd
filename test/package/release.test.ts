/**
 * The release workflow cannot run here, so it is checked against what it drives: electron-builder.yml
 * (targets per OS, associations, native unpacking), package.json's scripts and the installed
 * onnxruntime-node (a binary for every target).
 */
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse } from 'yaml'
import { describe, expect, it } from 'vitest'
import { PROJECT_EXTENSION, VOLUME_EXTENSIONS } from '../../src/main/engine/launch/openwith'

interface Target {
  target: string
  arch: string[]
}
interface Association {
  ext: string | string[]
  mimeType?: string
  rank?: string
}
interface BuilderConfig {
  appId: string
  productName: string
  asarUnpack: string[]
  files: string[]
  fileAssociations: Association[]
  nsis: { include: string }
  linux: { target: Target[]; icon: string; mimeTypes: string[] }
  win: { target: Target[]; icon: string }
  mac: { target: Target[]; icon: string; entitlements: string; fileAssociations: Association[] }
}
interface Step {
  run?: string
  uses?: string
  with?: Record<string, string>
}
interface Workflow {
  on: { push: { tags: string[] } }
  jobs: Record<string, { 'runs-on': string; strategy: { matrix: { include: { os: string; package: string; assets: string }[] } }; steps: Step[] }>
}

const config = parse(readFileSync('electron-builder.yml', 'utf8')) as BuilderConfig
const workflow = parse(readFileSync('.github/workflows/release.yml', 'utf8')) as Workflow
const scripts = (JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> }).scripts
const [job] = Object.values(workflow.jobs)
const matrix = job.strategy.matrix.include

/** What each OS's section of the configuration builds: target name -> archs. */
const targets = {
  linux: Object.fromEntries(config.linux.target.map((t) => [t.target, t.arch])),
  win: Object.fromEntries(config.win.target.map((t) => [t.target, t.arch])),
  mac: Object.fromEntries(config.mac.target.map((t) => [t.target, t.arch])),
}
const ARTIFACT_EXT: Record<string, string> = { AppImage: 'AppImage', deb: 'deb', nsis: 'exe', dmg: 'dmg' }
const RUNNER_OS: Record<string, keyof typeof targets> = { ubuntu: 'linux', windows: 'win', macos: 'mac' }
const NODE_PLATFORM = { linux: 'linux', win: 'win32', mac: 'darwin' }

function exts(list: Association[]): string[] {
  return list.flatMap((a) => (Array.isArray(a.ext) ? a.ext : [a.ext]))
}

describe('electron-builder.yml', () => {
  it('makes AppImage and deb for Linux, NSIS for Windows and dmg for macOS', () => {
    expect(config.appId).toBe('org.tokenunify.studio')
    expect(config.productName).toBe('TokenUnify Studio')
    expect(targets).toEqual({
      linux: { AppImage: ['x64'], deb: ['x64'] },
      win: { nsis: ['x64'] },
      mac: { dmg: ['arm64'] },
    })
  })

  it('has an ONNX Runtime binary in onnxruntime-node for every OS and CPU it targets', () => {
    for (const [os, byTarget] of Object.entries(targets) as [keyof typeof targets, Record<string, string[]>][]) {
      for (const arch of new Set(Object.values(byTarget).flat())) {
        const binding = join('node_modules/onnxruntime-node/bin/napi-v6', NODE_PLATFORM[os], arch, 'onnxruntime_binding.node')
        expect(existsSync(binding), binding).toBe(true)
      }
    }
    // DirectML is in onnxruntime-node's Windows build, so the Windows installer carries it.
    expect(existsSync('node_modules/onnxruntime-node/bin/napi-v6/win32/x64/DirectML.dll')).toBe(true)
    expect(config.files).toContain('node_modules/onnxruntime-node/bin/napi-v6/${platform}/${arch}/**')
  })

  it('unpacks every native file and resources/ from app.asar', () => {
    expect(config.asarUnpack).toEqual(
      expect.arrayContaining([
        'native/build/Release/*.node',
        'node_modules/onnxruntime-node/bin/**',
        'node_modules/better-sqlite3/build/Release/*.node',
        'resources/**',
      ]),
    )
  })

  it('associates the same file types the app opens, on each OS', () => {
    const owned = config.fileAssociations
    expect(owned).toEqual([expect.objectContaining({ ext: PROJECT_EXTENSION, mimeType: 'application/x-tokenunify-project', rank: 'Owner' })])
    expect(exts(config.mac.fileAssociations).sort()).toEqual([...VOLUME_EXTENSIONS].sort())
    expect(config.mac.fileAssociations.every((a) => a.rank === 'Alternate')).toBe(true)
    const nsis = readFileSync(config.nsis.include, 'utf8')
    const opened = (macro: string) => [...nsis.matchAll(new RegExp(`!insertmacro ${macro} (\\w+)`, 'g'))].map((m) => m[1]).sort()
    expect(opened('tuAddOpenWith')).toEqual([...VOLUME_EXTENSIONS].sort())
    expect(opened('tuRemoveOpenWith')).toEqual([...VOLUME_EXTENSIONS].sort())
    // HDF5 and TIFF by their standard MIME types (freedesktop.org shared-mime-info); .zarr is a folder.
    expect(config.linux.mimeTypes).toEqual(['application/x-hdf', 'image/tiff'])
  })

  it('refers to icons and build resources that exist', () => {
    for (const size of [16, 32, 48, 64, 128, 256, 512]) expect(existsSync(join(config.linux.icon, `${size}x${size}.png`))).toBe(true)
    for (const f of [config.win.icon, config.mac.icon, config.mac.entitlements, config.nsis.include]) expect(existsSync(f), f).toBe(true)
  })
})

describe('.github/workflows/release.yml', () => {
  const runs = job.steps.map((s) => s.run ?? '')
  const at = (pattern: RegExp) => runs.findIndex((r) => pattern.test(r))

  it('runs on version tags, one job per OS, each packing its own OS', () => {
    expect(workflow.on.push.tags).toEqual(['v*'])
    expect(job['runs-on']).toBe('${{ matrix.os }}')
    const oses = matrix.map((m) => RUNNER_OS[m.os.split('-')[0]])
    expect(oses.sort()).toEqual(['linux', 'mac', 'win'])
    for (const m of matrix) {
      const os = RUNNER_OS[m.os.split('-')[0]]
      expect(scripts[m.package], m.package).toBe(`electron-builder --${os} --publish never`)
    }
  })

  it('uploads exactly the artifacts the configuration makes on that OS', () => {
    for (const m of matrix) {
      const os = RUNNER_OS[m.os.split('-')[0]]
      const globs = m.assets.trim().split('\n').map((g) => g.trim())
      const expected = Object.keys(targets[os]).map((t) => `dist/*.${ARTIFACT_EXT[t]}`)
      expect(globs.sort(), m.os).toEqual(expected.sort())
    }
    const upload = job.steps.find((s) => s.uses?.startsWith('softprops/action-gh-release'))
    expect(upload?.with?.files).toBe('${{ matrix.assets }}')
  })

  it('builds before packing and checks the ABI strictly after, with scripts package.json has', () => {
    const npmRuns = runs.flatMap((r) => [...r.matchAll(/npm run ([\w:]+)/g)].map((m) => m[1]))
    for (const name of npmRuns) expect(scripts[name], name).toBeDefined()
    expect(runs).toContain('npm ci')
    const pack = at(/npm run \$\{\{ matrix\.package \}\}/)
    expect(at(/^npm run build:native$/)).toBeGreaterThan(at(/^npm ci$/))
    expect(at(/^npm run build$/)).toBeLessThan(pack)
    expect(at(/^node node_modules\/electron\/install\.js$/)).toBeLessThan(pack)
    const check = runs[at(/check:abi/)]
    expect(at(/check:abi/)).toBeGreaterThan(pack)
    expect(check).toBe('npm run check:abi -- dist')
    expect(scripts['check:abi']).toBe('tsx scripts/check-abi.ts')
  })
})
