/**
 * The GPU graph (parallel scan, ConvTranspose as Conv + transposes, two-step reductions) proven
 * on ONNX Runtime's WebGPU provider. Without a GPU this runs on Mesa's lavapipe (Vulkan on the
 * CPU; Mesa 25 from bookworm-backports): slow, but the same WGSL kernels a real GPU runs.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { readNpy } from '../../src/main/engine/io/npy'
import { loadCheckpoint } from '../../src/main/engine/model/checkpoint'
import { buildNetwork, INPUT, OUTPUT } from '../../src/main/engine/model/network'
import { Program } from '../../src/main/engine/runtime/program'
import { webgpuUnavailable } from '../../src/main/engine/runtime/providers'

// Dawn's Vulkan backend wants a runtime directory even headless.
process.env.XDG_RUNTIME_DIR ??= mkdtempSync(join(tmpdir(), 'tu-xdg-'))
const unavailable = await webgpuUnavailable()
if (unavailable) console.log(`WebGPU parity test skipped: no WebGPU adapter here (${unavailable}); install Mesa's Vulkan driver (lavapipe) to run it`)

const TINY_A = join(import.meta.dirname, '../../../shared/fixtures/tokenunify/tiny-a')

describe.skipIf(unavailable !== undefined)('TokenUnify network on the WebGPU provider', () => {
  it('reproduces tiny-a within 1e-3', { timeout: 900_000 }, async () => {
    const checkpoint = await loadCheckpoint(join(TINY_A, 'checkpoint.pth'))
    const input = readNpy(join(TINY_A, 'input.npy'))
    const graph = buildNetwork(checkpoint.config, { patch: [16, 80, 80], batch: 1 })
    const program = await Program.create(graph, { provider: 'webgpu', weights: (n) => checkpoint.weights.get(n)?.data })
    try {
      expect(program.scan).toBe('in-graph')
      const out = (await program.run({ [INPUT]: input.data as Float32Array })).get(OUTPUT)!
      const expected = readNpy(join(TINY_A, 'output.npy')).data as Float32Array
      expect(out.reduce((m, v, i) => Math.max(m, Math.abs(v - expected[i])), 0)).toBeLessThanOrEqual(1e-3)
    } finally {
      await program.dispose()
    }
  })
})
