// Time allowed to get a usable connection to the chosen endpoint (TCP and TLS handshake; zero for
// a pooled connection, and then no timer is armed at all). On expiry the attempt is cancelled with a retryable error, so the retry
// layer can try another endpoint while the total request timeout still runs.

import { ConnectTimeoutError } from '../errors.ts'
import { discardBody } from '../handler.ts'
import type { Clock } from '../../api/clock.ts'
import type { Cell, Layer, ProxyResponse } from '../handler.ts'

export interface ConnectTimeoutInit {
  timeoutMs: Cell<number>
  clock: Pick<Clock, 'setTimer' | 'clearTimer'>
}

export function connectTimeoutLayer (init: ConnectTimeoutInit): Layer {
  return (next) => (request) => {
    const timeoutMs = init.timeoutMs.current
    if (!(timeoutMs > 0)) return next(request)
    // A pooled connection is handed over synchronously, inside next(): then no timer is armed.
    let connected = false
    let timer: unknown = null
    request.onConnected = () => {
      connected = true
      if (timer !== null) init.clock.clearTimer(timer)
    }
    const pending = next(request)
    if (connected) return pending
    return new Promise<ProxyResponse>((resolve, reject) => {
      let settled = false
      timer = init.clock.setTimer(() => {
        if (settled || connected) return
        settled = true
        const error = new ConnectTimeoutError(`no connection to ${request.target?.endpointId ?? request.destination} within ${timeoutMs} ms`)
        request.abort?.(error)
        reject(error)
      }, timeoutMs)
      pending.then((response) => {
        init.clock.clearTimer(timer)
        if (settled) {
          discardBody(response, 'destroy')
          return
        }
        settled = true
        resolve(response)
      }, (error: unknown) => {
        init.clock.clearTimer(timer)
        if (settled) return
        settled = true
        reject(error)
      })
    })
  }
}
