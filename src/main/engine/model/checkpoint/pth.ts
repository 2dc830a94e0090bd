/**
 * PyTorch .pth files (torch.save since 1.6): a zip holding `<root>/data.pkl`, a pickle program
 * that describes the saved object, and `<root>/data/<key>`, the raw little-endian storages of its
 * tensors. The program runs in the restricted interpreter of ./pickle with only the globals a
 * state_dict needs; tensors become references (storage, offset, shape, stride) read on demand.
 */
import { open } from 'node:fs/promises'
import { StudioError } from '../../../../shared/errors'
import { ITEM_SIZE, gatherStrided, isContiguous, toFloat32, type TensorDType } from './dtype'
import { PyGlobal, SkippedObject, unpickle, type AllowedGlobal } from './pickle'
import type { CheckpointMeta, TensorFile, TensorInfo } from './types'
import { ZIP_MAGIC, ZipReader, type ZipEntry } from './zip'

const STORAGE_DTYPES: Record<string, TensorDType> = {
  FloatStorage: 'float32',
  HalfStorage: 'float16',
  BFloat16Storage: 'bfloat16',
  DoubleStorage: 'float64',
  LongStorage: 'int64',
  IntStorage: 'int32',
  ShortStorage: 'int16',
  CharStorage: 'int8',
  ByteStorage: 'uint8',
  BoolStorage: 'bool',
}

interface StorageRef {
  key: string
  dtype: TensorDType
  numel: number
}

class TensorRef {
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly shape: number[],
    readonly stride: number[],
  ) {}
}

const RESAVE =
  "re-save it with a current PyTorch: python3 -c \"import torch; torch.save(torch.load('old.pth', map_location='cpu'), 'new.pth')\""

export async function openPth(path: string): Promise<TensorFile> {
  await checkZipMagic(path)
  const zip = await ZipReader.open(path)
  try {
    return await readPickle(zip)
  } catch (err) {
    await zip.close()
    throw err
  }
}

async function checkZipMagic(path: string): Promise<void> {
  const head = new Uint8Array(4)
  const fh = await open(path, 'r')
  try {
    await fh.read(head, 0, 4, 0)
  } finally {
    await fh.close()
  }
  if (ZIP_MAGIC.every((b, i) => head[i] === b)) return
  if (head[0] === 0x80) {
    throw new StudioError('unsupported', `${path} is in PyTorch's legacy (pre-1.6, non-zip) format, which is not read; ${RESAVE}`, {
      file: path,
    })
  }
  throw new StudioError('bad_format', `${path} is not a PyTorch checkpoint (a .pth file is a zip archive)`, { file: path })
}

async function readPickle(zip: ZipReader): Promise<TensorFile> {
  const path = zip.path
  const fail = (code: 'bad_format' | 'unsupported', why: string) => new StudioError(code, `${path}: ${why}`, { file: path })
  const pickles = [...zip.entries.keys()].filter((n) => /^[^/]+\/data\.pkl$/.test(n))
  if (pickles.length !== 1) {
    const names = [...zip.entries.keys()]
    if (names.some((n) => /^[^/]+\/(code\/|constants\.pkl$)/.test(n))) {
      throw fail('unsupported', 'is a TorchScript model, not a state_dict; save model.state_dict() with torch.save instead')
    }
    throw fail('bad_format', `is a zip but not a PyTorch checkpoint: expected one <root>/data.pkl, found ${pickles.length}`)
  }
  const root = pickles[0].slice(0, -'data.pkl'.length)
  const byteorder = zip.entries.get(`${root}byteorder`)
  if (byteorder && new TextDecoder().decode(await zip.read(byteorder)) !== 'little') {
    throw fail('unsupported', 'was saved on a big-endian machine; only little-endian checkpoints are read')
  }

  const storages = new Map<string, StorageRef>()
  const persistentLoad = (pid: unknown): StorageRef => {
    if (!Array.isArray(pid) || pid[0] !== 'storage' || pid.length !== 5) throw fail('bad_format', 'unexpected persistent id in data.pkl')
    const [, type, key, , numel] = pid
    const dtype = type instanceof PyGlobal ? STORAGE_DTYPES[type.name] : undefined
    if (!dtype || typeof key !== 'string' || !isCount(numel)) throw fail('bad_format', 'malformed storage reference in data.pkl')
    const known = storages.get(key)
    if (known && (known.dtype !== dtype || known.numel !== numel)) throw fail('bad_format', `storage ${key} is described twice, differently`)
    const ref = known ?? { key, dtype, numel }
    storages.set(key, ref)
    return ref
  }
  const rebuildTensor = (args: unknown[]): TensorRef => {
    const [storage, offset, shape, stride] = args
    if (!storages.has((storage as StorageRef)?.key) || !isCount(offset) || !isCountList(shape) || !isCountList(stride) || shape.length !== stride.length) {
      throw fail('bad_format', 'malformed tensor in data.pkl')
    }
    return new TensorRef(storage as StorageRef, offset, [...shape], [...stride])
  }
  const globals = new Map<string, AllowedGlobal>([
    ['collections.OrderedDict', { call: (args) => new Map(args.length > 0 ? pairs(args[0], path) : []) }],
    ['torch._utils._rebuild_tensor_v2', { call: rebuildTensor }],
    ['torch._utils._rebuild_parameter', { call: (args) => args[0] }],
    ['torch._utils._rebuild_parameter_with_state', { call: (args) => args[0] }],
    // Tensors with Python attributes: (rebuild function, class, its arguments, attributes).
    ['torch._tensor._rebuild_from_type_v2', { call: ([fn, , args]) => (fn instanceof PyGlobal && fn.allowed.call ? fn.allowed.call(args as unknown[]) : undefined) }],
    ['torch.Tensor', {}],
    ['torch.nn.parameter.Parameter', {}],
    ['torch.Size', { call: ([dims]) => (Array.isArray(dims) ? [...dims] : undefined) }],
    // The training arguments saved next to the weights: skipped, never constructed.
    ['argparse.Namespace', { call: () => new SkippedObject('argparse.Namespace') }],
    ...Object.keys(STORAGE_DTYPES).map((name): [string, AllowedGlobal] => [`torch.${name}`, {}]),
  ])
  const program = await zip.read(zip.entries.get(pickles[0]) as ZipEntry)
  const saved = unpickle(program, { file: path, globals, persistentLoad })

  const { stateDict, meta } = findStateDict(saved, path)
  const tensors: TensorInfo[] = []
  const refs = new Map<string, { ref: TensorRef; entry: ZipEntry }>()
  for (const [name, ref] of stateDict) {
    const entry = zip.entries.get(`${root}data/${ref.storage.key}`)
    const itemSize = ITEM_SIZE[ref.storage.dtype]
    if (!entry || entry.size !== ref.storage.numel * itemSize) {
      throw fail('bad_format', `the storage of tensor ${name} (data/${ref.storage.key}) is missing or has the wrong size`)
    }
    if (count(ref.shape) > 0 && ref.offset + extent(ref.shape, ref.stride) > ref.storage.numel) {
      throw fail('bad_format', `tensor ${name} reaches past the end of its storage`)
    }
    tensors.push({ name, dtype: ref.storage.dtype, shape: ref.shape })
    refs.set(name, { ref, entry })
  }

  return {
    path,
    format: 'pth',
    tensors,
    meta,
    async read(name: string): Promise<Float32Array> {
      const found = refs.get(name)
      if (!found) throw new StudioError('not_found', `${path} has no tensor ${name}`, { file: path })
      const { ref, entry } = found
      const { dtype } = ref.storage
      const n = count(ref.shape)
      if (n === 0) return new Float32Array(0)
      // Read only the span the view covers; a contiguous float32 tensor lands in place, no copy.
      const span = extent(ref.shape, ref.stride)
      const itemSize = ITEM_SIZE[dtype]
      const raw = await zip.read(entry, ref.offset * itemSize, span * itemSize, new Uint8Array(span * itemSize))
      const values = toFloat32(raw, dtype, `${path}: tensor ${name}`)
      return isContiguous(ref.shape, ref.stride) ? values : gatherStrided(values, ref.shape, ref.stride, 0)
    },
    close: () => zip.close(),
  }
}

