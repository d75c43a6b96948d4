// The shape every layer shares: a request context flows down a stack of `Layer`s to a terminal
// forwarder and a response (or a typed error) flows back. Kept free of node:http types so a
// layer can be tested against a stub `next` without sockets, and so HTTP/1.1 and HTTP/2
// listeners feed the same stack.

import type { IncomingHttpHeaders } from 'node:http'
import type { Readable } from 'node:stream'

export type Direction = 'inbound' | 'outbound'

/** The calling (inbound) or own (outbound) workload, from a SPIFFE URI SAN. */
export interface PeerIdentity {
  spiffeId: string
  service: string
}

/** W3C trace context of the current hop. */
export interface TraceContext {
  traceId: string
  /** Span id of this hop, sent downstream as the parent. */
  spanId: string
  parentSpanId: string | null
  sampled: boolean
}

/** What a connection pool tells the forwarder, in order: connect, headers, data…, complete | error. */
export interface ExchangeHandler {
  /** The request got a usable connection; `abort` cancels the exchange from now on. */
  onConnect: (abort: (reason: Error) => void) => void
  /** False asks for a pause until `resume` is called. */
  onHeaders: (statusCode: number, headers: IncomingHttpHeaders, resume: () => void) => boolean
  onData: (chunk: Buffer) => boolean
  onComplete: () => void
  onError: (error: Error) => void
}

/** A request body as a pool sends it: absent, in memory, or streamed with its length (null: unknown, sent chunked). */
export type RequestBody = Buffer | { stream: Readable, length: number | null } | null

/** The client side of the HTTP transport (proxy/client.ts's Http1Pool): a request in, its answer to `handler`. */
export interface UpstreamPool {
  /** `head` is the request line and headers; Content-Length and Connection are the pool's to write. */
  send: (method: string, head: string, body: RequestBody, handler: ExchangeHandler) => void
  /** Lets running and waiting requests finish, then closes every connection. */
  close: () => Promise<void>
  /** Closes every connection now; requests in progress fail. */
  destroy: () => Promise<void>
}

/** Where the terminal forwarder sends the request; chosen by the balancer or fixed (local app). */
export interface ForwardTarget {
  /** Keep-alive pool to the endpoint's sidecar (mutual TLS) or to the local app. */
  dispatcher: UpstreamPool
  /** Balancer key of the endpoint, `local` for the application. */
  endpointId: string
}

export interface ProxyRequest {
  method: string
  path: string
  /** Host / :authority as the client sent it. */
  authority: string
  /** Lower-cased request headers, pseudo-headers removed. */
  headers: IncomingHttpHeaders
  /**
   * Request body: streamed, or read whole by the HTTP/1.1 fast path (small bodies with a
   * Content-Length), or null when the request has none (which alone makes it replayable).
   */
  body: Readable | Buffer | null
  direction: Direction
  /** Inbound: the authenticated caller. Outbound: this proxy's own service. */
  source: PeerIdentity
  /** Service the request is addressed to. */
  destination: string
  startMs: number
  trace: TraceContext | null
  /** Extra headers layers want the forwarder to add (identity, trace). */
  addHeaders: Record<string, string> | null
  /** Canary subset chosen by the split layer or a route, null for any endpoint. */
  subset: string | null
  /** Position of the service-router route that took the request, -1 without a router. */
  route: number
  target: ForwardTarget | null
  /** 1 for the first try, incremented by the retry layer. */
  attempt: number
  /** Called by the forwarder once a connection to the target is usable. */
  onConnected: (() => void) | null
  /** Installed by the forwarder: cancels the upstream exchange (timeouts). */
  abort: ((reason: Error) => void) | null
}

export interface ProxyResponse {
  statusCode: number
  headers: IncomingHttpHeaders
  /** Streamed upstream body, or a complete one (small upstream bodies, bodies made by layers). */
  body: Readable | Buffer | string | null
}

export type Handler = (request: ProxyRequest) => Promise<ProxyResponse>
export type Layer = (next: Handler) => Handler

/** compose(a, b, c)(terminal) = a(b(c(terminal))): the first layer sees the request first. */
export function compose (...layers: Layer[]): (terminal: Handler) => Handler {
  return (terminal) => layers.reduceRight<Handler>((next, layer) => layer(next), terminal)
}

/** A value swapped atomically by Sidecar.update(); layers read `.current` per request. */
export interface Cell<T> {
  current: T
}

export function newRequest (fields: Pick<ProxyRequest, 'method' | 'path' | 'authority' | 'headers' | 'body' | 'direction' | 'source' | 'destination' | 'startMs'>): ProxyRequest {
  // Field by field rather than a spread: one object shape for every request, built without a copy loop.
  return {
    method: fields.method,
    path: fields.path,
    authority: fields.authority,
    headers: fields.headers,
    body: fields.body,
    direction: fields.direction,
    source: fields.source,
    destination: fields.destination,
    startMs: fields.startMs,
    trace: null,
    addHeaders: null,
    subset: null,
    route: -1,
    target: null,
    attempt: 1,
    onConnected: null,
    abort: null
  }
}

export function setHeader (request: ProxyRequest, name: string, value: string): void {
  if (request.addHeaders === null) request.addHeaders = {}
  request.addHeaders[name] = value
}

/** Releases a response nobody will read, so its connection is freed (streamed bodies only). */
export function discardBody (response: ProxyResponse, how: 'destroy' | 'drain'): void {
  const body = response.body
  if (body === null || typeof body === 'string' || Buffer.isBuffer(body)) return
  if (how === 'destroy') body.destroy()
  else body.resume()
}

const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE'])

/** Safe to send again: idempotent per RFC 9110 and no body stream that was already consumed. */
export function isReplayable (request: ProxyRequest): boolean {
  return request.body === null && IDEMPOTENT_METHODS.has(request.method)
}
