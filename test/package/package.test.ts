/**
 * `npm run package:dir` for real: electron-builder --dir with the stand-in Electron, then the packed
 * app is checked where the app itself will look (appPaths on the packaged root). Needs
 * `npm run build:native` and `npm run build` first, as `npm test` does.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { extractAll, extractFile, listPackage } from '@electron/asar'
import WebSocket from 'ws'
import { parse } from 'yaml'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { checkPackedApp, electronTarget, findPackedApps } from '../../scripts/check-abi'
import { packageDir } from '../../scripts/package-dir'
import { readNpy, writeNpy } from '../../src/main/engine/io/npy'
import { appPaths, findAppRoot, userPaths } from '../../src/main/engine/paths'
import { prepareLaunch } from '../../src/main/engine/launch/firstrun'
import type { AppInfo } from '../../src/shared/types'
import { decodeMessage, encodeMessage } from '../../src/shared/wire'

const out = mkdtempSync(join(tmpdir(), 'tu-package-'))
let app = ''
let asar = ''
/** The packed app.asar extracted as a folder, as Electron reads it, with the unpacked twin beside it. */
const extracted = join(out, 'extracted', 'resources', 'app.asar')
const log: string[] = []

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return []
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort()
}

beforeAll(() => {
  app = packageDir(out, (line) => log.push(line))
  asar = join(app, 'resources', 'app.asar')
  extractAll(asar, extracted)
  symlinkSync(join(app, 'resources', 'app.asar.unpacked'), `${extracted}.unpacked`)
}, 120_000)

afterAll(() => rmSync(out, { recursive: true, force: true }))

