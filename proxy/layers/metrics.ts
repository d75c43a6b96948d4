// Counts every answered request by direction, source, destination and status code and observes
// its latency to response headers. Sits above `respond`, so refusals (403, 429, 503, 504) are
// counted like any answer.

import type { Clock } from '../../api/clock.ts'
import type { Layer, ProxyResponse } from '../handler.ts'
import type { ProxyMetrics } from '../metrics.ts'

export interface MetricsInit {
  metrics: Pick<ProxyMetrics, 'recordRequest'>
  clock: Pick<Clock, 'nowMs'>
}

export function metricsLayer (init: MetricsInit): Layer {
  return (next) => (request) => {
    const startMs = init.clock.nowMs()
    return next(request).then((response: ProxyResponse) => {
      init.metrics.recordRequest(request.direction, request.source.service, request.destination, response.statusCode, (init.clock.nowMs() - startMs) / 1000)
      return response
    })
  }
}
