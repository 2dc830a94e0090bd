import type { AppInfo } from '../types'

export interface AppCalls {
  'app.info': { args: Record<string, never>; result: AppInfo }
}
