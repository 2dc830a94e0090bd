/**
 * Every format opens through the engine API over the browser-mode socket (what the app does):
 * probe for the picker, open, read a box, set the intensity window, close.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { createEngine, type Engine } from '../../src/main/engine/api'
import { startServer, type RunningServer } from '../../src/main/server'
import type { VolumeInfo, VolumeProbe } from '../../src/shared/types'
import { decodeMessage, encodeMessage } from '../../src/shared/wire'
import { cut, fixture, reference } from './helpers'

let engine: Engine
let server: RunningServer
let ws: WebSocket
let nextId = 1
const renderer = mkdtempSync(join(tmpdir(), 'tu-io-renderer-'))

beforeAll(async () => {
  writeFileSync(join(renderer, 'index.html'), '<!doctype html><title>io</title>')
  engine = createEngine({ mode: 'browser' })
  server = await startServer({ engine, rendererDir: renderer })
  ws = await new Promise<WebSocket>((resolve, reject) => {
    const socket = new WebSocket(`ws://127.0.0.1:${server.port}/api?token=${server.token}`)
    socket.once('open', () => resolve(socket))
    socket.once('error', reject)
  })
})
afterAll(async () => {
  ws.close()
  await server.close()
  await engine.close()
  rmSync(renderer, { recursive: true, force: true })
})

/** One API call over the socket; rejects with the engine's error message. */
function call<T>(method: string, args: unknown): Promise<T> {
  const id = nextId++
  return new Promise((resolve, reject) => {
    const onMessage = (data: Buffer) => {
      const msg = decodeMessage(new Uint8Array(data))
      if (msg.t !== 'result' || msg.id !== id) return
      ws.off('message', onMessage)
      if (msg.ok) resolve(msg.value as T)
      else reject(new Error(msg.error.message))
    }
    ws.on('message', onMessage)
    ws.send(encodeMessage({ t: 'call', id, method, args }))
  })
}

describe('volumes through the engine API (browser mode)', () => {
  it.each([
    ['stack_u16_deflate.tif', undefined, 'img16', 'tiff'],
    ['slices_jpeg', undefined, 'slices_jpeg', 'slices'],
    ['cremi.h5', 'volumes/labels/neuron_ids', 'labels64', 'hdf5'],
    ['ome.zarr', '1', 'ome_level1', 'zarr'],
    ['v3.zarr', 'sharded', 'v3_sharded', 'zarr'],
    ['data.n5', 'volumes/raw', 'img16', 'n5'],
    ['img8_5d.npy', undefined, 'img8', 'npy'],
  ])('%s %s', async (file, dataset, expected, format) => {
    const probe = await call<VolumeProbe>('volume.probe', { path: fixture(file) })
    expect(probe.format).toBe(format)
    const info = await call<VolumeInfo>('volume.open', { path: fixture(file), ...(dataset ? { dataset } : {}) })
    const ref = reference(expected)
    expect(info).toMatchObject({ shape: ref.shape, format, path: fixture(file) })
    if (dataset) expect(info.dataset).toBe(dataset)
    const box = { start: [1, 3, 2], stop: [ref.shape[0], ref.shape[1] - 1, ref.shape[2] - 4] }
    const { data } = await call<{ data: ArrayLike<number | bigint> }>('volume.read', { volumeId: info.id, box })
    expect(Array.from(data)).toEqual(cut(ref, box as never))
    expect((await call<{ closed: boolean }>('volume.close', { volumeId: info.id })).closed).toBe(true)
    await expect(call('volume.read', { volumeId: info.id, box })).rejects.toThrow(/no open volume/)
  })

  it('gives each uint16 volume a default window and lets the user set another', async () => {
    const info = await call<VolumeInfo>('volume.open', { path: fixture('img16.npy') })
    const first = await call<{ window: { low: number; high: number }; default: { low: number; high: number } }>('volume.window', { volumeId: info.id })
    expect(first.window).toEqual(first.default)
    expect(first.default.low).toBeGreaterThan(0)
    expect(first.default.high).toBeLessThan(65535)
    expect(first.default.high).toBeGreaterThan(first.default.low)
    const set = await call<{ window: unknown }>('volume.window', { volumeId: info.id, window: { low: 100, high: 2000 } })
    expect(set.window).toEqual({ low: 100, high: 2000 })
    const reset = await call<{ window: unknown; default: unknown }>('volume.window', { volumeId: info.id, window: null })
    expect(reset.window).toEqual(reset.default)
  })

  it('reports bad input with the file and the problem', async () => {
    await expect(call('volume.open', { path: fixture('truncated.tif') })).rejects.toThrow(/truncated\.tif: not a readable TIFF/)
    await expect(call('volume.open', { path: fixture('multi.h5') })).rejects.toThrow(/multi\.h5: holds several volumes/)
  })
})
