/** The renderer's one way to the engine: the preload bridge in Electron, a WebSocket in the browser. */
import type { StudioApi } from '../../../shared/api'
import { socketApi } from './socket'

declare global {
  interface Window {
    studio?: StudioApi
  }
}

function connect(): StudioApi {
  if (window.studio) return window.studio
  const token = new URLSearchParams(window.location.search).get('token') ?? ''
  return socketApi(`ws://${window.location.host}/api?token=${encodeURIComponent(token)}`)
}

export const api: StudioApi = connect()
