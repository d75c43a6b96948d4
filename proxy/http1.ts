// A hand-written HTTP/1.1 server for the common case, in front of node's http server: a request
// whose head and (small, content-length) body have arrived is parsed from the socket's bytes in
// one pass and its answer is written in one buffer, skipping IncomingMessage/ServerResponse,
// which were most of the sidecar's per-request CPU outside TLS (docs/benchmarks/proxy.md).
//
// It is strict on purpose. Anything that could make two parsers disagree about where a message
// ends is answered 400 and the connection closed, before anything is forwarded: duplicate
// Content-Length, Content-Length with Transfer-Encoding, a non-numeric length, obs-fold, bare
// CR or LF, control characters, invalid header names, a missing or repeated Host. Anything valid
// but unusual (Transfer-Encoding, Expect, Upgrade, HTTP/1.0, non-path targets, large bodies or
// heads, Connection options other than keep-alive/close) is not handled here: the connection is
// handed, with the bytes already read, to node's http server, which then owns it for good. The
// hand-over only happens between requests (requests are handled one at a time, pipelined ones
// wait in the buffer), so no request is ever split between the two.

import { createServer as createNodeHttpServer, METHODS, STATUS_CODES } from 'node:http'
import type { IncomingHttpHeaders } from 'node:http'
import type { Socket } from 'node:net'
import type { Readable } from 'node:stream'
import { BadRequestError, CallerClosedError } from './errors.ts'
import { discardBody, newRequest } from './handler.ts'
import type { ProxyRequest, ProxyResponse } from './handler.ts'
import { badRequestOnClientError, serve } from './serve.ts'
import type { ServeContext } from './serve.ts'

/** Larger heads go to node's server, which answers 431 past its own limit (16 KiB). */
const MAX_HEAD_BYTES = 16 * 1024
/** Request bodies up to this size are read whole here; larger ones stream through node's server. */
const MAX_BODY_BYTES = 64 * 1024
/** Past this many pipelined bytes waiting behind a request in progress, stop reading. */
const MAX_BUFFERED_BYTES = MAX_HEAD_BYTES + MAX_BODY_BYTES
/** Idle keep-alive connections and heads that take longer are closed, as node's server does. */
const IDLE_TIMEOUT_MS = 60_000

const CRLFCRLF = Buffer.from('\r\n\r\n')

/** tchar of RFC 9110 §5.6.2: the characters of a method or header name. */
export const TOKEN = new Uint8Array(256)
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") TOKEN[c.charCodeAt(0)] = 1

/** The request methods llhttp (node's parser, and so node's server and the apps behind us) accepts. */
const KNOWN_METHODS = new Set(METHODS)
/** Every beginning of a known method, to refuse a request line as early as llhttp does. */
const METHOD_PREFIXES = new Set(METHODS.flatMap((m) => Array.from({ length: m.length }, (_, i) => m.slice(0, i + 1))))

/** Whether the first bytes of an incomplete head can still become a request line with a known method. */
export function canStartRequest (buffer: Buffer): boolean {
  const space = buffer.indexOf(32)
  const end = space < 0 ? Math.min(buffer.length, 32) : space
  const method = buffer.toString('latin1', 0, end)
  return space < 0 ? METHOD_PREFIXES.has(method) : KNOWN_METHODS.has(method)
}

/** Repeats of these are dropped, as node's IncomingMessage does, so layers see the same headers. */
const FIRST_WINS = new Set(['content-type', 'user-agent', 'referer', 'authorization', 'proxy-authorization', 'if-modified-since',
  'if-unmodified-since', 'from', 'location', 'max-forwards', 'retry-after', 'etag', 'last-modified', 'server', 'age', 'expires'])

/**
 * One pass over the bytes of a message head, `buffer[0, end)`: CR only in CRLF, no LF without
 * CR, no control characters but HTAB. Null when clean, else what is wrong. (On the bytes rather
 * than the decoded string: a typed-array loop is about twice as fast.)
 */
