import { readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { electronTarget } from '../../scripts/check-abi'
import { addonAbi, readNativeBinary } from '../../scripts/native-binary'

const ort = 'node_modules/onnxruntime-node/bin/napi-v6'
const fixtures = 'test/fixtures/package'

describe('reading what a native addon was built for', () => {
  it('reads Node\'s ABI from better-sqlite3 as npm built it here (ELF)', () => {
    const { abi, binary } = addonAbi('node_modules/better-sqlite3/build/Release/better_sqlite3.node')
    expect(abi).toBe(Number(process.versions.modules))
    expect(abi).toBe(115) // Node 20, as PLATFORM.md measured
    expect(binary).toMatchObject({ format: 'elf', cpu: 'x64' })
    expect(binary.exports).toContain('node_register_module_v115')
  })

  it('reads an N-API addon as ABI-stable: ours (ELF) and onnxruntime-node\'s for macOS (Mach-O) and Windows (PE)', () => {
    expect(addonAbi('native/build/Release/tokenunify_native.node')).toMatchObject({ abi: 'napi', binary: { format: 'elf', cpu: 'x64' } })
    expect(addonAbi(`${ort}/darwin/arm64/onnxruntime_binding.node`)).toMatchObject({ abi: 'napi', binary: { format: 'macho', cpu: 'arm64' } })
    expect(addonAbi(`${ort}/win32/x64/onnxruntime_binding.node`)).toMatchObject({ abi: 'napi', binary: { format: 'pe', cpu: 'x64' } })
    expect(readNativeBinary(`${ort}/linux/arm64/onnxruntime_binding.node`).cpu).toBe('arm64')
  })

  it('reads the ABI of an Electron-built addon from a Mach-O dylib and a PE DLL', () => {
    expect(addonAbi(`${fixtures}/abi145-darwin-arm64.node`)).toMatchObject({ abi: 145, binary: { format: 'macho', cpu: 'arm64' } })
    expect(addonAbi(`${fixtures}/abi145-win32-x64.node`)).toMatchObject({ abi: 145, binary: { format: 'pe', cpu: 'x64' } })
  })

  it('names the file when it is not a native binary or not a Node addon', () => {
    const text = join(tmpdir(), `tu-not-binary-${process.pid}.node`)
    writeFileSync(text, 'x'.repeat(100))
    expect(() => addonAbi(text)).toThrow(`${text}: not an ELF, Mach-O (64-bit) or PE file`)
    // libonnxruntime is a shared library, but no Node addon.
    const lib = `${ort}/linux/x64/libonnxruntime.so.1`
    expect(() => addonAbi(lib)).toThrow(`${lib}: exports neither node_register_module_v<N> nor napi_register_module_v1`)
  })
})

describe("Electron's ABI", () => {
  it('comes from the installed electron package and agrees with node-abi', () => {
    const { version, abi } = electronTarget()
    expect(version).toBe(JSON.parse(readFileSync('node_modules/electron/package.json', 'utf8')).version)
    expect(abi).toBe(Number(readFileSync('node_modules/electron/abi_version', 'utf8')))
    const nodeAbi = createRequire(join(process.cwd(), 'package.json'))('node-abi') as { getAbi(v: string, r: string): string }
    expect(abi).toBe(Number(nodeAbi.getAbi(version, 'electron')))
    expect(abi).not.toBe(Number(process.versions.modules))
  })
})
