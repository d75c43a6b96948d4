// The terminal handler: sends the request over HTTP/1.1 through `request.target`'s keep-alive
// pool (plain TCP to the local app, mutual TLS to a remote sidecar) and hands back the response
// with its body still streaming. Failures become typed errors that say whether the request can
// have reached the application: before the connection is usable it cannot (connect failed,
// wrong identity), after it may have (reset).

import type { IncomingHttpHeaders } from 'node:http'
import { Readable } from 'node:stream'
import { INVALID_HEADER_VALUE } from './http1.ts'
import { BadRequestError, ConnectFailedError, ConnectTimeoutError, ProxyError, UpstreamIdentityError, UpstreamResetError } from './errors.ts'
import type { ExchangeHandler, Handler, ProxyRequest, ProxyResponse, RequestBody } from './handler.ts'

/**
 * Headers that describe one connection, not the message (RFC 9110 §7.6.1), `expect` (the
 * body is streamed anyway), and the identity headers only the inbound side may set.
 */
const REQUEST_HEADERS_NOT_FORWARDED = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'upgrade', 'te', 'transfer-encoding', 'http2-settings',
  'host', 'expect', 'x-forwarded-client-cert', 'x-mesh-source'
])

/**
 * Bodies up to this size with a known length are collected and answered in one write instead of
 * being piped: a stream and its pipe cost more than the copy for a small JSON answer.
 */
const BUFFERED_BODY_MAX_BYTES = 64 * 1024

const CERTIFICATE_ERROR = /CERT|CA_|SELF_SIGNED|UNABLE_TO|SIGNATURE|ERR_TLS|ERR_SSL|HANDSHAKE/

export interface ForwarderInit {
  /** Told when the TLS handshake to the target fails (bad certificate or identity). */
  onTlsFailure?: () => void
}

/**
 * The request line and headers for Http1Pool, in one string: the caller's headers but
 * connection-scoped ones, Host from the authority, then the headers layers added. Content-Length
 * and Connection are the pool's to write.
 */
function requestHead (request: ProxyRequest): string | null {
  const authority = request.authority
  if (INVALID_HEADER_VALUE.test(authority)) return null
  let head = `${request.method} ${request.path} HTTP/1.1\r\nhost: ${authority}\r\n`
  const incoming = request.headers
  const added = request.addHeaders
  for (const name in incoming) {
    if (name.charCodeAt(0) === 58 || REQUEST_HEADERS_NOT_FORWARDED.has(name) || name === 'content-length') continue
    if (added !== null && added[name] !== undefined) continue
    const value = incoming[name]
    if (value === undefined) continue
    if (typeof value === 'string') {
      if (INVALID_HEADER_VALUE.test(value)) return null
      head += `${name}: ${value}\r\n`
    } else {
      for (const item of value) {
        if (INVALID_HEADER_VALUE.test(item)) return null
        head += `${name}: ${item}\r\n`
      }
    }
  }
  if (added !== null) {
    for (const name in added) {
      const value = added[name]!
      if (INVALID_HEADER_VALUE.test(value)) return null
      head += `${name}: ${value}\r\n`
    }
  }
  return head
}

/** A streamed response body fed by the pool's callbacks, with backpressure through `resume`. */
class UpstreamBody extends Readable {
  resumeUpstream: (() => void) | null = null
  override _read (): void {
    const resume = this.resumeUpstream
    if (resume !== null) resume()
  }
}

function classify (error: Error & { code?: string }, connected: boolean, endpointId: string, init: ForwarderInit): ProxyError {
  if (error instanceof ProxyError) {
    if (error instanceof UpstreamIdentityError) init.onTlsFailure?.()
    return error
  }
  if (!connected) {
    if (error.code !== undefined && CERTIFICATE_ERROR.test(error.code)) {
      init.onTlsFailure?.()
      return new UpstreamIdentityError(`TLS handshake with ${endpointId} failed: ${error.message}`)
    }
    if (error.code === 'UND_ERR_CONNECT_TIMEOUT') return new ConnectTimeoutError(`cannot connect to ${endpointId}: ${error.message}`)
    return new ConnectFailedError(`cannot connect to ${endpointId}: ${error.message}`)
  }
  return new UpstreamResetError(`${endpointId} closed the connection before answering: ${error.message}`)
}

