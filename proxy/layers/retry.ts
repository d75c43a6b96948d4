// Retries a request on another endpoint when it cannot have had an effect or asked for it:
// connection failures and timeouts, resets before the response, and 503 answers. Only replayable
// requests are retried (idempotent method, no streamed body), at most `maxAttempts` tries, and
// only while the shared retry budget allows it, so retries never multiply load on an outage.

import { ProxyError, UpstreamResetError } from '../errors.ts'
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
  /** A route's own policy (Consul's NumRetries, RetryOn…); absent: connection failures, resets and 503. */
  policy?: RetryPolicy
}

/** When a route retries: its tries in total and the outcomes worth another try. */
export interface RetryPolicy {
  maxAttempts: number
  /** Connection failures and connect timeouts (Consul's RetryOnConnectFailure, RetryOn connect-failure). */
  connectFailure: boolean
  /** Resets before the response (RetryOn reset). */
  reset: boolean
  /** Statuses that get another try (RetryOnStatusCodes, RetryOn 5xx and gateway-error). */
  statusCodes: ReadonlySet<number>
}

const SERVER_ERRORS = Array.from({ length: 100 }, (_, index) => 500 + index)

/** A route's retry fields as a policy; undefined when it sets none, so the default applies. */
export function retryPolicyOf (route: { numRetries?: number, retryOnConnectFailure?: boolean, retryOnStatusCodes?: number[], retryOn?: string[] }): RetryPolicy | undefined {
  const retryOn = route.retryOn ?? []
  if (route.numRetries === undefined && route.retryOnConnectFailure !== true && (route.retryOnStatusCodes?.length ?? 0) === 0 && retryOn.length === 0) return undefined
  const statusCodes = new Set(route.retryOnStatusCodes ?? [])
  if (retryOn.includes('5xx')) for (const code of SERVER_ERRORS) statusCodes.add(code)
  if (retryOn.includes('gateway-error')) for (const code of [502, 503, 504]) statusCodes.add(code)
  // As Envoy: a policy that names no condition still retries what cannot have reached the app.
  const none = route.retryOnConnectFailure !== true && statusCodes.size === 0 && !retryOn.includes('reset') && !retryOn.includes('connect-failure')
  return {
    // Envoy's num_retries defaults to 1 once a route has a retry policy.
    maxAttempts: 1 + (route.numRetries ?? 1),
    connectFailure: none || route.retryOnConnectFailure === true || retryOn.includes('connect-failure') || retryOn.includes('5xx') || retryOn.includes('gateway-error'),
    reset: none || retryOn.includes('reset') || retryOn.includes('5xx'),
    statusCodes,
  }
}

function reasonOf (policy: RetryPolicy | undefined, response: ProxyResponse | null, failure: unknown): string | null {
  if (policy === undefined) {
    return response !== null
      ? (response.statusCode === 503 ? '503' : null)
      : (failure instanceof ProxyError && failure.retryable ? failure.code : null)
  }
  if (response !== null) return policy.statusCodes.has(response.statusCode) ? String(response.statusCode) : null
  if (!(failure instanceof ProxyError) || !failure.retryable) return null
  const reset = failure instanceof UpstreamResetError
  return (reset ? policy.reset : policy.connectFailure) ? failure.code : null
}

export function retryLayer (init: RetryInit): Layer {
  const maxAttempts = init.policy?.maxAttempts ?? init.maxAttempts ?? 3
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
      const reason = reasonOf(init.policy, response, failure)
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
