import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { SIZES, checkPatch, sizeConfig, sizeOf, type NetworkConfig, type SizeName } from '../../src/main/engine/model/config'
import { countParams, paramSpecs } from '../../src/main/engine/model/params'

const SHARED = join(__dirname, '../../../shared')

/** Appendix A of the spec: "name  (shape)" lines of the base model's state_dict, in order. */
function appendixA(): { name: string; shape: number[] }[] {
  const md = readFileSync(join(SHARED, 'design/TOKENUNIFY.md'), 'utf8')
  const block = md.split('## Appendix A')[1].split('```')[1]
  return block
    .trim()
    .split('\n')
    .map((line) => {
      const m = /^(\S+)\s+\(([\d, ]*)\)$/.exec(line.trim())
      if (!m) throw new Error(`unexpected appendix line ${line}`)
      return { name: m[1], shape: m[2].split(',').filter((s) => s.trim() !== '').map(Number) }
    })
}

function fixtureConfig(name: string): NetworkConfig {
  const meta = JSON.parse(readFileSync(join(SHARED, `fixtures/tokenunify/${name}/meta.json`), 'utf8'))
  const c = meta.config
  return {
    inChannels: 1,
    outChannels: 3,
    featSize: c.feat_size,
    hiddenSize: c.hidden_size,
    depths: c.depths,
    kernelSize: c.kernel_size,
    dState: c.d_state,
    dConv: c.d_conv,
    expand: c.expand,
    nSlices: c.nslices,
  }
}

describe('network parameters', () => {
  it('reproduces the 291 keys and shapes of appendix A for base, in order', () => {
    const expected = appendixA()
    expect(expected).toHaveLength(291)
    expect(paramSpecs(sizeConfig('base'))).toEqual(expected)
  })

  it('gives the published parameter counts of all five sizes', () => {
    // Spec section 1.2: 28.296131 M exactly; the others to 0.1 k.
    expect(countParams(paramSpecs(sizeConfig('base')))).toBe(28_296_131)
    const millions: Record<SizeName, number> = { base: 28.2961, small: 112.5344, mid: 206.5775, large: 506.5674, huge: 1008.9089 }
    for (const size of Object.keys(SIZES) as SizeName[]) {
      const specs = paramSpecs(sizeConfig(size))
      expect(specs.map((s) => s.name)).toEqual(expected291Names())
      expect(Math.round(countParams(specs) / 100) / 1e4).toBe(millions[size])
    }
  })

  it('matches the tiny fixture configs (parameter counts from their meta.json)', () => {
    expect(countParams(paramSpecs(fixtureConfig('tiny-a')))).toBe(1_829_555)
    expect(countParams(paramSpecs(fixtureConfig('tiny-b')))).toBe(7_155_299)
    expect(sizeOf(fixtureConfig('tiny-a'))).toBeUndefined()
    expect(sizeOf(sizeConfig('large'))).toBe('large')
  })

  it('follows the config where it departs from the published sizes', () => {
    const c = sizeConfig('base')
    c.depths = [1, 2, 3, 2]
    c.hiddenSize = 256 // = C3: encoder5 then has no 1x1x1 shortcut conv3
    c.dState = 8
    const specs = paramSpecs(c)
    expect(specs.filter((s) => s.name.endsWith('.norm.weight')).map((s) => s.name.split('.').slice(2, 4).join('.'))).toEqual([
      '0.0',
      '1.0',
      '1.1',
      '2.0',
      '2.1',
      '2.2',
      '3.0',
      '3.1',
    ])
    expect(specs.find((s) => s.name === 'encoder5.layer.conv3.conv.weight')).toBeUndefined()
    expect(specs.find((s) => s.name === 'vit.stages.2.2.mamba.x_proj_s.weight')?.shape).toEqual([8 + 16, 256])
  })
})

function expected291Names(): string[] {
  return appendixA().map((a) => a.name)
}

describe('patch sizes', () => {
  it('accepts the patches the official network runs', () => {
    for (const p of [
      [16, 160, 160],
      [32, 160, 160],
      [32, 320, 320],
      [48, 160, 160],
      [16, 80, 80],
    ] as const) {
      expect(() => checkPatch([...p], SIZES.base)).not.toThrow()
    }
  })

  it('refuses sides that are not multiples of 16, naming them', () => {
    expect(() => checkPatch([18, 160, 160], SIZES.base)).toThrow('patch 18x160x160 does not fit the TokenUnify network: every side must be a multiple of 16 (z=18 is not)')
    expect(() => checkPatch([16, 100, 90], SIZES.base)).toThrow(/y=100, x=90 is not/)
    expect(() => checkPatch([16, 0, 160], SIZES.base)).toThrow(/three positive integers/)
  })

  it('refuses token counts the 5-way interleaved scan cannot split', () => {
    // Spec 2.3: 16x256x256 and 16x128x128 crash the official code.
    expect(() => checkPatch([16, 256, 256], SIZES.base)).toThrow(
      /encoder stage 0 has 8x128x128 = 131072 tokens, which the interleaved scan cannot split into 5 equal parts; .*multiple of 80/,
    )
    expect(() => checkPatch([16, 128, 128], SIZES.base)).toThrow(/131072|32768/)
    // With another nslices the rule follows the config.
    expect(() => checkPatch([16, 128, 128], { nSlices: 4 })).not.toThrow()
    expect(() => checkPatch([16, 160, 160], { nSlices: 3 })).toThrow(/cannot split into 3 equal parts/)
  })
})
