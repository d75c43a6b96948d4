// The terminal handler: sends the request over HTTP/1.1 to `request.target` through its
// keep-alive agent (plain TCP to the local app, mutual TLS to a remote sidecar) and hands back
// the response with its body still streaming. Failures become typed errors that say whether
// the request can have reached the application: before the connection is usable it cannot
// (connect failed / wrong identity), after it may have (reset).

import { request as httpRequest } from 'node:http'
import type { ClientRequest, IncomingMessage, OutgoingHttpHeaders } from 'node:http'
import { TLSSocket } from 'node:tls'
import type { Socket } from 'node:net'
import { ConnectFailedError, ProxyError, UpstreamIdentityError, UpstreamResetError } from './errors.ts'
import type { Handler, ProxyRequest, ProxyResponse } from './handler.ts'

/** Headers that describe one connection, not the message (RFC 9110 §7.6.1), plus our own. */
const REQUEST_HEADERS_NOT_FORWARDED = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'upgrade', 'te', 'http2-settings', 'host',
  'x-forwarded-client-cert', 'x-mesh-source'
])

const CERTIFICATE_ERROR = /CERT|CA_|SELF_SIGNED|UNABLE_TO|SIGNATURE|ERR_TLS|ERR_SSL|HANDSHAKE/

export interface ForwarderInit {
  /** Told when the TLS handshake to the target fails (bad certificate or identity). */
  onTlsFailure?: () => void
}

export function buildRequestHeaders (request: ProxyRequest): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = {}
  const incoming = request.headers
  for (const name in incoming) {
    // HTTP/2 pseudo-headers (`:path`…) start with a colon and have no HTTP/1.1 form.
    if (name.charCodeAt(0) === 58 || REQUEST_HEADERS_NOT_FORWARDED.has(name)) continue
    headers[name] = incoming[name]
  }
  headers.host = request.authority
  const added = request.addHeaders
  if (added !== null) for (const name in added) headers[name] = added[name]
  return headers
}

export function forwarder (init: ForwarderInit = {}): Handler {
  return (request) => new Promise<ProxyResponse>((resolve, reject) => {
    const target = request.target
    if (target === null) throw new Error('forwarder reached without a target')
    let connected = false
    let settled = false
    let abortReason: Error | null = null
    const outgoing: ClientRequest = httpRequest({
      agent: target.agent,
      protocol: target.protocol,
      host: target.host,
      port: target.port,
      method: request.method,
      path: request.path,
      headers: buildRequestHeaders(request)
    })
    const markConnected = (): void => {
      connected = true
      request.onConnected?.()
    }
    outgoing.once('socket', (socket: Socket) => {
      if (outgoing.reusedSocket) {
        markConnected()
        return
      }
      // Nagle's algorithm would hold a small request behind the peer's delayed ACK (40 ms).
      socket.setNoDelay(true)
      socket.once(socket instanceof TLSSocket ? 'secureConnect' : 'connect', markConnected)
    })
    outgoing.once('response', (response: IncomingMessage) => {
      settled = true
      resolve({ statusCode: response.statusCode ?? 502, headers: response.headers, body: response })
    })
    outgoing.on('error', (error: Error & { code?: string }) => {
      if (settled) return
      settled = true
      if (abortReason !== null) return reject(abortReason)
      if (error instanceof ProxyError) {
        init.onTlsFailure?.()
        return reject(error)
      }
      if (!connected) {
        if (error.code !== undefined && CERTIFICATE_ERROR.test(error.code)) {
          init.onTlsFailure?.()
          return reject(new UpstreamIdentityError(`TLS handshake with ${target.endpointId} failed: ${error.message}`))
        }
        return reject(new ConnectFailedError(`cannot connect to ${target.endpointId}: ${error.message}`))
      }
      reject(new UpstreamResetError(`${target.endpointId} closed the connection before answering: ${error.message}`))
    })
    request.abort = (reason: Error) => {
      abortReason = reason
      outgoing.destroy(reason)
    }
    if (request.body === null) outgoing.end()
    else request.body.pipe(outgoing)
  })
}
