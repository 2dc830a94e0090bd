/**
 * The one contract between the renderer and the engine: every call and every event.
 * Each area keeps its part in its own file; this table joins them.
 */
import type { AppCalls, AppEvents } from './app'
import type { DemoCalls } from './demo'
import type { JobCalls, JobEvents } from './jobs'
import type { ModelCalls } from './model'
import type { ProjectCalls, ProjectEvents } from './project'
import type { SegmentCalls } from './segment'
import type { TrainCalls, TrainEvents } from './train'
import type { VolumeCalls } from './volume'

export interface ApiCalls extends AppCalls, JobCalls, VolumeCalls, ProjectCalls, DemoCalls, SegmentCalls, ModelCalls, TrainCalls {}
export type ApiEvents = AppEvents & JobEvents & ProjectEvents & TrainEvents

export type Method = keyof ApiCalls
export type ArgsOf<M extends Method> = ApiCalls[M]['args']
export type ResultOf<M extends Method> = ApiCalls[M]['result']
export type EventName = keyof ApiEvents

/** What the renderer talks to: the preload bridge in Electron, a WebSocket client in the browser. */
export interface StudioApi {
  call<M extends Method>(method: M, args: ArgsOf<M>): Promise<ResultOf<M>>
  on<E extends EventName>(event: E, handler: (payload: ApiEvents[E]) => void): () => void
}

/** The engine side: one async function per call. */
export type ApiHandlers = { [M in Method]: (args: ArgsOf<M>) => Promise<ResultOf<M>> }

export const IPC_CALL_CHANNEL = 'studio:call'
export const IPC_EVENT_CHANNEL = 'studio:event'
