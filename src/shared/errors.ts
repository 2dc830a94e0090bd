/** Error kinds the engine reports; the renderer shows `message`, and `file` when present. */
export type ErrorCode =
  | 'not_found'
  | 'bad_input'
  | 'bad_format'
  | 'unsupported'
  | 'cancelled'
  | 'conflict'
  | 'unauthorized'
  | 'internal'

export interface SerializedError {
  code: ErrorCode
  message: string
  /** The file the problem is about, when there is one. */
  file?: string
}

export class StudioError extends Error {
  readonly code: ErrorCode
  readonly file?: string

  constructor(code: ErrorCode, message: string, options?: { file?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'StudioError'
    this.code = code
    this.file = options?.file
  }

  toJSON(): SerializedError {
    return this.file === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, file: this.file }
  }
}

export class CancelledError extends StudioError {
  constructor(message = 'cancelled') {
    super('cancelled', message)
    this.name = 'CancelledError'
  }
}

/** Any thrown value as the error shape that crosses the API boundary. */
export function serializeError(err: unknown): SerializedError {
  if (err instanceof StudioError) return err.toJSON()
  if (err instanceof Error) return { code: 'internal', message: err.message }
  return { code: 'internal', message: String(err) }
}

export function deserializeError(e: SerializedError): StudioError {
  return new StudioError(e.code, e.message, e.file === undefined ? undefined : { file: e.file })
}
