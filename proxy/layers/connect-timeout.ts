// Time allowed to get a usable connection to the chosen endpoint (TCP and TLS handshake; zero for
// a pooled connection). On expiry the attempt is cancelled with a retryable error, so the retry
// layer can try another endpoint while the total request timeout still runs.

import { ConnectTimeoutError } from '../errors.ts'
import { discardBody } from '../handler.ts'
import type { Cell, Clock, Layer, ProxyResponse } from '../handler.ts'

export interface ConnectTimeoutInit {
  timeoutMs: Cell<number>
  clock: Pick<Clock, 'setTimeout' | 'clearTimeout'>
}

export function connectTimeoutLayer (init: ConnectTimeoutInit): Layer {
  return (next) => (request) => {
    const timeoutMs = init.timeoutMs.current
    if (!(timeoutMs > 0)) return next(request)
    return new Promise<ProxyResponse>((resolve, reject) => {
      let settled = false
      const timer = init.clock.setTimeout(() => {
        if (settled) return
        settled = true
        const error = new ConnectTimeoutError(`no connection to ${request.target?.endpointId ?? request.destination} within ${timeoutMs} ms`)
        request.abort?.(error)
        reject(error)
      }, timeoutMs)
      request.onConnected = () => { init.clock.clearTimeout(timer) }
      next(request).then((response) => {
        init.clock.clearTimeout(timer)
        if (settled) {
          discardBody(response, 'destroy')
          return
        }
        settled = true
        resolve(response)
      }, (error: unknown) => {
        init.clock.clearTimeout(timer)
        if (settled) return
        settled = true
        reject(error)
      })
    })
  }
}