export function checkHeadBytes (buffer: Uint8Array, end: number, start = 0): string | null {
  for (let i = start; i < end; i++) {
    const c = buffer[i]!
    if (c >= 32 ? c !== 127 : c === 9) continue
    if (c === 13 && i + 1 < end && buffer[i + 1] === 10) {
      i++
      continue
    }
    return c === 10 ? 'bare LF in message head' : c === 13 ? 'bare CR in message head' : 'control character in message head'
  }
  return null
}

/** Adds a header line to a node-style header object (lower-case names, repeats merged as node does). */
export function addHeader (headers: IncomingHttpHeaders, name: string, value: string): void {
  // A plain object, as node's (a null-prototype one is several times slower to fill): a name
  // that meets Object.prototype's members (`constructor`, `toString`…) shadows them, and
  // `__proto__` is dropped.
  if (name === '__proto__') return
  const existing = headers[name]
  if (existing === undefined || typeof existing === 'function') headers[name] = name === 'set-cookie' ? [value] : value
  else if (name === 'set-cookie') (existing as string[]).push(value)
  else if (!FIRST_WINS.has(name)) headers[name] = `${existing as string}${name === 'cookie' ? '; ' : ', '}${value}`
}

/** Connection-scoped headers never copied onto the caller's response (as serve.ts). */
const RESPONSE_HEADERS_NOT_WRITTEN = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'http2-settings', 'content-length'])

/** What node's writeHead refuses in a header value: anything that could split the response. */
export const INVALID_HEADER_VALUE = /[^\t\x20-\x7e\x80-\xff]/

export interface RequestHead {
  method: string
  path: string
  host: string
  headers: IncomingHttpHeaders
  contentLength: number
  /** The client asked to close after this response (`Connection: close`). */
  close: boolean
}

/**
 * Reads the header lines of a head: `text` from `start` to its end, bytes already checked by
 * checkHeadBytes. Each line's lower-cased name and its value, without the spaces and tabs around
 * it, go to `visit`. Returns what is wrong with a line, what `visit` refused, or null. The request
 * parser here and the client's response parser share it, so they cannot drift apart on where a
 * header ends.
 */
export function readHeaderLines (text: string, start: number, visit: (name: string, value: string) => string | null): string | null {
  const n = text.length
  let pos = start
  while (pos < n) {
    let end = text.indexOf('\r\n', pos)
    if (end < 0) end = n
    const first = text.charCodeAt(pos)
    if (first === 32 || first === 9) return 'obsolete line folding in header'
    const colon = text.indexOf(':', pos)
    if (colon <= pos || colon > end) return 'header line without a name and colon'
    for (let i = pos; i < colon; i++) if (TOKEN[text.charCodeAt(i)] !== 1) return 'invalid header name'
    let valueStart = colon + 1
    let valueEnd = end
    while (valueStart < valueEnd && (text.charCodeAt(valueStart) === 32 || text.charCodeAt(valueStart) === 9)) valueStart++
    while (valueEnd > valueStart && (text.charCodeAt(valueEnd - 1) === 32 || text.charCodeAt(valueEnd - 1) === 9)) valueEnd--
    const refused = visit(text.slice(pos, colon).toLowerCase(), text.slice(valueStart, valueEnd))
    if (refused !== null) return refused
    pos = end + 2
  }
  return null
}

/** parseHead's answer for a valid request the fast path leaves to node's server. */
export const HAND_OVER = 'hand over'

/**
 * Parses a request head: `buffer[0, end)`, the bytes before CRLFCRLF. Returns the head,
 * HAND_OVER, or a string saying why the request is malformed.
 */
