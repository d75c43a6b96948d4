// The bridge between node's HTTP servers (HTTP/1.1 and the HTTP/2 compatibility API) and a
// layer stack: builds the ProxyRequest, runs the stack, writes the answer and ties the two
// connections' lifetimes together (a caller that goes away cancels the upstream exchange; an
// upstream body that fails cuts the caller's response instead of truncating it silently).

import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http'
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2'
import type { Socket } from 'node:net'
import { discardBody, newRequest } from './handler.ts'
import type { Direction, Handler, PeerIdentity, ProxyRequest, ProxyResponse } from './handler.ts'
import { errorResponse } from './layers/respond.ts'
import { BadRequestError, CallerClosedError } from './errors.ts'

/** Connection-scoped headers never copied onto the caller's response. */
const RESPONSE_HEADERS_NOT_FORWARDED = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'http2-settings'])

export interface ServeContext {
  handler: Handler
  direction: Direction
  destination: string
  source: PeerIdentity
  now: () => number
  /** True while the sidecar drains: HTTP/1.1 answers carry `Connection: close`. */
  draining: () => boolean
  /** The connection's request count, for draining; null when the server tracks it itself. */
  connection: { requestStarted: () => void, requestEnded: () => void } | null
}

type AnyRequest = IncomingMessage | Http2ServerRequest
type AnyResponse = ServerResponse | Http2ServerResponse

function responseHeaders (headers: IncomingHttpHeaders, closeConnection: boolean): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {}
  for (const name in headers) {
    if (name.charCodeAt(0) === 58 || RESPONSE_HEADERS_NOT_FORWARDED.has(name)) continue
    out[name] = headers[name]
  }
  if (closeConnection) out.connection = 'close'
  return out
}

function hasBody (request: AnyRequest, http2: boolean): boolean {
  if (http2) return !(request as Http2ServerRequest).stream.endAfterHeaders
  const headers = request.headers
  const length = headers['content-length']
  if (length !== undefined) return length !== '0'
  return headers['transfer-encoding'] !== undefined
}

export function serve (context: ServeContext, request: AnyRequest, response: AnyResponse): void {
  // By the API the request came through, not by its version: an HTTP/1.1 connection may send
  // `HTTP/2.0` in its request line, and llhttp lets it through.
  const http2 = (request as Partial<Http2ServerRequest>).stream !== undefined
  const connection = context.connection
  connection?.requestStarted()
  const url = request.url
  if (typeof url !== 'string' || url.charCodeAt(0) !== 47) {
    // Absolute-form and authority-form targets are for forward proxies, not a sidecar.
    if (connection !== null) response.once('close', () => { connection.requestEnded() })
    writeResponse(response, errorResponse(new BadRequestError(`request target must be a path, got ${String(url)}`)), false)
    return
  }
  const authority = http2 ? (request as Http2ServerRequest).authority : request.headers.host
  const proxyRequest: ProxyRequest = newRequest({
    method: request.method ?? 'GET',
    path: url,
    authority: authority ?? '',
    headers: request.headers,
    body: hasBody(request, http2) ? request : null,
    direction: context.direction,
    source: context.source,
    destination: context.destination,
    startMs: context.now()
  })
  let answered = false
  response.once('close', () => {
    if (!answered) proxyRequest.abort?.(new CallerClosedError())
    connection?.requestEnded()
  })
  context.handler(proxyRequest).then((answer) => {
    answered = true
    if (response.destroyed) {
      discardBody(answer, 'destroy')
      return
    }
    writeResponse(response, answer, !http2 && context.draining())
  }, () => {
    // The stack ends in `respond`, which never rejects; a rejection here means the caller
    // already left, so there is nobody to answer.
    answered = true
    if (!response.destroyed) response.destroy()
  })
}

function writeResponse (response: AnyResponse, answer: ProxyResponse, closeConnection: boolean): void {
  (response as ServerResponse).writeHead(answer.statusCode, responseHeaders(answer.headers, closeConnection))
  const body = answer.body
  if (body === null || typeof body === 'string' || Buffer.isBuffer(body)) {
    (response as ServerResponse).end(body ?? undefined)
    return
  }
  body.on('error', () => { response.destroy() })
  response.once('close', () => { if (!body.readableEnded) body.destroy() })
  body.pipe(response as ServerResponse)
}

/** Answer to bytes that are not HTTP: 400 and close, instead of node's bare default. */
export function badRequestOnClientError (error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy()
    return
  }
  const body = `malformed HTTP request: ${error.code ?? error.message}\n`
  socket.end(
    'HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n' +
    `x-mesh-error: ${new BadRequestError('').code}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n` + body
  )
}
