/**
 * A restricted pickle interpreter. It builds plain data (numbers, strings, bytes, lists, tuples as
 * arrays, dicts as Maps, sets) and never executes anything: a global is only a name, looked up in
 * the caller's allow-list; anything else is refused by name before the program goes on. Only the
 * binary opcodes of protocols 2-5 (what torch.save emits) are implemented; the text opcodes of
 * protocols 0-1, INST/OBJ, extension registry and out-of-band buffers are refused.
 */
import { StudioError } from '../../../../shared/errors'

/** A global of the allow-list. `call` is what REDUCE / NEWOBJ with it produces. */
export interface AllowedGlobal {
  call?: (args: unknown[]) => unknown
}

export class PyGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
    readonly allowed: AllowedGlobal,
  ) {}

  get fullName(): string {
    return `${this.module}.${this.name}`
  }
}

/** An object whose construction was skipped (argparse.Namespace): its state is dropped unread. */
export class SkippedObject {
  constructor(readonly type: string) {}
}

export interface UnpickleOptions {
  /** The file the program came from, for messages. */
  file: string
  /** Allowed globals by "module.name". */
  globals: ReadonlyMap<string, AllowedGlobal>
  /** Resolves a persistent id (BINPERSID); torch uses it for tensor storages. */
  persistentLoad: (pid: unknown) => unknown
}

// Python 3 reads protocol-2 pickles written by Python 2 names through these renames (fix_imports).
const RENAMED_MODULES: Record<string, string> = { __builtin__: 'builtins', copy_reg: 'copyreg' }

