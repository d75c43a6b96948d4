// Bounds the work in progress: at most `maxConcurrentRequests` requests go on at once, up to
// `maxPendingRequests` more wait (first come, first served), and beyond that the proxy answers
// 503 at once, like Envoy's circuit-breaker thresholds. Fast refusals keep latency bounded under
// overload instead of queueing without limit. A slot is held until the response headers arrive.

import { OverloadedError } from '../errors.ts'
import type { Cell, Layer, ProxyResponse } from '../handler.ts'
import type { ProxyLimits } from '../snapshot.ts'

export interface ConcurrencyInit {
  limits: Cell<ProxyLimits | undefined>
}

/** Whether `limits` bound requests at all (maxConnections is the listener's, not this layer's). */
export function hasConcurrencyLimits (limits: ProxyLimits | undefined): boolean {
  return limits?.maxConcurrentRequests !== undefined || limits?.maxPendingRequests !== undefined
}

export function concurrencyLayer (init: ConcurrencyInit): Layer {
  let active = 0
  const waiting: Array<() => void> = []
  const release = (): void => {
    const wake = waiting.shift()
    if (wake !== undefined) wake()
    else active--
  }
  return (next) => (request) => {
    const limits = init.limits.current
    // Without limits nothing is counted (no extra promise per request); limits set by an update
    // apply to the requests that start after it.
    if (!hasConcurrencyLimits(limits)) return next(request)
    const maxConcurrent = limits!.maxConcurrentRequests ?? Infinity
    const maxPending = limits!.maxPendingRequests ?? Infinity
    const run = (): Promise<ProxyResponse> => next(request).finally(release)
    if (active < maxConcurrent) {
      active++
      return run()
    }
    if (waiting.length >= maxPending) {
      return Promise.reject(new OverloadedError(`overloaded: ${active} requests in progress and ${waiting.length} pending (limits ${maxConcurrent} and ${maxPending})`))
    }
    // The finishing request hands its slot straight to the waiter, so `active` is unchanged.
    return new Promise<void>((resolve) => { waiting.push(resolve) }).then(run)
  }
}
