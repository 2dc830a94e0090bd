import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { createEngine, type Engine } from '../../src/main/engine/api'
import { ArrayVolume } from '../../src/main/engine/io/volume'
import { startServer, type RunningServer } from '../../src/main/server'
import type { JobInfo } from '../../src/shared/types'
import { decodeMessage, encodeMessage, type WireMessage } from '../../src/shared/wire'

let engine: Engine
let server: RunningServer

beforeAll(async () => {
  const renderer = mkdtempSync(join(tmpdir(), 'tu-renderer-'))
  writeFileSync(join(renderer, 'index.html'), '<!doctype html><title>frame</title>')
  writeFileSync(join(tmpdir(), 'outside.txt'), 'secret')
  engine = createEngine({ mode: 'browser' })
  server = await startServer({ engine, rendererDir: renderer })
})
afterAll(async () => {
  await server.close()
  await engine.close()
})

function connect(query: string, origin?: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/api${query}`, origin ? { origin } : {})
    ws.once('open', () => resolve(ws))
    ws.once('error', reject)
  })
}

function rpc(ws: WebSocket, id: number, method: string, args: unknown, events: WireMessage[] = []): Promise<WireMessage> {
  return new Promise((resolve) => {
    const onMessage = (data: Buffer) => {
      const msg = decodeMessage(new Uint8Array(data))
      if (msg.t === 'result' && msg.id === id) {
        ws.off('message', onMessage)
        resolve(msg)
      } else events.push(msg)
    }
    ws.on('message', onMessage)
    ws.send(encodeMessage({ t: 'call', id, method, args }))
  })
}

describe('browser-mode server', () => {
  it('listens on 127.0.0.1 only and prints a URL carrying the token', () => {
    expect(server.url).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${server.port}/\\?token=[A-Za-z0-9_-]{32}$`))
  })

  it('refuses page and socket requests without the token', async () => {
    expect((await fetch(`http://127.0.0.1:${server.port}/`)).status).toBe(401)
    expect((await fetch(`http://127.0.0.1:${server.port}/?token=wrong`)).status).toBe(401)
    await expect(connect('')).rejects.toThrow(/401/)
    await expect(connect('?token=wrong')).rejects.toThrow(/401/)
    // A page on another origin cannot reach the socket even if it learned the token.
    await expect(connect(`?token=${server.token}`, 'http://evil.example')).rejects.toThrow(/401/)
  })

  it('serves the renderer with the token, and nothing outside it', async () => {
    const res = await fetch(server.url)
    expect(res.status).toBe(200)
    expect(await res.text()).toContain('<title>frame</title>')
    const cookie = res.headers.get('set-cookie') ?? ''
    expect(cookie).toContain('HttpOnly')
    const asset = await fetch(`http://127.0.0.1:${server.port}/index.html`, { headers: { cookie: cookie.split(';')[0] } })
    expect(asset.status).toBe(200)
    const escape = await fetch(`http://127.0.0.1:${server.port}/..%2f..%2foutside.txt?token=${server.token}`)
    expect(escape.status).toBe(404)
  })

  it('answers API calls over the socket, streams job events, and reports errors', async () => {
    const ws = await connect(`?token=${server.token}`)
    const info = await rpc(ws, 1, 'app.info', {})
    expect(info).toMatchObject({ ok: true, value: { name: 'TokenUnify Studio', mode: 'browser' } })

    const vol = engine.addVolume(new ArrayVolume('v', [2, 3, 4], 'uint16', Uint16Array.from({ length: 24 }, (_, i) => i * 1000)))
    const read = await rpc(ws, 2, 'volume.read', { volumeId: vol.id, box: { start: [1, 1, 1], stop: [2, 3, 3] } })
    const data = (read as { value: { data: Uint16Array } }).value.data
    expect(data).toBeInstanceOf(Uint16Array)
    expect([...data]).toEqual([17000, 18000, 21000, 22000])

    const events: WireMessage[] = []
    const hist = await rpc(ws, 3, 'volume.histogram', { volumeId: vol.id, bins: 4 }, events)
    expect((hist as { value: { histogram: { counts: number[] } } }).value.histogram.counts).toEqual([17, 7, 0, 0])
    const states = events.filter((e) => e.t === 'event' && e.name === 'job.update').map((e) => (e as { payload: JobInfo }).payload.state)
    expect(states).toContain('done')

    const bad = await rpc(ws, 4, 'volume.read', { volumeId: vol.id, box: { start: [0, 0, 0], stop: [9, 1, 1] } })
    expect(bad).toMatchObject({ ok: false, error: { code: 'bad_input' } })
    ws.close()
  })
})
