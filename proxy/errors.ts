// Typed errors of the data plane, one class per condition, each with a stable `code` that callers
// and tests match on and an HTTP status the proxy answers with. The catalogue lives in
// docs/errors/proxy.md; test/proxy/errors.test.ts keeps the two in step.

export abstract class ProxyError extends Error {
  abstract readonly code: string
  /** Status the proxy answers with when this error ends a request. */
  abstract readonly statusCode: number
  /** True when a different endpoint may succeed (the request never reached an application). */
  readonly retryable: boolean = false
}

export class BadRequestError extends ProxyError {
  readonly code = 'MESH_ERR_PROXY_BAD_REQUEST'
  readonly statusCode = 400
  override name = 'BadRequestError'
}

export class PeerIdentityError extends ProxyError {
  readonly code = 'MESH_ERR_PROXY_PEER_IDENTITY'
  readonly statusCode = 403
  override name = 'PeerIdentityError'
}

export class ConnectionDeniedError extends ProxyError {
  readonly code = 'MESH_ERR_PROXY_CONNECTION_DENIED'
  readonly statusCode = 403
  override name = 'ConnectionDeniedError'
}

export class RequestDeniedError extends ProxyError {
  readonly code = 'MESH_ERR_PROXY_REQUEST_DENIED'
  readonly statusCode = 403
  override name = 'RequestDeniedError'
}

export class RateLimitedError extends ProxyError {
  readonly code = 'MESH_ERR_PROXY_RATE_LIMITED'
  readonly statusCode = 429
  override name = 'RateLimitedError'
}

export class FaultAbortError extends ProxyError {
  readonly code = 'MESH_ERR_PROXY_FAULT_ABORT'
  readonly statusCode: number
  override name = 'FaultAbortError'
  constructor (statusCode: number, message: string) {
    super(message)
    this.statusCode = statusCode
  }
}

export class RequestTimeoutError extends ProxyError {
  readonly code = 'MESH_ERR_PROXY_REQUEST_TIMEOUT'
  readonly statusCode = 504
  override name = 'RequestTimeoutError'
}

export class ConnectTimeoutError extends ProxyError {
  readonly code = 'MESH_ERR_PROXY_CONNECT_TIMEOUT'
  readonly statusCode = 503
  override readonly retryable = true
  override name = 'ConnectTimeoutError'
}

export class ConnectFailedError extends ProxyError {
  readonly code = 'MESH_ERR_PROXY_CONNECT_FAILED'
  readonly statusCode = 503
  override readonly retryable = true
  override name = 'ConnectFailedError'
}

export class UpstreamResetError extends ProxyError {
  readonly code = 'MESH_ERR_PROXY_UPSTREAM_RESET'
  readonly statusCode = 503
  override readonly retryable = true
  override name = 'UpstreamResetError'
}

export class UpstreamIdentityError extends ProxyError {
  readonly code = 'MESH_ERR_PROXY_UPSTREAM_IDENTITY'
  readonly statusCode = 503
  override readonly retryable = true
  override name = 'UpstreamIdentityError'
}

export class NoHealthyEndpointError extends ProxyError {
  readonly code = 'MESH_ERR_PROXY_NO_HEALTHY_ENDPOINT'
  readonly statusCode = 503
  override name = 'NoHealthyEndpointError'
}

export class OverloadedError extends ProxyError {
  readonly code = 'MESH_ERR_PROXY_OVERLOADED'
  readonly statusCode = 503
  override name = 'OverloadedError'
}

export class InvalidSnapshotError extends ProxyError {
  readonly code = 'MESH_ERR_PROXY_INVALID_SNAPSHOT'
  readonly statusCode = 500
  override name = 'InvalidSnapshotError'
}

/**
 * The caller closed its connection before the answer: the exchange is cancelled upstream. Not a
 * failure of the proxy; 499 (as nginx counts it) is only what metrics and traces record, since
 * nobody is left to receive it.
 */
export class CallerClosedError extends ProxyError {
  readonly code = 'MESH_ERR_PROXY_CALLER_CLOSED'
  readonly statusCode = 499
  override name = 'CallerClosedError'
  constructor (message = 'caller closed the connection') {
    super(message)
  }
}

export class InternalError extends ProxyError {
  readonly code = 'MESH_ERR_PROXY_INTERNAL'
  readonly statusCode = 500
  override name = 'InternalError'
}

/** Every code above, for the documentation test. */
export const PROXY_ERROR_CODES: readonly string[] = [
  'MESH_ERR_PROXY_CALLER_CLOSED',
  'MESH_ERR_PROXY_BAD_REQUEST',
  'MESH_ERR_PROXY_PEER_IDENTITY',
  'MESH_ERR_PROXY_CONNECTION_DENIED',
  'MESH_ERR_PROXY_REQUEST_DENIED',
  'MESH_ERR_PROXY_RATE_LIMITED',
  'MESH_ERR_PROXY_FAULT_ABORT',
  'MESH_ERR_PROXY_REQUEST_TIMEOUT',
  'MESH_ERR_PROXY_CONNECT_TIMEOUT',
  'MESH_ERR_PROXY_CONNECT_FAILED',
  'MESH_ERR_PROXY_UPSTREAM_RESET',
  'MESH_ERR_PROXY_UPSTREAM_IDENTITY',
  'MESH_ERR_PROXY_NO_HEALTHY_ENDPOINT',
  'MESH_ERR_PROXY_OVERLOADED',
  'MESH_ERR_PROXY_INVALID_SNAPSHOT',
  'MESH_ERR_PROXY_INTERNAL'
]
