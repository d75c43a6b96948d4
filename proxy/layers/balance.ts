// Chooses the endpoint for each try (P2C on outstanding requests and latency EWMA, in the
// upstream's EndpointPool) and reports the outcome back for outlier ejection. A retry avoids the
// endpoint that just failed. With no eligible endpoint the request ends with 503 saying so.

import { NoHealthyEndpointError, ProxyError } from '../errors.ts'
import type { Clock } from '../../api/clock.ts'
import type { ForwardTarget, Layer, ProxyResponse } from '../handler.ts'
import type { EndpointPool } from '../endpoint-pool.ts'
import type { Http1Pool } from '../client.ts'

export interface BalanceInit {
  /** The upstream's endpoints; update() changes them in place. */
  pool: EndpointPool<Http1Pool>
  clock: Pick<Clock, 'nowMs'>
}

export function balanceLayer (init: BalanceInit): Layer {
  return (next) => async (request) => {
    const pool = init.pool
    const startMs = init.clock.nowMs()
    const avoidId = request.attempt > 1 ? request.target?.endpointId ?? null : null
    const state = pool.pick(request.subset, avoidId, startMs)
    if (state === null) {
      const which = request.subset === null ? '' : ` in subset ${request.subset}`
      throw new NoHealthyEndpointError(`no healthy endpoint for ${request.destination}${which}`)
    }
    const lease = pool.begin(state)
    const target: ForwardTarget = { dispatcher: lease.pool, endpointId: state.endpoint.id }
    request.target = target
    let response: ProxyResponse
    try {
      response = await next(request)
    } catch (error) {
      const outcome = error instanceof ProxyError && error.retryable ? 'connection-failure' : 'success'
      pool.end(state, lease, init.clock.nowMs() - startMs, outcome, init.clock.nowMs())
      throw error
    }
    pool.end(state, lease, init.clock.nowMs() - startMs, response.statusCode >= 500 ? 'error-status' : 'success', init.clock.nowMs())
    return response
  }
}