export function parseHead (buffer: Buffer, end: number): RequestHead | string {
  const invalid = checkHeadBytes(buffer, end)
  if (invalid !== null) return invalid
  const text = buffer.toString('latin1', 0, end)
  const n = text.length
  let lineEnd = text.indexOf('\r\n')
  if (lineEnd < 0) lineEnd = n
  // Empty lines before the request line are tolerated by node; leave that to it.
  if (lineEnd === 0) return HAND_OVER
  const sp1 = text.indexOf(' ')
  const sp2 = sp1 < 0 ? -1 : text.indexOf(' ', sp1 + 1)
  if (sp1 <= 0 || sp2 < 0 || sp2 > lineEnd || text.lastIndexOf(' ', lineEnd - 1) !== sp2) return 'malformed request line'
  for (let i = 0; i < sp1; i++) if (TOKEN[text.charCodeAt(i)] !== 1) return 'invalid method'
  const method = text.slice(0, sp1)
  if (!KNOWN_METHODS.has(method)) return 'invalid method'
  if (sp2 === sp1 + 1) return 'empty request target'
  let asciiTarget = true
  for (let i = sp1 + 1; i < sp2; i++) {
    const c = text.charCodeAt(i)
    if (c === 9) return 'invalid request target'
    if (c > 126) asciiTarget = false
  }
  const version = text.slice(sp2 + 1, lineEnd)
  if (version !== 'HTTP/1.1') return /^HTTP\/\d\.\d$/.test(version) ? HAND_OVER : 'unsupported protocol version'
  // CONNECT, absolute-form and asterisk-form targets, non-ASCII paths: node's server and serve().
  let handOver = method === 'CONNECT' || text.charCodeAt(sp1 + 1) !== 47 || !asciiTarget
  const headers: IncomingHttpHeaders = {}
  let host: string | null = null
  let contentLength = -1
  let transferEncoding = false
  let close = false
  const refused = readHeaderLines(text, lineEnd + 2, (name, value) => {
    switch (name) {
      case 'content-length':
        if (contentLength >= 0) return 'duplicate Content-Length'
        if (!/^\d{1,15}$/.test(value)) return 'invalid Content-Length'
        contentLength = Number(value)
        headers[name] = value
        return null
      case 'host':
        if (host !== null) return 'duplicate Host'
        host = value
        headers[name] = value
        return null
      case 'transfer-encoding':
        transferEncoding = true
        break
      case 'connection':
        for (const option of value.toLowerCase().split(',')) {
          const token = option.trim()
          if (token === 'close') close = true
          else if (token !== 'keep-alive') handOver = true
        }
        break
      case 'upgrade':
      case 'expect':
      case 'http2-settings':
        handOver = true
        break
    }
    addHeader(headers, name, value)
    return null
  })
  if (refused !== null) return refused
  if (transferEncoding && contentLength >= 0) return 'both Transfer-Encoding and Content-Length'
  if (host === null) return 'missing Host header'
  if (handOver || transferEncoding || contentLength > MAX_BODY_BYTES) return HAND_OVER
  return { method, path: text.slice(sp1 + 1, sp2), host, headers, contentLength: contentLength < 0 ? 0 : contentLength, close }
}

const STATUS_LINES = new Map<number, string>()
function statusLine (statusCode: number): string {
  let line = STATUS_LINES.get(statusCode)
  if (line === undefined) {
    line = `HTTP/1.1 ${statusCode} ${STATUS_CODES[statusCode] ?? 'Unknown'}\r\n`
    if (STATUS_LINES.size < 1000) STATUS_LINES.set(statusCode, line)
  }
  return line
}

let dateSecond = -1
let dateValue = ''
/** The Date header node's server adds, formatted once per second. */
function httpDate (): string {
  const now = Date.now()
  const second = Math.floor(now / 1000)
  if (second !== dateSecond) {
    dateSecond = second
    dateValue = new Date(now).toUTCString()
  }
  return dateValue
}

/**
 * The response head: status line, the answer's headers but connection-scoped ones and
 * Content-Length, then `length` (a number, 'chunked', or null to keep the answer's own
 * Content-Length), Date when missing, and keep-alive or close.
 */
