// Turns a typed error from any layer below into the HTTP answer the caller gets: the error's
// status, its code in `x-mesh-error` and its message as a plain-text body. Layers throw; only
// this one speaks HTTP about failures, so every refusal looks the same on the wire.

import { CallerClosedError, InternalError, ProxyError } from '../errors.ts'
import type { Layer, ProxyResponse } from '../handler.ts'

export function errorResponse (error: ProxyError): ProxyResponse {
  return {
    statusCode: error.statusCode,
    headers: { 'content-type': 'text/plain; charset=utf-8', 'x-mesh-error': error.code },
    body: error.message + '\n'
  }
}

export interface RespondInit {
  /** Told about errors that are not ProxyErrors: those are bugs, answered with a 500. */
  onUnexpected?: (error: unknown) => void
  /** Told when the caller closed its connection before the answer: normal, not an error. */
  onCallerClosed?: (error: CallerClosedError) => void
}

export function respondLayer (init: RespondInit = {}): Layer {
  const fail = (error: unknown): ProxyResponse => {
    if (error instanceof CallerClosedError) init.onCallerClosed?.(error)
    if (error instanceof ProxyError) return errorResponse(error)
    init.onUnexpected?.(error)
    return errorResponse(new InternalError('internal proxy error'))
  }
  return (next) => (request) => next(request).catch(fail)
}
