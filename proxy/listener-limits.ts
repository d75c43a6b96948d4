// A sidecar listener's connection limits by protocol. tcp mode carries long-lived sessions
// (databases) and has its own idle timeout; every other limit is the listener's. A listener picks
// the limits of its current protocol on every snapshot, so switching a service between tcp and http
// changes the idle timeout of the connections that follow (and of the open ones, at the guard's next
// sweep).

import type { ConnectionLimits } from '../api/connection-limits.ts'

export interface ProtocolLimits {
  /** The limits in HTTP modes (http, http2, grpc). */
  http: ConnectionLimits
  /** The idle timeout in tcp mode. */
  tcpIdleTimeoutMs: number
}

/** The limits while the listener's service speaks `protocol`, with the snapshot's own connection cap when it sets one. */
export function limitsForProtocol (limits: ProtocolLimits, protocol: string, maxConnections: number | undefined): ConnectionLimits {
  return {
    ...limits.http,
    idleTimeoutMs: protocol === 'tcp' ? limits.tcpIdleTimeoutMs : limits.http.idleTimeoutMs,
    maxConnections: maxConnections ?? limits.http.maxConnections
  }
}
