/** The engine API over the browser-mode WebSocket (src/main/server). */
import type { ApiEvents, EventName, StudioApi } from '../../../shared/api'
import { deserializeError } from '../../../shared/errors'
import { decodeMessage, encodeMessage, type WireMessage } from '../../../shared/wire'

export function socketApi(url: string): StudioApi {
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>()
  const handlers = new Map<string, Set<(payload: unknown) => void>>()
  let nextId = 1
  const ws = new WebSocket(url)
  ws.binaryType = 'arraybuffer'
  const open = new Promise<void>((resolve, reject) => {
    ws.addEventListener('open', () => resolve(), { once: true })
    ws.addEventListener('error', () => reject(new Error('cannot connect to the TokenUnify engine')), { once: true })
  })
  ws.addEventListener('message', (e: MessageEvent<ArrayBuffer>) => {
    const msg = decodeMessage(new Uint8Array(e.data))
    if (msg.t === 'result') {
      const p = pending.get(msg.id)
      pending.delete(msg.id)
      if (msg.ok) p?.resolve(msg.value)
      else p?.reject(deserializeError(msg.error))
    } else if (msg.t === 'event') {
      for (const h of handlers.get(msg.name) ?? []) h(msg.payload)
    }
  })
  ws.addEventListener('close', () => {
    for (const p of pending.values()) p.reject(new Error('the connection to the engine closed'))
    pending.clear()
  })

  return {
    async call(method, args) {
      await open
      const id = nextId++
      const msg: WireMessage = { t: 'call', id, method, args }
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject })
        ws.send(encodeMessage(msg))
      })
    },
    on<E extends EventName>(event: E, handler: (payload: ApiEvents[E]) => void) {
      let set = handlers.get(event)
      if (!set) handlers.set(event, (set = new Set()))
      const h = handler as (payload: unknown) => void
      set.add(h)
      return () => set.delete(h)
    },
  }
}