export function unpickle(bytes: Uint8Array, options: UnpickleOptions): unknown {
  const { file } = options
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const decoder = new TextDecoder('utf-8', { fatal: true })
  const stack: unknown[] = []
  const marks: number[] = []
  const memo = new Map<number, unknown>()
  let pos = 0

  const bad = (why: string) => new StudioError('bad_format', `${file}: malformed pickle at byte ${pos}: ${why}`, { file })
  const need = (n: number) => {
    if (n < 0 || pos + n > bytes.length) throw bad('unexpected end of data')
  }
  const u8 = () => (need(1), bytes[pos++])
  const u16 = () => (need(2), (pos += 2), view.getUint16(pos - 2, true))
  const u32 = () => (need(4), (pos += 4), view.getUint32(pos - 4, true))
  const i32 = () => (need(4), (pos += 4), view.getInt32(pos - 4, true))
  const u64 = () => {
    need(8)
    const v = view.getBigUint64(pos, true)
    pos += 8
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw bad('length too large')
    return Number(v)
  }
  const take = (n: number) => (need(n), (pos += n), bytes.subarray(pos - n, pos))
  const line = () => {
    const end = bytes.indexOf(0x0a, pos)
    if (end < 0) throw bad('unterminated line')
    const s = new TextDecoder('latin1').decode(bytes.subarray(pos, end))
    pos = end + 1
    return s
  }
  const text = (n: number) => {
    try {
      return decoder.decode(take(n))
    } catch {
      throw bad('invalid UTF-8 string')
    }
  }
  const latin1 = (n: number) => new TextDecoder('latin1').decode(take(n))
  const pop = () => {
    if (stack.length === 0 || (marks.length > 0 && stack.length === marks[marks.length - 1])) throw bad('stack underflow')
    return stack.pop()
  }
  const top = () => {
    if (stack.length === 0) throw bad('stack underflow')
    return stack[stack.length - 1]
  }
  const popMark = () => {
    const at = marks.pop()
    if (at === undefined) throw bad('no MARK')
    return stack.splice(at)
  }
  const long = (raw: Uint8Array) => {
    let v = 0n
    for (let i = raw.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(raw[i])
    if (raw.length > 0 && raw[raw.length - 1] & 0x80) v -= 1n << BigInt(8 * raw.length)
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v
  }
  const global = (module: string, name: string) => {
    const mod = RENAMED_MODULES[module] ?? module
    const allowed = options.globals.get(`${mod}.${name}`)
    if (!allowed) {
      throw new StudioError('unsupported', `refusing to load ${mod}.${name} from ${file}: not part of a state_dict`, { file })
    }
    return new PyGlobal(mod, name, allowed)
  }
  const call = (callable: unknown, args: unknown) => {
    if (!(callable instanceof PyGlobal) || !callable.allowed.call) {
      throw new StudioError('unsupported', `refusing to call ${describe(callable)} from ${file}: not part of a state_dict`, { file })
    }
    if (!Array.isArray(args)) throw bad(`arguments of ${callable.fullName} are not a tuple`)
    return callable.allowed.call(args)
  }
  const setItems = (dict: unknown, items: unknown[]) => {
    if (!(dict instanceof Map)) throw bad(`SETITEM on ${describe(dict)}`)
    if (items.length % 2 !== 0) throw bad('odd number of dict items')
    for (let i = 0; i < items.length; i += 2) dict.set(items[i], items[i + 1])
  }
  const append = (list: unknown, items: unknown[]) => {
    if (!Array.isArray(list)) throw bad(`APPEND on ${describe(list)}`)
    for (const item of items) list.push(item)
  }

  for (;;) {
    const opAt = pos
    const op = u8()
    switch (op) {
      case 0x80: // PROTO
        if (u8() > 5) throw bad('pickle protocol above 5')
        break
      case 0x95: // FRAME: frames are only a buffering hint
        u64()
        break
      case 0x2e: // STOP
        if (stack.length !== 1 || marks.length > 0) throw bad('STOP with an unbalanced stack')
        return stack[0]
      case 0x28: // MARK
        marks.push(stack.length)
        break
      case 0x30: // POP
        pop()
        break
      case 0x31: // POP_MARK
        popMark()
        break
      case 0x32: // DUP
        stack.push(top())
        break
      case 0x4e: // NONE
        stack.push(null)
        break
      case 0x88: // NEWTRUE
        stack.push(true)
        break
      case 0x89: // NEWFALSE
        stack.push(false)
        break
      case 0x4a: // BININT
        stack.push(i32())
        break
      case 0x4b: // BININT1
        stack.push(u8())
        break
      case 0x4d: // BININT2
        stack.push(u16())
        break
      case 0x8a: // LONG1
        stack.push(long(take(u8())))
        break
      case 0x8b: // LONG4
        stack.push(long(take(u32())))
        break
      case 0x47: // BINFLOAT (big-endian)
        need(8)
        stack.push(view.getFloat64(pos, false))
        pos += 8
        break
      case 0x58: // BINUNICODE
        stack.push(text(u32()))
        break
      case 0x8c: // SHORT_BINUNICODE
        stack.push(text(u8()))
        break
      case 0x8d: // BINUNICODE8
        stack.push(text(u64()))
        break
      case 0x54: // BINSTRING (Python 2 str)
        stack.push(latin1(i32()))
        break
      case 0x55: // SHORT_BINSTRING
        stack.push(latin1(u8()))
        break
      case 0x42: // BINBYTES
        stack.push(take(u32()).slice())
        break
      case 0x43: // SHORT_BINBYTES
        stack.push(take(u8()).slice())
        break
      case 0x8e: // BINBYTES8
      case 0x96: // BYTEARRAY8
        stack.push(take(u64()).slice())
        break
      case 0x29: // EMPTY_TUPLE
      case 0x5d: // EMPTY_LIST
        stack.push([])
        break
      case 0x74: // TUPLE
      case 0x6c: // LIST
        stack.push(popMark())
        break
      case 0x85: // TUPLE1
        stack.push([pop()])
        break
      case 0x86: {
        // TUPLE2
        const b = pop()
        stack.push([pop(), b])
        break
      }
      case 0x87: {
        // TUPLE3
        const c = pop()
        const b = pop()
        stack.push([pop(), b, c])
        break
      }
      case 0x7d: // EMPTY_DICT
        stack.push(new Map())
        break
      case 0x64: {
        // DICT
        const d = new Map()
        setItems(d, popMark())
        stack.push(d)
        break
      }
      case 0x73: {
        // SETITEM
        const v = pop()
        const k = pop()
        setItems(top(), [k, v])
        break
      }
      case 0x75: {
        // SETITEMS
        const items = popMark()
        setItems(top(), items)
        break
      }
      case 0x61: {
        // APPEND
        const v = pop()
        append(top(), [v])
        break
      }
      case 0x65: {
        // APPENDS
        const items = popMark()
        append(top(), items)
        break
      }
      case 0x8f: // EMPTY_SET
        stack.push(new Set())
        break
      case 0x90: {
        // ADDITEMS
        const items = popMark()
        const s = top()
        if (!(s instanceof Set)) throw bad(`ADDITEMS on ${describe(s)}`)
        for (const item of items) s.add(item)
        break
      }
      case 0x91: // FROZENSET
        stack.push(new Set(popMark()))
        break
      case 0x63: {
        // GLOBAL
        const module = line()
        stack.push(global(module, line()))
        break
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop()
        const module = pop()
        if (typeof module !== 'string' || typeof name !== 'string') throw bad('STACK_GLOBAL without two strings')
        stack.push(global(module, name))
        break
      }
      case 0x52: {
        // REDUCE
        const args = pop()
        stack.push(call(pop(), args))
        break
      }
      case 0x81: {
        // NEWOBJ
        const args = pop()
        stack.push(call(pop(), args))
        break
      }
      case 0x92: {
        // NEWOBJ_EX
        const kwargs = pop()
        const args = pop()
        const cls = pop()
        if (!(kwargs instanceof Map) || kwargs.size > 0) throw bad('NEWOBJ_EX with keyword arguments')
        stack.push(call(cls, args))
        break
      }
      case 0x62: {
        // BUILD: set an object's state. Only the ones we skip, and the instance dict of an
        // OrderedDict (torch's state_dict._metadata), are accepted; both are dropped.
        const state = pop()
        const target = top()
        if (!(target instanceof SkippedObject) && !(target instanceof Map && (state instanceof Map || state === null))) {
          throw new StudioError('unsupported', `refusing to set the state of ${describe(target)} in ${file}: not part of a state_dict`, { file })
        }
        break
      }
      case 0x51: // BINPERSID
        stack.push(options.persistentLoad(pop()))
        break
      case 0x71: // BINPUT
        memo.set(u8(), top())
        break
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top())
        break
      case 0x94: // MEMOIZE
        memo.set(memo.size, top())
        break
      case 0x68: // BINGET
      case 0x6a: {
        // LONG_BINGET
        const key = op === 0x68 ? u8() : u32()
        if (!memo.has(key)) throw bad(`memo ${key} is not set`)
        stack.push(memo.get(key))
        break
      }
      default:
        pos = opAt
        throw new StudioError(
          'unsupported',
          `${file}: pickle opcode 0x${op.toString(16).padStart(2, '0')} at byte ${opAt} is not one a state_dict needs; refusing to go on`,
          { file },
        )
    }
  }
}

function describe(v: unknown): string {
  if (v instanceof PyGlobal) return v.fullName
  if (v instanceof SkippedObject) return v.type
  if (v === null) return 'None'
  if (v instanceof Map) return 'a dict'
  if (Array.isArray(v)) return 'a list or tuple'
  return typeof v
}
