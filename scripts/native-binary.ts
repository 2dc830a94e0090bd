/**
 * Reads what a compiled Node addon (.node) was built for, from the file alone: its format (ELF,
 * Mach-O, PE), its CPU, and the Node ABI it registers with.
 *
 * The ABI comes from the addon's exported entry point, whose name Node's headers spell with the ABI
 * number: an addon built against NODE_MODULE_VERSION N exports `node_register_module_v<N>` (node.h,
 * NODE_MODULE_INIT), which Node and Electron look up by that exact name when loading it; an N-API
 * addon exports `napi_register_module_v1` and runs under any ABI. The exported names are read from
 * the dynamic symbol table (ELF .dynsym), the symbol table (Mach-O LC_SYMTAB, external defined
 * symbols) or the export directory (PE), never from a byte search, so strings elsewhere in the file
 * cannot fool it.
 */
import { readFileSync } from 'node:fs'

export type BinaryFormat = 'elf' | 'macho' | 'pe'
export type Cpu = 'x64' | 'arm64' | 'ia32' | 'other'

export interface NativeBinary {
  format: BinaryFormat
  cpu: Cpu
  exports: string[]
}

export interface AddonAbi {
  /** NODE_MODULE_VERSION the addon is bound to, or 'napi' for an ABI-stable N-API addon. */
  abi: number | 'napi'
  binary: NativeBinary
}

export function readNativeBinary(file: string): NativeBinary {
  const buf = readFileSync(file)
  if (buf.length < 64) throw new Error(`${file}: too short to be a native binary (${buf.length} bytes)`)
  if (buf.readUInt32BE(0) === 0x7f454c46) return readElf(buf, file)
  const magic = buf.readUInt32LE(0)
  if (magic === 0xfeedfacf) return readMachO(buf, 0, file)
  if (buf.readUInt32BE(0) === 0xcafebabe) {
    // Universal binary: every slice is built from the same source; read the first one.
    return readMachO(buf, buf.readUInt32BE(8 + 8), file)
  }
  if (buf.readUInt16LE(0) === 0x5a4d) return readPe(buf, file)
  throw new Error(`${file}: not an ELF, Mach-O (64-bit) or PE file (magic 0x${buf.readUInt32BE(0).toString(16)})`)
}

/** The ABI an addon registers with, from its exported entry point (see the top of this file). */
export function addonAbi(file: string): AddonAbi {
  const binary = readNativeBinary(file)
  const versions = new Set<number>()
  let napi = false
  for (const name of binary.exports) {
    const m = /^_?node_register_module_v(\d+)$/.exec(name)
    if (m) versions.add(Number(m[1]))
    if (/^_?napi_register_module_v\d+$/.test(name)) napi = true
  }
  if (versions.size > 1) throw new Error(`${file}: exports entry points for several ABIs (${[...versions].join(', ')})`)
  if (versions.size === 1) return { abi: [...versions][0], binary }
  if (napi) return { abi: 'napi', binary }
  throw new Error(`${file}: exports neither node_register_module_v<N> nor napi_register_module_v1: not a Node addon`)
}

function cString(buf: Buffer, at: number, end: number): string {
  let stop = at
  while (stop < end && buf[stop] !== 0) stop++
  return buf.toString('latin1', at, stop)
}

function readElf(buf: Buffer, file: string): NativeBinary {
  if (buf[4] !== 2 || buf[5] !== 1) throw new Error(`${file}: only 64-bit little-endian ELF is supported`)
  const machine = buf.readUInt16LE(0x12)
  const cpu: Cpu = machine === 0x3e ? 'x64' : machine === 0xb7 ? 'arm64' : 'other'
  const shoff = Number(buf.readBigUInt64LE(0x28))
  const shentsize = buf.readUInt16LE(0x3a)
  const shnum = buf.readUInt16LE(0x3c)
  const section = (i: number) => {
    const at = shoff + i * shentsize
    return {
      type: buf.readUInt32LE(at + 4),
      offset: Number(buf.readBigUInt64LE(at + 0x18)),
      size: Number(buf.readBigUInt64LE(at + 0x20)),
      link: buf.readUInt32LE(at + 0x28),
      entsize: Number(buf.readBigUInt64LE(at + 0x38)),
    }
  }
  const SHT_DYNSYM = 11
  const exports: string[] = []
  for (let i = 0; i < shnum; i++) {
    const sym = section(i)
    if (sym.type !== SHT_DYNSYM) continue
    const str = section(sym.link)
    for (let at = sym.offset; at + 24 <= sym.offset + sym.size; at += sym.entsize || 24) {
      const bind = buf[at + 4] >> 4
      const shndx = buf.readUInt16LE(at + 6)
      // Defined (section index not UNDEF) and GLOBAL (1) or WEAK (2): what the loader can find.
      if (shndx !== 0 && (bind === 1 || bind === 2)) {
        exports.push(cString(buf, str.offset + buf.readUInt32LE(at), str.offset + str.size))
      }
    }
  }
  return { format: 'elf', cpu, exports }
}