describe('npm run package:dir', () => {
  it('packs the bundles and the package.json that points at them into app.asar', () => {
    const listed = new Set(listPackage(asar, { isPack: false }).map((p) => p.replace(/\\/g, '/')))
    for (const f of ['/out/main/index.js', '/out/main/model-worker.js', '/out/main/train-worker.js', '/out/preload/index.cjs', '/out/renderer/index.html', '/package.json']) {
      expect(listed, f).toContain(f)
    }
    const pkg = JSON.parse(extractFile(asar, 'package.json').toString()) as { name: string; main: string }
    expect(pkg).toMatchObject({ name: 'tokenunify-studio', main: 'out/main/index.js' })
    // Sources, source maps, tests and native build leftovers stay out.
    const junk = [...listed].filter((p) => /\.(ts|map|cc|h)$|\/(test|tests)\/|better-sqlite3\/(deps|src)\//.test(p))
    expect(junk).toEqual([])
  })

  it('puts the executable electron-builder.yml names where the stand-in Electron was', () => {
    const config = parse(readFileSync('electron-builder.yml', 'utf8')) as { linux: { executableName: string } }
    const exe = join(app, config.linux.executableName)
    const run = spawnSync(exe, [], { encoding: 'utf8' })
    expect(run.status).toBe(1)
    expect(run.stderr).toContain('stand-in for Electron')
  })

  it('unpacks the native files and resources where appPaths() looks in the packaged app', () => {
    const paths = appPaths(asar)
    expect(paths.nativeAddon).toBe(join(app, 'resources', 'app.asar.unpacked', 'native', 'build', 'Release', 'tokenunify_native.node'))
    expect(readFileSync(paths.nativeAddon).equals(readFileSync('native/build/Release/tokenunify_native.node'))).toBe(true)
    // Every shipped resource (icons go into the installers instead), byte for byte.
    const shipped = filesUnder('resources').filter((f) => !f.startsWith('icons'))
    expect(shipped).toContain(join('weights', 'README.txt'))
    expect(filesUnder(paths.resources)).toEqual(shipped)
    for (const f of shipped) expect(readFileSync(join(paths.resources, f)).equals(readFileSync(join('resources', f))), f).toBe(true)
    // The default model, when the repository has one, is in appPaths().models.
    expect(filesUnder(paths.models)).toEqual(filesUnder(appPaths().models))
  })

  it('resolves the same paths from inside the packed bundle as the app does at run time', () => {
    expect(findAppRoot(join(extracted, 'out', 'main'))).toBe(extracted)
    const paths = appPaths(findAppRoot(join(extracted, 'out', 'main')))
    expect(existsSync(paths.nativeAddon)).toBe(true)
    expect(existsSync(join(paths.resources, 'weights', 'README.txt'))).toBe(true)
    expect(existsSync(join(paths.renderer, 'index.html'))).toBe(true)
    // The first run finds the packed default model, the same file as in the repository.
    const launch = prepareLaunch(paths, userPaths(join(out, 'user')))
    expect(launch.defaultModel).not.toBeNull()
    const model = relative(paths.models, launch.defaultModel ?? '')
    expect(launch.defaultModel).toBe(join(`${extracted}.unpacked`, 'resources', 'models', model))
    expect(readFileSync(launch.defaultModel ?? '').equals(readFileSync(join(appPaths().models, model)))).toBe(true)
  })

  it('runs from the packed files in browser mode: page, engine, ONNX Runtime and native addon', async () => {
    const server = spawn(process.execPath, [join(extracted, 'out', 'main', 'cli.js'), 'serve'], { stdio: ['ignore', 'pipe', 'inherit'] })
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let text = ''
        server.stdout.on('data', (d: Buffer) => {
          text += d.toString()
          const m = /http:\/\/127\.0\.0\.1:\d+\/\?token=\S+/.exec(text)
          if (m) resolve(m[0])
        })
        server.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${text}`)))
      })
      const page = await fetch(url)
      expect(page.status).toBe(200)
      expect(await page.text()).toBe(readFileSync(join(extracted, 'out', 'renderer', 'index.html'), 'utf8'))
      const { host, search } = new URL(url)
      const ws = new WebSocket(`ws://${host}/api${search}`)
      await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject))
      const reply = await new Promise<unknown>((resolve) => {
        ws.on('message', (data: Buffer) => {
          const msg = decodeMessage(new Uint8Array(data))
          if (msg.t === 'result' && msg.id === 1) resolve(msg)
        })
        ws.send(encodeMessage({ t: 'call', id: 1, method: 'app.info', args: {} }))
      })
      ws.close()
      const info = (reply as { value: AppInfo }).value
      expect(info).toMatchObject({ name: 'TokenUnify Studio', mode: 'browser', nativeAddon: true })
      expect(info.providers).toEqual(expect.arrayContaining(['cpu', 'webgpu']))
    } finally {
      server.kill()
    }
  })

  it('runs inference from the packed files, the model on its own thread', () => {
    const input = join(out, 'small.npy')
    writeNpy(input, new Uint8Array(16 * 80 * 80).fill(120), [16, 80, 80])
    const result = join(out, 'small-affinities.npy')
    const run = spawnSync(process.execPath, [join(extracted, 'out', 'main', 'cli.js'), 'infer', '--input', input, '--out', result, '--patch', '16,80,80', '--provider', 'cpu'], { encoding: 'utf8' })
    expect(run.status, run.stderr).toBe(0)
    expect(run.stderr).toContain(join(`${extracted}.unpacked`, 'resources', 'models'))
    expect(readNpy(result).shape).toEqual([3, 16, 80, 80])
  })

  it('keeps only this platform\'s ONNX Runtime, and it offers the WebGPU provider', () => {
    const bin = join(app, 'resources', 'app.asar.unpacked', 'node_modules', 'onnxruntime-node', 'bin', 'napi-v6')
    expect(filesUnder(bin)).toEqual(['linux/x64/libonnxruntime.so.1', 'linux/x64/onnxruntime_binding.node'])
    // Loaded from the packed copy, in a separate process (this one already has ONNX Runtime loaded).
    const script = `console.log(JSON.stringify(require(${JSON.stringify(join(bin, 'linux/x64/onnxruntime_binding.node'))}).listSupportedBackends()))`
    const backends = JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' })) as { name: string; bundled: boolean }[]
    expect(backends).toContainEqual({ name: 'webgpu', bundled: true })
    expect(backends).toContainEqual({ name: 'cpu', bundled: true })
  })

  it("finds the packed better_sqlite3.node built for Node's ABI, not Electron's (no rebuild here)", () => {
    const [packed] = findPackedApps(out)
    expect(packed).toMatchObject({ dir: app, os: 'linux', cpu: 'x64' })
    const electron = electronTarget()
    const { findings, missing } = checkPackedApp(packed, electron)
    expect(missing).toEqual([])
    const sqlite = findings.find((f) => f.file.endsWith('better_sqlite3.node'))
    expect(sqlite).toMatchObject({ abi: 115, format: 'elf', cpu: 'x64' })
    expect(sqlite?.problems).toEqual([
      `is built for ABI 115 (Node 20), but Electron ${electron.version} loads only ABI ${electron.abi}: rebuild it for Electron (electron-builder npmRebuild)`,
    ])
    expect(findings.filter((f) => f !== sqlite).every((f) => f.problems.length === 0 && f.abi === 'napi')).toBe(true)
    expect(log.join('\n')).toContain('PROBLEM node_modules/better-sqlite3/build/Release/better_sqlite3.node')
  })

  it('fails the strict check on that file and passes it in report mode', () => {
    const check = (...args: string[]) =>
      spawnSync(process.execPath, ['--import', 'tsx', 'scripts/check-abi.ts', ...args, out], { encoding: 'utf8' })
    const strict = check()
    expect(strict.status).toBe(1)
    expect(strict.stderr).toContain('1 problem(s)')
    const report = check('--report')
    expect(report.status).toBe(0)
    expect(report.stdout).toContain('reported only (--report)')
  })
})
