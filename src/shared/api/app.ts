import type { AppInfo } from '../types'

/** What the operating system or the command line asked the app to open. */
export interface OpenTarget {
  kind: 'project' | 'volume'
  path: string
}

export interface LaunchInfo {
  /** True the first time the app starts for this user: open the demo project. */
  firstRun: boolean
  /** The folder of the demo project; the engine creates it on first open (the app folder is read-only). */
  demoProject: string
  /** The model shipped with the app, or null when this build has none. */
  defaultModel: string | null
  weights: {
    /** Where the user puts downloaded weights (a README there says the same as the app). */
    folder: string
    /** Where they come from; the app links there and never downloads on its own. */
    repository: string
    /** Weight files already in the folder, full paths. */
    files: string[]
  }
  /** Paths to open now: "Open with", a file dropped on the app, or `tokenunify serve <path>`. */
  open: OpenTarget[]
}

export interface AppCalls {
  'app.info': { args: Record<string, never>; result: AppInfo }
  /** Called once by the page when it loads: first-run facts and what to open. */
  'app.launch': { args: Record<string, never>; result: LaunchInfo }
}

export interface AppEvents {
  /** The OS asked the running app to open a path (a second launch, macOS open-file). */
  'app.open': OpenTarget
}