function readMachO(buf: Buffer, base: number, file: string): NativeBinary {
  if (buf.readUInt32LE(base) !== 0xfeedfacf) throw new Error(`${file}: only 64-bit Mach-O is supported`)
  const cputype = buf.readUInt32LE(base + 4)
  const cpu: Cpu = cputype === 0x01000007 ? 'x64' : cputype === 0x0100000c ? 'arm64' : 'other'
  const ncmds = buf.readUInt32LE(base + 16)
  const LC_SYMTAB = 0x2
  const exports: string[] = []
  let at = base + 32
  for (let i = 0; i < ncmds; i++) {
    const cmd = buf.readUInt32LE(at)
    if (cmd === LC_SYMTAB) {
      const symoff = base + buf.readUInt32LE(at + 8)
      const nsyms = buf.readUInt32LE(at + 12)
      const stroff = base + buf.readUInt32LE(at + 16)
      const strsize = buf.readUInt32LE(at + 20)
      for (let s = 0; s < nsyms; s++) {
        const entry = symoff + s * 16
        const type = buf[entry + 4]
        // N_EXT (external) and N_SECT (defined in a section), not a debugging (N_STAB) entry.
        if ((type & 0xe0) === 0 && (type & 0x01) !== 0 && (type & 0x0e) === 0x0e) {
          exports.push(cString(buf, stroff + buf.readUInt32LE(entry), stroff + strsize))
        }
      }
    }
    at += buf.readUInt32LE(at + 4)
  }
  return { format: 'macho', cpu, exports }
}

function readPe(buf: Buffer, file: string): NativeBinary {
  const pe = buf.readUInt32LE(0x3c)
  if (buf.readUInt32BE(pe) !== 0x50450000) throw new Error(`${file}: MZ header without a PE signature`)
  const machine = buf.readUInt16LE(pe + 4)
  const cpu: Cpu = machine === 0x8664 ? 'x64' : machine === 0xaa64 ? 'arm64' : machine === 0x14c ? 'ia32' : 'other'
  const nsections = buf.readUInt16LE(pe + 6)
  const optSize = buf.readUInt16LE(pe + 20)
  const opt = pe + 24
  const magic = buf.readUInt16LE(opt)
  const dirs = opt + (magic === 0x20b ? 112 : 96)
  const exportRva = buf.readUInt32LE(dirs)
  const sections = opt + optSize
  const toOffset = (rva: number): number => {
    for (let i = 0; i < nsections; i++) {
      const s = sections + i * 40
      const va = buf.readUInt32LE(s + 12)
      const size = Math.max(buf.readUInt32LE(s + 8), buf.readUInt32LE(s + 16))
      if (rva >= va && rva < va + size) return buf.readUInt32LE(s + 20) + (rva - va)
    }
    throw new Error(`${file}: address 0x${rva.toString(16)} is in no section`)
  }
  const exports: string[] = []
  if (exportRva !== 0) {
    const dir = toOffset(exportRva)
    const count = buf.readUInt32LE(dir + 24)
    const names = toOffset(buf.readUInt32LE(dir + 32))
    for (let i = 0; i < count; i++) exports.push(cString(buf, toOffset(buf.readUInt32LE(names + 4 * i)), buf.length))
  }
  return { format: 'pe', cpu, exports }
}
