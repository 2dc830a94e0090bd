import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { readNpy } from '../../src/main/engine/io/npy'
import { loadCheckpoint } from '../../src/main/engine/model/checkpoint'
import { sizeConfig } from '../../src/main/engine/model/config'
import { buildNetwork, OUTPUT } from '../../src/main/engine/model/network'
import { paramSpecs } from '../../src/main/engine/model/params'
import { Program } from '../../src/main/engine/runtime/program'

const FIXTURES = join(__dirname, '../../../shared/fixtures/tokenunify')

const maxDiff = (a: Float32Array, b: Float32Array) => {
  expect(a.length).toBe(b.length)
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0)
}

async function runFixture(name: string, taps: string[]) {
  const dir = join(FIXTURES, name)
  const checkpoint = await loadCheckpoint(join(dir, 'checkpoint.pth'))
  const input = readNpy(join(dir, 'input.npy'))
  const graph = buildNetwork(checkpoint.config, { patch: input.shape.slice(2) as [number, number, number], batch: 1, taps })
  const program = await Program.create(graph, { provider: 'cpu', weights: (n) => checkpoint.weights.get(n)?.data })
  try {
    const out = await program.run({ input: input.data as Float32Array })
    const expected = (file: string) => readNpy(join(dir, file)).data as Float32Array
    return { out, expected }
  } finally {
    await program.dispose()
  }
}

describe('TokenUnify network on the CPU provider reproduces the official PyTorch fixtures', () => {
  it('tiny-a: output and every intermediate', async () => {
    const taps = ['vit.downsample_layers.0', 'vit.gscs.0', 'vit.stages.0.0', 'vit.outs0', 'vit.outs3', 'encoder1', 'encoder5', 'decoder1']
    const { out, expected } = await runFixture('tiny-a', taps)
    expect(maxDiff(out.get(OUTPUT)!, expected('output.npy'))).toBeLessThanOrEqual(1e-4)
    // Module outputs before the final sigmoid are O(1-10) and pass through instance norms.
    for (const tap of taps) expect(maxDiff(out.get(tap)!, expected(`intermediates/${tap}.npy`)), tap).toBeLessThan(1e-3)
  })
  // tiny-b (16x160x160, module.-prefixed keys) runs through `tokenunify infer` in test/infer/cli.test.ts.
})

describe('TokenUnify network definition', () => {
  it('uses every parameter of params.ts, with its shape, for every published size', () => {
    for (const size of ['base', 'small', 'mid', 'large', 'huge'] as const) {
      const config = sizeConfig(size)
      const graph = buildNetwork(config, { patch: [16, 160, 160], batch: 1 })
      const used = [...graph.params.values()].map((v) => `${v.name}:${v.shape.join(',')}`).sort()
      expect(used, size).toEqual(paramSpecs(config).map((s) => `${s.name}:${s.shape.join(',')}`).sort())
      expect(graph.outputs.get(OUTPUT)!.shape).toEqual([1, 3, 16, 160, 160])
    }
  })

  it('takes the patch and batch as parameters and refuses a patch the network cannot take', () => {
    const graph = buildNetwork(sizeConfig('base'), { patch: [32, 160, 160], batch: 3 })
    expect(graph.outputs.get(OUTPUT)!.shape).toEqual([3, 3, 32, 160, 160])
    expect(() => buildNetwork(sizeConfig('base'), { patch: [16, 128, 128], batch: 1 })).toThrow(/patch 16x128x128 does not fit the TokenUnify network/)
    expect(() => buildNetwork(sizeConfig('base'), { patch: [16, 160, 160], batch: 1, taps: ['vit.nope'] })).toThrow(/unknown taps: vit\.nope/)
  })
})
