// Retries a request on another endpoint when it cannot have had an effect or asked for it:
// connection failures and timeouts, resets before the response, and 503 answers. Only replayable
// requests are retried (idempotent method, no streamed body), at most `maxAttempts` tries, and
// only while the shared retry budget allows it, so retries never multiply load on an outage.

import { ProxyError } from '../errors.ts'
import { discardBody, isReplayable } from '../handler.ts'
import type { Clock } from '../../api/clock.ts'
import type { Layer, ProxyResponse } from '../handler.ts'
import type { RetryBudget } from '../retry-budget.ts'

export interface RetryInit {
  budget: RetryBudget
  clock: Pick<Clock, 'nowMs'>
  /** Tries in total, the first one included. */
  maxAttempts?: number
  /** Told about each retry with the reason (an error code or `503`). */
  onRetry?: (reason: string) => void
}

export function retryLayer (init: RetryInit): Layer {
  const maxAttempts = init.maxAttempts ?? 3
  return (next) => async (request) => {
    init.budget.recordRequest(init.clock.nowMs())
    const replayable = isReplayable(request)
    for (;;) {
      let response: ProxyResponse | null = null
      let failure: unknown = null
      try {
        response = await next(request)
      } catch (error) {
        failure = error
      }
      const reason = response !== null
        ? (response.statusCode === 503 ? '503' : null)
        : (failure instanceof ProxyError && failure.retryable ? failure.code : null)
      if (reason === null || !replayable || request.attempt >= maxAttempts || !init.budget.tryWithdraw(init.clock.nowMs())) {
        if (response !== null) return response
        throw failure
      }
      if (response !== null) discardBody(response, 'drain')
      init.onRetry?.(reason)
      request.attempt++
      request.abort = null
      request.onConnected = null
    }
  }
}
