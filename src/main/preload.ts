/** Exposes the engine API to the sandboxed renderer as `window.studio` (see src/shared/api). */
import { contextBridge, ipcRenderer } from 'electron'
import { IPC_CALL_CHANNEL, IPC_EVENT_CHANNEL, type StudioApi } from '../shared/api'
import { deserializeError, type SerializedError } from '../shared/errors'

type Reply = { ok: true; value: unknown } | { ok: false; error: SerializedError }

const api: StudioApi = {
  async call(method, args) {
    const reply = (await ipcRenderer.invoke(IPC_CALL_CHANNEL, method, args)) as Reply
    if (!reply.ok) throw deserializeError(reply.error)
    return reply.value as never
  },
  on(event, handler) {
    const listener = (_e: unknown, name: string, payload: unknown) => {
      if (name === event) handler(payload as never)
    }
    ipcRenderer.on(IPC_EVENT_CHANNEL, listener)
    return () => ipcRenderer.removeListener(IPC_EVENT_CHANNEL, listener)
  },
}

contextBridge.exposeInMainWorld('studio', api)
