/** The Electron shell: one window, the engine behind IPC. Everything else lives in engine/. */
import { join } from 'node:path'
import { app, BrowserWindow, ipcMain, session, shell } from 'electron'
import { IPC_CALL_CHANNEL, IPC_EVENT_CHANNEL, type Method } from '../shared/api'
import { serializeError } from '../shared/errors'
import { createEngine } from './engine/api'
import { openTarget, openTargetsFromArgs } from './engine/launch/openwith'
import { appPaths, userPaths } from './engine/paths'
import type { OpenTarget } from '../shared/api/app'

const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "worker-src 'self' blob:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ')

// One per-user folder for the desktop app, browser mode and the CLI (engine/paths.ts userPaths).
app.setPath('userData', userPaths().data)

// "Open with" on Windows and Linux starts the app with the path as an argument. A start while the
// app runs hands its arguments to the running instance ('second-instance') and ends.
if (!app.requestSingleInstanceLock()) app.exit(0)
const argsOf = (argv: string[]) => argv.slice(process.defaultApp ? 2 : 1)
const engine = createEngine({ mode: 'desktop' })

/** Paths the OS asks to open go through the engine ('app.launch' or 'app.open') to the renderer. */
function requestOpen(target: OpenTarget | undefined): void {
  if (!target) return
  const win = BrowserWindow.getAllWindows()[0]
  if (win?.isMinimized()) win.restore()
  win?.focus()
  engine.requestOpen(target)
}
openTargetsFromArgs(argsOf(process.argv), process.cwd()).forEach(requestOpen)
app.on('second-instance', (_e, argv, cwd) => openTargetsFromArgs(argsOf(argv), cwd).forEach(requestOpen))
// macOS sends Finder's "Open with" and drops on the Dock icon as events, the first ones before 'ready'.
app.on('open-file', (e, path) => {
  e.preventDefault()
  requestOpen(openTarget(path))
})

function createWindow(): BrowserWindow {
  const win = new BrowserWindow({
    width: 1440,
    height: 900,
    title: 'TokenUnify Studio',
    backgroundColor: '#15171c',
    show: false,
    webPreferences: {
      preload: join(import.meta.dirname, '../preload/index.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
    },
  })
  win.once('ready-to-show', () => win.show())
  // No remote content: links open in the user's browser, navigation away from the app is refused.
  win.webContents.setWindowOpenHandler(({ url }) => {
    if (url.startsWith('https://')) void shell.openExternal(url)
    return { action: 'deny' }
  })
  win.webContents.on('will-navigate', (e) => e.preventDefault())
  if (process.env.ELECTRON_RENDERER_URL) void win.loadURL(process.env.ELECTRON_RENDERER_URL)
  else void win.loadFile(join(appPaths().renderer, 'index.html'))
  return win
}

app.whenReady().then(() => {
  session.defaultSession.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CSP] } })
  })
  session.defaultSession.setPermissionRequestHandler((_wc, _perm, callback) => callback(false))

  ipcMain.handle(IPC_CALL_CHANNEL, async (_e, method: Method, args: unknown) => {
    try {
      return { ok: true, value: await engine.call(method, args as never) }
    } catch (err) {
      return { ok: false, error: serializeError(err) }
    }
  })
  engine.onAnyEvent((name, payload) => {
    for (const win of BrowserWindow.getAllWindows()) win.webContents.send(IPC_EVENT_CHANNEL, name, payload)
  })

  createWindow()
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) createWindow()
  })
})

app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit()
})

app.on('will-quit', () => {
  void engine.close()
})
