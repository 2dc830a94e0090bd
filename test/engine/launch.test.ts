import { existsSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { OpenTarget } from '../../src/shared/api/app'
import { createEngine } from '../../src/main/engine/api'

let data: string
beforeEach(() => {
  data = mkdtempSync(join(tmpdir(), 'tu-user-'))
  process.env.TOKENUNIFY_DATA_DIR = data
})
afterEach(() => {
  delete process.env.TOKENUNIFY_DATA_DIR
})

describe('app.launch and app.open', () => {
  it('reports the first run once, the weights folder with its files, and what waits to be opened', async () => {
    const engine = createEngine({ mode: 'desktop' })
    engine.requestOpen({ kind: 'volume', path: '/data/stack.tif' })
    const first = await engine.call('app.launch', {})
    expect(first.firstRun).toBe(true)
    expect(first.open).toEqual([{ kind: 'volume', path: '/data/stack.tif' }])
    expect(first.weights.folder).toBe(join(data, 'weights'))
    expect(first.weights.repository).toBe('https://huggingface.co/cyd0806/TokenUnify')
    expect(existsSync(join(data, 'weights', 'README.txt'))).toBe(true)
    expect(first.defaultModel).toMatch(/resources[\\/]models[\\/]/)

    writeFileSync(join(data, 'weights', 'tokenunify-base.pth'), '')
    const again = await createEngine({ mode: 'desktop' }).call('app.launch', {})
    expect(again.firstRun).toBe(false)
    expect(again.open).toEqual([])
    expect(again.weights.files).toEqual([join(data, 'weights', 'tokenunify-base.pth')])
  })

  it('sends later requests as app.open events', async () => {
    const engine = createEngine({ mode: 'desktop' })
    await engine.call('app.launch', {})
    const seen: OpenTarget[] = []
    engine.on('app.open', (t) => seen.push(t))
    engine.requestOpen({ kind: 'project', path: '/p' })
    expect(seen).toEqual([{ kind: 'project', path: '/p' }])
  })
})