/**
 * One request's exchange with the target: the pool's callbacks as methods of one object, so a
 * request costs this object and its promise rather than a closure per callback.
 */
class Forwarding implements ExchangeHandler {
  private readonly request: ProxyRequest
  private readonly endpointId: string
  private readonly init: ForwarderInit
  private readonly resolve: (response: ProxyResponse) => void
  private readonly reject: (error: Error) => void
  private connected = false
  private body: UpstreamBody | null = null
  /** Status and headers of an answer being collected whole (small, known length). */
  private statusCode = 0
  private headers: IncomingHttpHeaders | null = null
  private chunks: Buffer[] | null = null
  private abortUpstream: ((reason: Error) => void) | null = null
  abortReason: Error | null = null

  constructor (request: ProxyRequest, endpointId: string, init: ForwarderInit, resolve: (response: ProxyResponse) => void, reject: (error: Error) => void) {
    this.request = request
    this.endpointId = endpointId
    this.init = init
    this.resolve = resolve
    this.reject = reject
  }

  /** Installed as request.abort. */
  abort (reason: Error): void {
    this.abortReason = reason
    if (this.abortUpstream !== null) this.abortUpstream(reason)
  }

  onConnect (abort: (reason: Error) => void): void {
    // A request cancelled while still waiting for a connection must not run late.
    if (this.abortReason !== null) {
      abort(this.abortReason)
      return
    }
    this.abortUpstream = abort
    this.connected = true
    this.request.onConnected?.()
  }

  onHeaders (statusCode: number, headers: IncomingHttpHeaders, resume: () => void): boolean {
    const length = headers['content-length']
    if (length !== undefined && Number(length) <= BUFFERED_BODY_MAX_BYTES) {
      this.statusCode = statusCode
      this.headers = headers
      this.chunks = []
      return true
    }
    const body = this.body = new UpstreamBody()
    body.resumeUpstream = resume
    this.resolve({ statusCode, headers, body })
    return true
  }

  onData (chunk: Buffer): boolean {
    const chunks = this.chunks
    if (chunks !== null) {
      chunks.push(chunk)
      return true
    }
    return this.body!.push(chunk)
  }

  onComplete (): void {
    const chunks = this.chunks
    if (chunks !== null) {
      this.resolve({ statusCode: this.statusCode, headers: this.headers!, body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks) })
      return
    }
    this.body!.push(null)
  }

  onError (error: Error & { code?: string }): void {
    if (this.body !== null) {
      this.body.destroy(error)
      return
    }
    this.reject(this.abortReason ?? classify(error, this.connected, this.endpointId, this.init))
  }
}

/** The body as the pool sends it: a stream keeps the caller's Content-Length when it gave a valid one. */
function requestBody (request: ProxyRequest): RequestBody {
  const body = request.body
  if (body === null || Buffer.isBuffer(body)) return body
  const length = request.headers['content-length']
  return { stream: body, length: typeof length === 'string' && /^\d{1,15}$/.test(length) ? Number(length) : null }
}

export function forwarder (init: ForwarderInit = {}): Handler {
  return (request) => new Promise<ProxyResponse>((resolve, reject) => {
    const target = request.target
    if (target === null) throw new Error('forwarder reached without a target')
    const exchange = new Forwarding(request, target.endpointId, init, resolve, reject)
    request.abort = (reason: Error) => { exchange.abort(reason) }
    const head = requestHead(request)
    if (head === null) {
      reject(new BadRequestError('request header value with a control character'))
      return
    }
    target.dispatcher.send(request.method, head, requestBody(request), exchange)
  })
}
