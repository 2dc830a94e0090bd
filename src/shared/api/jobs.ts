import type { JobInfo } from '../types'

export interface JobCalls {
  'jobs.list': { args: Record<string, never>; result: JobInfo[] }
  'jobs.cancel': { args: { id: string }; result: { cancelled: boolean } }
}

export interface JobEvents {
  /** Sent whenever a job starts, advances, finishes, fails or is cancelled. */
  'job.update': JobInfo
}
