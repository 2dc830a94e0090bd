import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { CheckpointMismatchError, loadCheckpoint } from '../../src/main/engine/model/checkpoint'
import { unpickle } from '../../src/main/engine/model/checkpoint/pickle'

const HERE = join(__dirname, '../fixtures/checkpoint')

describe('checkpoints that must not load', () => {
  // The malicious fixtures run `echo pwned > "$TU_PWNED_MARKER"` when unpickled by Python
  // (make_checkpoints.py checks that they do under torch.load).
  let marker: string
  beforeEach(() => {
    marker = join(mkdtempSync(join(tmpdir(), 'tu-pwned-')), 'ran')
    process.env.TU_PWNED_MARKER = marker
  })
  afterEach(() => {
    delete process.env.TU_PWNED_MARKER
    rmSync(dirname(marker), { recursive: true, force: true })
  })

  it('refuses a pickle that calls os.system, by name, and runs nothing', async () => {
    const file = join(HERE, 'malicious-system.pth')
    await expect(loadCheckpoint(file)).rejects.toMatchObject({
      code: 'unsupported',
      file,
      message: `refusing to load os.system from ${file}: not part of a state_dict`,
    })
    expect(existsSync(marker)).toBe(false)
  })

  it('refuses builtins.eval hidden next to real weights, and runs nothing', async () => {
    const file = join(HERE, 'malicious-eval.pth')
    await expect(loadCheckpoint(file)).rejects.toThrow(`refusing to load builtins.eval from ${file}: not part of a state_dict`)
    expect(existsSync(marker)).toBe(false)
  })

  it('gives a state_dict of another architecture the list of what differs', async () => {
    const file = join(HERE, 'sequential.pth')
    const err = (await loadCheckpoint(file).catch((e: unknown) => e)) as CheckpointMismatchError
    expect(err).toBeInstanceOf(CheckpointMismatchError)
    expect(err.missing).toHaveLength(291)
    expect(err.unexpected).toEqual(['0.weight', '0.bias', '2.weight', '2.bias'])
    expect(err.message).toMatch(
      new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} does not match the TokenUnify network \\(compared with size base\\): 291 missing keys: vit\\.downsample_layers\\.0\\.0\\.weight, .* and 283 more; 4 unexpected keys: 0\\.weight, 0\\.bias, 2\\.weight, 2\\.bias$`),
    )
  })

  it('says how to re-save a legacy (non-zip) file', async () => {
    const file = join(HERE, 'legacy.pth')
    await expect(loadCheckpoint(file)).rejects.toMatchObject({
      code: 'unsupported',
      message: expect.stringMatching(/legacy.pth is in PyTorch's legacy \(pre-1\.6, non-zip\) format, which is not read; re-save it .*torch\.save\(torch\.load/),
    })
  })
})

describe('restricted pickle interpreter', () => {
  const run = (program: number[]) =>
    unpickle(Uint8Array.from(program), {
      file: 'x.pkl',
      globals: new Map([['collections.OrderedDict', { call: () => new Map() }], ['torch.FloatStorage', {}]]),
      persistentLoad: () => null,
    })
  const text = (s: string) => [...Buffer.from(s)]

  it('builds plain data', () => {
    // {'a': [1, -2, 3.5], 'b': (True, None)} in protocol 2, with memo use.
    const program = [0x80, 2, 0x7d, 0x71, 0, 0x28, 0x55, 1, ...text('a'), 0x5d, 0x28, 0x4b, 1, 0x4a, 0xfe, 0xff, 0xff, 0xff, 0x47, 0x40, 0x0c, 0, 0, 0, 0, 0, 0, 0x65]
    program.push(0x55, 1, ...text('b'), 0x88, 0x4e, 0x86, 0x75, 0x2e)
    expect(run(program)).toEqual(
      new Map<string, unknown>([
        ['a', [1, -2, 3.5]],
        ['b', [true, null]],
      ]),
    )
  })

  it('refuses to call an allowed global that is not a constructor', () => {
    // torch.FloatStorage(()) : a storage class is allowed only as a name in a storage reference.
    expect(() => run([0x80, 2, 0x63, ...text('torch\nFloatStorage\n'), 0x29, 0x52, 0x2e])).toThrow(
      'refusing to call torch.FloatStorage from x.pkl: not part of a state_dict',
    )
  })

  it('refuses opcodes a state_dict never needs', () => {
    // INST (0x69) builds an instance from a text class name: protocol 0, refused outright.
    expect(() => run([0x28, 0x69, ...text('os\nsystem\n'), 0x2e])).toThrow('x.pkl: pickle opcode 0x69 at byte 1 is not one a state_dict needs; refusing to go on')
    expect(() => run([0x80, 2, 0x7d])).toThrow('x.pkl: malformed pickle at byte 3: unexpected end of data')
  })
})