export function responseHead (answer: ProxyResponse, length: number | 'chunked' | null, close: boolean): string {
  let head = statusLine(answer.statusCode)
  let hasDate = false
  const headers = answer.headers
  for (const name in headers) {
    if (name.charCodeAt(0) === 58 || RESPONSE_HEADERS_NOT_WRITTEN.has(name)) continue
    const value = headers[name]
    if (value === undefined) continue
    if (name === 'date') hasDate = true
    if (typeof value === 'string') {
      if (!INVALID_HEADER_VALUE.test(value)) head += `${name}: ${value}\r\n`
    } else {
      for (const item of value) if (!INVALID_HEADER_VALUE.test(item)) head += `${name}: ${item}\r\n`
    }
  }
  if (!hasDate) head += `date: ${httpDate()}\r\n`
  if (typeof length === 'number') head += `content-length: ${length}\r\n`
  else if (length === 'chunked') head += 'transfer-encoding: chunked\r\n'
  else {
    const own = headers['content-length']
    if (typeof own === 'string' && /^\d+$/.test(own)) head += `content-length: ${own}\r\n`
  }
  return head + (close ? 'connection: close\r\n\r\n' : 'connection: keep-alive\r\nkeep-alive: timeout=60\r\n\r\n')
}

/** The same answer node's server gets from badRequestOnClientError, for malformed requests. */
/**
 * Writes one piece of a streamed message body, as a chunk when `chunked`, and answers whether the
 * socket can take more (false: pause the source until 'drain'). Shared by the server's responses
 * and the client's requests. An empty piece writes nothing: as a chunk it would read as the last.
 */
export function writeBodyChunk (socket: Socket, chunk: Buffer, chunked: boolean): boolean {
  if (chunk.length === 0) return true
  if (!chunked) return socket.write(chunk)
  // All three writes, always: the framing must stay whole even when the buffer is full.
  socket.cork()
  socket.write(`${chunk.length.toString(16)}\r\n`, 'latin1')
  socket.write(chunk)
  const ok = socket.write('\r\n', 'latin1')
  socket.uncork()
  return ok
}

function badRequestBytes (reason: string): string {
  const body = `malformed HTTP request: ${reason}\n`
  return 'HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n' +
    `x-mesh-error: ${new BadRequestError('').code}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n` + body
}

/** The server side of HTTP/1.1 for both listeners: a connection's bytes in, requests into its handler. */
export interface Http1Server {
  /** Serves HTTP/1.1 on an accepted (TLS or plain) connection through `context.handler`. */
  accept: (socket: Socket, context: ServeContext) => void
}

const kServeContext = Symbol('mesh.http1Context')
type ServedSocket = Socket & { [kServeContext]?: ServeContext }

/**
 * The one HTTP/1.1 server transport: this file's parser for the common case, and node's http
 * server (llhttp) for the connections it hands over, answering malformed bytes 400 as this one does.
 */
export function createHttp1Server (): Http1Server {
  const node = createNodeHttpServer({ keepAliveTimeout: 60_000, requestTimeout: 0 }, (request, response) => {
    serve((request.socket as ServedSocket)[kServeContext]!, request, response)
  })
  node.on('clientError', badRequestOnClientError)
  const handOver = (socket: Socket): void => { node.emit('connection', socket) }
  return {
    accept: (socket, context) => {
      (socket as ServedSocket)[kServeContext] = context
      serveHttp1(socket, context, handOver)
    }
  }
}

/**
 * Serves HTTP/1.1 on `socket` (TLS or plain) through `context.handler`; `fallback` gives the
 * socket, with any bytes read and not consumed put back, to node's http server.
 */
export function serveHttp1 (socket: Socket, context: ServeContext, fallback: (socket: Socket) => void): void {
  new Http1Connection(socket, context, fallback).start()
}

