// Total time allowed for a request, retries included: past `requestTimeoutMs` without response
// headers the upstream exchange is cancelled and the caller gets 504. A response that arrives
// after the deadline is discarded so its connection can be reused or closed.

import { RequestTimeoutError } from '../errors.ts'
import { discardBody } from '../handler.ts'
import type { Clock } from '../../api/clock.ts'
import type { Cell, Layer, ProxyResponse } from '../handler.ts'

export interface RequestTimeoutInit {
  timeoutMs: Cell<number>
  clock: Pick<Clock, 'setTimer' | 'clearTimer'>
}

export function requestTimeoutLayer (init: RequestTimeoutInit): Layer {
  return (next) => (request) => {
    const timeoutMs = init.timeoutMs.current
    if (!(timeoutMs > 0)) return next(request)
    return new Promise<ProxyResponse>((resolve, reject) => {
      let timedOut = false
      const timer = init.clock.setTimer(() => {
        timedOut = true
        const error = new RequestTimeoutError(`no response from ${request.destination} within ${timeoutMs} ms`)
        request.abort?.(error)
        reject(error)
      }, timeoutMs)
      next(request).then((response) => {
        if (timedOut) {
          discardBody(response, 'destroy')
          return
        }
        init.clock.clearTimer(timer)
        resolve(response)
      }, (error: unknown) => {
        if (timedOut) return
        init.clock.clearTimer(timer)
        reject(error)
      })
    })
  }
}