/** Finds the state_dict: a dict of tensors, or the 'model' / 'state_dict' entry of a wrapper dict. */
function findStateDict(saved: unknown, path: string): { stateDict: Map<string, TensorRef>; meta: CheckpointMeta } {
  const isTensorDict = (v: unknown): v is Map<unknown, unknown> => v instanceof Map && [...v.values()].some((x) => x instanceof TensorRef)
  const entries = saved instanceof Map ? [...saved.keys()].map(String) : []
  let dict: Map<unknown, unknown> | undefined
  let meta: CheckpointMeta = { wrapper: 'none' }
  for (const wrapper of ['model', 'state_dict'] as const) {
    const inner = saved instanceof Map ? saved.get(wrapper) : undefined
    if (isTensorDict(inner)) {
      dict = inner
      const epoch = (saved as Map<unknown, unknown>).get('epoch')
      meta = { wrapper, otherEntries: entries.filter((k) => k !== wrapper), ...(typeof epoch === 'number' ? { epoch } : {}) }
      break
    }
  }
  if (!dict && isTensorDict(saved)) dict = saved
  if (!dict) {
    const found = saved instanceof Map ? `a dict with entries ${entries.slice(0, 10).join(', ') || '(none)'}` : `a ${describe(saved)}`
    throw new StudioError('bad_input', `${path} holds no state_dict: expected a dict of tensors or a dict with a 'model' entry, found ${found}`, {
      file: path,
    })
  }
  const stateDict = new Map<string, TensorRef>()
  for (const [key, value] of dict) {
    if (typeof key !== 'string' || !(value instanceof TensorRef)) {
      throw new StudioError('bad_input', `${path}: state_dict entry ${String(key)} is a ${describe(value)}, not a tensor`, { file: path })
    }
    stateDict.set(key, value)
  }
  return { stateDict, meta }
}

function describe(v: unknown): string {
  if (v instanceof SkippedObject) return v.type
  if (v instanceof Map) return 'dict'
  if (Array.isArray(v)) return 'list'
  return v === null ? 'None' : typeof v
}

function pairs(items: unknown, path: string): [unknown, unknown][] {
  if (!Array.isArray(items) || !items.every((p) => Array.isArray(p) && p.length === 2)) {
    throw new StudioError('bad_format', `${path}: OrderedDict built from something other than (key, value) pairs`, { file: path })
  }
  return items as [unknown, unknown][]
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0
}

function isCountList(v: unknown): v is number[] {
  return Array.isArray(v) && v.every(isCount)
}

function count(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1)
}

/** Elements from the first to one past the last element a non-empty view touches. */
function extent(shape: readonly number[], stride: readonly number[]): number {
  return 1 + shape.reduce((sum, n, i) => sum + (n - 1) * stride[i], 0)
}