class Http1Connection {
  private readonly socket: Socket
  private readonly context: ServeContext
  private readonly fallback: (socket: Socket) => void
  /** Bytes read and not yet consumed (the next request, possibly partial). */
  private pending: Buffer | null = null
  /** When the head being read began to arrive, for the head timeout. */
  private headStartMs = 0
  /** How much of the unfinished head in `pending` is already known to be clean bytes. */
  private partialChecked = 0
  /** The request in progress; requests are handled one at a time, in order. */
  private current: ProxyRequest | null = null
  private currentIsHead = false
  private currentClose = false
  private streaming: Readable | null = null
  private closed = false
  /** No more requests are read: the connection closes after the current answer. */
  private ending = false
  private readonly onData = (chunk: Buffer): void => { this.read(chunk) }
  private readonly onClose = (): void => { this.close() }
  private readonly onError = (): void => { this.socket.destroy() }
  private readonly onTimeout = (): void => { if (this.current === null) this.socket.destroy() }
  private readonly onAnswer = (answer: ProxyResponse): void => { this.answer(answer) }
  private readonly onFailure = (): void => {
    // The stack ends in `respond`, which never rejects: the caller already left.
    this.socket.destroy()
  }
  private readonly onWritten = (): void => { this.context.connection?.requestEnded() }

  constructor (socket: Socket, context: ServeContext, fallback: (socket: Socket) => void) {
    this.socket = socket
    this.context = context
    this.fallback = fallback
  }

  start (): void {
    const socket = this.socket
    socket.on('data', this.onData)
    socket.on('close', this.onClose)
    socket.on('error', this.onError)
    socket.setTimeout(IDLE_TIMEOUT_MS, this.onTimeout)
  }

  private read (chunk: Buffer): void {
    if (this.ending) return
    const pending = this.pending
    this.pending = pending === null ? chunk : Buffer.concat([pending, chunk])
    if (this.current === null) this.next()
    else if (this.pending.length > MAX_BUFFERED_BYTES) this.socket.pause()
  }

  /** Starts the next complete request in the buffer, if any (called while none is in progress). */
  private next (): void {
    const buffer = this.pending
    if (buffer === null || this.ending || this.closed) return
    // Empty lines (CRLF or bare LF) before a request line are tolerated by llhttp: node's server
    // reads them, so both agree on where the next request starts.
    if (buffer[0] === 13 || buffer[0] === 10) return this.handOver()
    const headEnd = buffer.indexOf(CRLFCRLF)
    if (headEnd < 0) {
      if (buffer.length > MAX_HEAD_BYTES) return this.handOver()
      // Bytes that can never become a valid head (a bare LF would never even end it here) are
      // refused now, as llhttp refuses them, rather than after the timeout. A CR at the very end
      // may still be followed by its LF.
      // Checked from where the last read's check ended, so a head sent a byte at a time costs no more.
      const checkEnd = buffer[buffer.length - 1] === 13 ? buffer.length - 1 : buffer.length
      const invalid = checkHeadBytes(buffer, checkEnd, this.partialChecked)
      if (invalid !== null) return this.reject(invalid)
      this.partialChecked = checkEnd
      if (!canStartRequest(buffer)) return this.reject('invalid method')
      const nowMs = this.context.now()
      if (this.headStartMs === 0) this.headStartMs = nowMs
      else if (nowMs - this.headStartMs > IDLE_TIMEOUT_MS) this.socket.destroy()
      return
    }
    this.headStartMs = 0
    this.partialChecked = 0
    if (headEnd > MAX_HEAD_BYTES) return this.handOver()
    const head = parseHead(buffer, headEnd)
    if (typeof head === 'string') return head === HAND_OVER ? this.handOver() : this.reject(head)
    const bodyStart = headEnd + 4
    const bodyEnd = bodyStart + head.contentLength
    if (buffer.length < bodyEnd) {
      if (this.socket.isPaused()) this.socket.resume()
      return
    }
    this.pending = bodyEnd < buffer.length ? buffer.subarray(bodyEnd) : null
    const context = this.context
    const request = newRequest({
      method: head.method,
      path: head.path,
      authority: head.host,
      headers: head.headers,
      body: head.contentLength > 0 ? buffer.subarray(bodyStart, bodyEnd) : null,
      direction: context.direction,
      source: context.source,
      destination: context.destination,
      startMs: context.now()
    })
    this.current = request
    this.currentIsHead = head.method === 'HEAD'
    this.currentClose = head.close
    if (head.close) this.ending = true
    context.connection?.requestStarted()
    context.handler(request).then(this.onAnswer, this.onFailure)
  }

