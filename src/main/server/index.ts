/**
 * Browser mode: serves the built renderer and the engine API over a WebSocket, on 127.0.0.1 only.
 * Every request must carry the random token from the printed URL (query `token`, or the cookie
 * set when the page was opened with it); anything else gets 401.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto'
import { createReadStream, existsSync, statSync } from 'node:fs'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { extname, join, normalize, sep } from 'node:path'
import { WebSocketServer, type WebSocket } from 'ws'
import type { Method } from '../../shared/api'
import { serializeError } from '../../shared/errors'
import { decodeMessage, encodeMessage, type WireMessage } from '../../shared/wire'
import type { Engine } from '../engine/api'

export interface ServerOptions {
  engine: Engine
  rendererDir: string
  port?: number
  /** Fixed token for tests; random by default. */
  token?: string
}

export interface RunningServer {
  url: string
  port: number
  token: string
  close(): Promise<void>
}

const HOST = '127.0.0.1'
const COOKIE = 'tokenunify_token'
const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
}

function sameToken(given: string | null | undefined, token: string): boolean {
  if (!given) return false
  const a = Buffer.from(given)
  const b = Buffer.from(token)
  return a.length === b.length && timingSafeEqual(a, b)
}

function cookieToken(req: IncomingMessage): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, v] = part.trim().split('=')
    if (k === COOKIE) return v
  }
  return undefined
}

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const token = options.token ?? randomBytes(24).toString('base64url')
  const { engine, rendererDir } = options
  if (!existsSync(join(rendererDir, 'index.html'))) {
    throw new Error(`the renderer is not built: ${join(rendererDir, 'index.html')} is missing (run \`npm run build\`)`)
  }

  const authorized = (req: IncomingMessage) => {
    const url = new URL(req.url ?? '/', `http://${HOST}`)
    return sameToken(url.searchParams.get('token'), token) || sameToken(cookieToken(req), token)
  }

  const http = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (!authorized(req)) {
      res.writeHead(401, { 'content-type': 'text/plain' }).end('401: open the URL printed by `tokenunify serve`, with its token\n')
      return
    }
    const url = new URL(req.url ?? '/', `http://${HOST}`)
    const rel = normalize(decodeURIComponent(url.pathname)).replace(/^([\\/])+/, '')
    const file = join(rendererDir, rel === '' ? 'index.html' : rel)
    if (!file.startsWith(rendererDir + sep) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('404\n')
      return
    }
    res.writeHead(200, {
      'content-type': MIME[extname(file)] ?? 'application/octet-stream',
      'set-cookie': `${COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/`,
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    })
    createReadStream(file).pipe(res)
  })

  const wss = new WebSocketServer({ noServer: true, maxPayload: 1 << 30 })
  http.on('upgrade', (req, socket, head) => {
    const origin = req.headers.origin
    const port = (http.address() as AddressInfo).port
    const originOk = origin === undefined || origin === `http://${HOST}:${port}` || origin === `http://localhost:${port}`
    if (!authorized(req) || !originOk || new URL(req.url ?? '/', `http://${HOST}`).pathname !== '/api') {
      socket.end('HTTP/1.1 401 Unauthorized\r\n\r\n')
      return
    }
    wss.handleUpgrade(req, socket, head, (ws) => serveSocket(ws, engine))
  })

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject)
    http.listen(options.port ?? 0, HOST, () => resolve())
  })
  const port = (http.address() as AddressInfo).port
  return {
    url: `http://${HOST}:${port}/?token=${token}`,
    port,
    token,
    close: () =>
      new Promise<void>((resolve) => {
        for (const ws of wss.clients) ws.terminate()
        wss.close()
        http.close(() => resolve())
        http.closeAllConnections()
      }),
  }
}

function serveSocket(ws: WebSocket, engine: Engine): void {
  const send = (msg: WireMessage) => {
    if (ws.readyState === ws.OPEN) ws.send(encodeMessage(msg))
  }
  const unsubscribe = engine.onAnyEvent((name, payload) => send({ t: 'event', name, payload }))
  ws.on('close', unsubscribe)
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    let msg: WireMessage
    try {
      if (!isBinary) throw new Error('text frames are not part of the protocol')
      msg = decodeMessage(new Uint8Array(data.buffer, data.byteOffset, data.byteLength))
      if (msg.t !== 'call') throw new Error(`unexpected message ${msg.t}`)
    } catch (err) {
      ws.close(1003, String((err as Error).message).slice(0, 120))
      return
    }
    const { id, method, args } = msg
    engine.call(method as Method, args as never).then(
      (value) => send({ t: 'result', id, ok: true, value }),
      (err: unknown) => send({ t: 'result', id, ok: false, error: serializeError(err) }),
    )
  })
}
