// Continues the caller's W3C trace (or starts one), gives this hop a new span id, sends it
// downstream in `traceparent`, and records the span with its final status in the ring.

import { setHeader } from '../handler.ts'
import type { Clock } from '../../api/clock.ts'
import type { Layer, ProxyResponse } from '../handler.ts'
import { formatTraceparent, parseTraceparent } from '../traces.ts'
import type { IdSource, SpanRing } from '../traces.ts'

export interface TraceInit {
  ring: SpanRing
  ids: IdSource
  clock: Pick<Clock, 'nowMs'>
  /** Wall clock for span start times. */
  epochNow?: () => number
}

export function traceLayer (init: TraceInit): Layer {
  const epochNow = init.epochNow ?? Date.now
  return (next) => (request) => {
    const parent = parseTraceparent(request.headers.traceparent)
    const context = {
      traceId: parent?.traceId ?? init.ids.hex(16),
      spanId: init.ids.hex(8),
      parentSpanId: parent?.parentSpanId ?? null,
      sampled: parent?.sampled ?? true
    }
    request.trace = context
    setHeader(request, 'traceparent', formatTraceparent(context))
    const startEpochMs = epochNow()
    const startMs = init.clock.nowMs()
    const record = (statusCode: number): void => {
      init.ring.record(context.traceId, context.spanId, context.parentSpanId, request.direction, request.source.service, request.destination,
        request.method, request.path, statusCode, startEpochMs, init.clock.nowMs() - startMs, request.route)
    }
    return next(request).then((response: ProxyResponse) => {
      record(response.statusCode)
      return response
    }, (error: unknown) => {
      record(statusOf(error))
      throw error
    })
  }
}

function statusOf (error: unknown): number {
  const status = (error as { statusCode?: unknown } | null)?.statusCode
  return typeof status === 'number' ? status : 500
}