  private answer (answer: ProxyResponse): void {
    if (this.closed || this.socket.destroyed) {
      discardBody(answer, 'destroy')
      return
    }
    const close = this.currentClose || this.context.draining()
    if (close) this.ending = true
    const status = answer.statusCode
    const bodyless = this.currentIsHead || status === 204 || status === 304 || (status >= 100 && status < 200)
    let body = answer.body
    if (bodyless) {
      discardBody(answer, 'drain')
      this.writeAll(responseHead(answer, null, close), null, close)
      return
    }
    if (body === null || typeof body === 'string' || Buffer.isBuffer(body)) {
      if (typeof body === 'string') body = Buffer.from(body)
      this.writeAll(responseHead(answer, body === null ? 0 : body.length, close), body, close)
      return
    }
    this.stream(answer, body, close)
  }

  /** A complete answer in one write: the head and a small body copied into one buffer. */
  private writeAll (head: string, body: Buffer | null, close: boolean): void {
    const headLength = head.length
    const out = Buffer.allocUnsafe(headLength + (body === null ? 0 : body.length))
    out.write(head, 0, 'latin1')
    if (body !== null) body.copy(out, headLength)
    this.current = null
    if (close) {
      this.socket.end(out, this.onWritten)
      return
    }
    this.socket.write(out, this.onWritten)
    this.continue()
  }

  /** A streamed answer: the upstream's own length if it gave one, chunked otherwise. */
  private stream (answer: ProxyResponse, body: Readable, close: boolean): void {
    const socket = this.socket
    const own = answer.headers['content-length']
    const chunked = !(typeof own === 'string' && /^\d+$/.test(own))
    socket.write(responseHead(answer, chunked ? 'chunked' : null, close), 'latin1')
    this.streaming = body
    const resume = (): void => { body.resume() }
    socket.on('drain', resume)
    body.on('data', (chunk: Buffer) => {
      if (!writeBodyChunk(socket, chunk, chunked)) body.pause()
    })
    body.once('error', () => { socket.destroy() })
    body.once('end', () => {
      socket.off('drain', resume)
      this.streaming = null
      this.current = null
      const last = chunked ? '0\r\n\r\n' : ''
      if (close) socket.end(last, 'latin1', this.onWritten)
      else {
        socket.write(last, 'latin1', this.onWritten)
        this.continue()
      }
    })
  }

  /** After an answer: on to the next pipelined request, reading again if the buffer was full. */
  private continue (): void {
    if (this.pending !== null) this.next()
    if (this.current === null && this.socket.isPaused()) this.socket.resume()
  }

  /** 400 and close: nothing of a malformed request is forwarded, nothing after it is read. */
  private reject (reason: string): void {
    this.ending = true
    this.pending = null
    this.socket.end(badRequestBytes(reason), 'latin1')
  }

  /** Node's http server takes the connection over, starting with the bytes not consumed yet. */
  private handOver (): void {
    const socket = this.socket
    socket.off('data', this.onData)
    socket.off('close', this.onClose)
    socket.off('error', this.onError)
    socket.setTimeout(0)
    socket.off('timeout', this.onTimeout)
    this.ending = true
    socket.pause()
    if (this.pending !== null) socket.unshift(this.pending)
    this.pending = null
    this.fallback(socket)
    socket.resume()
  }

  private close (): void {
    this.closed = true
    this.pending = null
    const streaming = this.streaming
    if (streaming !== null && !streaming.readableEnded) streaming.destroy()
    // A caller that goes away cancels the upstream exchange, as with node's server.
    const request = this.current
    if (request !== null) {
      request.abort?.(new CallerClosedError())
      this.context.connection?.requestEnded()
    }
  }
}
