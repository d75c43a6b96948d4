// A hand-written HTTP/1.1 keep-alive client pool, the forwarder's only one: a request whose body
// is absent or already in memory goes out in one write, and the answer is parsed from the
// socket's bytes, skipping undici's request objects and its wasm parser,
// which cost about as much CPU as the whole server side (docs/benchmarks/proxy.md). It is the
// proxy's one HTTP client: a request body streamed from the caller (chunked, or larger than the
// server side reads whole) is written as it arrives, with its Content-Length when the caller
// gave one and chunked otherwise.
//
// The response parser is as strict as the server's (http1.ts): a head with bare LF or CR,
// obs-fold, invalid names, duplicate Content-Length, Transfer-Encoding other than chunked or
// together with Content-Length is an error and the connection is dropped, never reused.

import type { IncomingHttpHeaders } from 'node:http'
import { connect as netConnect } from 'node:net'
import type { Socket } from 'node:net'
import { connect as tlsConnect } from 'node:tls'
import type { PeerCertificate, SecureContext } from 'node:tls'
import type { Readable } from 'node:stream'
import type { ExchangeHandler, RequestBody, UpstreamPool } from './handler.ts'
import { addHeader, checkHeadBytes, readHeaderLines, writeBodyChunk } from './http1.ts'

export interface Http1PoolInit {
  host: string
  port: number
  /** Mutual TLS to a remote sidecar; absent for the plain local application. */
  tls?: { secureContext: SecureContext, checkServerIdentity: (host: string, certificate: PeerCertificate) => Error | undefined }
  /** Connections kept; beyond this requests wait for one to be free. */
  connections: number
}

/** Response heads larger than this are refused (undici's and node's default limit). */
const MAX_HEAD_BYTES = 16 * 1024
/** Idle time before a connection is dropped when the server gives no `Keep-Alive: timeout` (undici's default). */
const DEFAULT_KEEP_ALIVE_MS = 4000
/** Safety margin under the server's announced keep-alive timeout, so we never send on a connection it is closing. */
const KEEP_ALIVE_MARGIN_MS = 1000
const MAX_KEEP_ALIVE_MS = 600_000
const CONNECT_TIMEOUT_MS = 10_000
/** No byte for this long in the middle of an exchange fails it (undici's headers and body timeouts). */
const EXCHANGE_IDLE_TIMEOUT_MS = 300_000
const CRLFCRLF = Buffer.from('\r\n\r\n')
/** Methods whose request carries a body by definition: an empty one is sent with Content-Length: 0. */
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH'])

let lastKeepAlive = ''
let lastKeepAliveMs = DEFAULT_KEEP_ALIVE_MS
/** How long an idle connection may be kept, from the server's `Keep-Alive` header (the same value on every answer: remembered). */
function keepAliveTimeout (value: string): number {
  if (value !== lastKeepAlive) {
    const match = /timeout=(\d+)/i.exec(value)
    lastKeepAlive = value
    lastKeepAliveMs = match === null ? DEFAULT_KEEP_ALIVE_MS : Math.min(MAX_KEEP_ALIVE_MS, Number(match[1]) * 1000 - KEEP_ALIVE_MARGIN_MS)
  }
  return lastKeepAliveMs
}

class PoolError extends Error {
  readonly code: string
  constructor (code: string, message: string) {
    super(message)
    this.code = code
  }
}

interface Exchange {
  method: string
  /** Request line and headers, each line ending in CRLF, without the empty line. */
  head: string
  body: RequestBody
  handler: ExchangeHandler
}

/** How the response body in progress is delimited (None: a head is expected). */
const Body = { None: 0, Length: 1, Chunked: 2, UntilClose: 3 } as const
/** Where in the chunked framing the parser is. */
const Chunk = { Size: 0, Data: 1, DataEnd: 2, Trailer: 3 } as const

const now = (): number => performance.now()

export class Http1Pool implements UpstreamPool {
  readonly init: Http1PoolInit
  /** Every connection open or opening, for destroy(). */
  readonly connections = new Set<Connection>()
  private readonly idle: Connection[] = []
  private readonly waiting: Exchange[] = []
  private open = 0
  private closed = false
  private whenClosed: (() => void) | null = null
  private sweeper: NodeJS.Timeout | null = null
  /**
   * The last TLS session ticket the server sent; the next connection offers it and resumes
   * instead of running a full handshake with certificates. A pool has one secure context and
   * one endpoint for its life (rotation makes new pools), so the ticket is always for this
   * identity and this server; a server with new keys refuses it and the handshake is a full one.
   * node runs checkServerIdentity only on full handshakes (a resumed TLS 1.3 client session has
   * no peer certificate to show): only the server that passed it holds the keys to resume.
   */
  tlsSession: Buffer | undefined

  constructor (init: Http1PoolInit) {
    this.init = init
  }

  /** Sends a request; `head` is its request line and headers (Content-Length and Connection are the pool's). */
  send (method: string, head: string, body: RequestBody, handler: ExchangeHandler): void {
    const exchange: Exchange = { method, head, body, handler }
    if (this.closed) {
      queueMicrotask(() => { handler.onError(new PoolError('UND_ERR_CLOSED', 'the connection pool is closed')) })
      return
    }
    const nowMs = now()
    for (let connection = this.idle.pop(); connection !== undefined; connection = this.idle.pop()) {
      if (nowMs - connection.idleSinceMs < connection.keepAliveMs && !connection.socket.destroyed) {
        connection.run(exchange)
        return
      }
      connection.socket.destroy()
    }
    if (this.open < this.init.connections) {
      this.open++
      // The new connection is this request's: it fails with the connection, or runs on it.
      new Connection(this, exchange).connect()
      return
    }
    this.waiting.push(exchange)
  }

  /** A connection finished an exchange and may be reused. */
  release (connection: Connection): void {
    const next = this.waiting.shift()
    if (next !== undefined) {
      connection.run(next)
      return
    }
    if (this.closed) {
      connection.socket.destroy()
      return
    }
    connection.idleSinceMs = now()
    this.idle.push(connection)
    if (this.sweeper === null) {
      this.sweeper = setInterval(() => { this.sweep() }, 1000)
      this.sweeper.unref()
    }
  }

  /** A connection closed (or failed to open). */
  gone (connection: Connection): void {
    this.open--
    const index = this.idle.indexOf(connection)
    if (index >= 0) this.idle.splice(index, 1)
    if (!this.closed && this.waiting.length > 0 && this.open < this.init.connections) {
      this.open++
      new Connection(this, this.waiting.shift()!).connect()
    }
    if (this.closed && this.open === 0) this.whenClosed?.()
  }

  private sweep (): void {
    const nowMs = now()
    for (let i = this.idle.length - 1; i >= 0; i--) {
      const connection = this.idle[i]!
      if (nowMs - connection.idleSinceMs < connection.keepAliveMs) continue
      this.idle.splice(i, 1)
      connection.socket.destroy()
    }
    if (this.idle.length === 0 && this.sweeper !== null) {
      clearInterval(this.sweeper)
      this.sweeper = null
    }
  }

  /** Lets running and waiting requests finish, then closes every connection. */
  close (): Promise<void> {
    return this.finish(false)
  }

  /** Closes every connection now; requests in progress fail. */
  destroy (): Promise<void> {
    return this.finish(true)
  }

  private finish (now: boolean): Promise<void> {
    this.closed = true
    if (this.sweeper !== null) clearInterval(this.sweeper)
    this.sweeper = null
    for (const connection of this.idle.splice(0)) connection.socket.destroy()
    if (now) {
      for (const exchange of this.waiting.splice(0)) exchange.handler.onError(new PoolError('UND_ERR_DESTROYED', 'the connection pool was destroyed'))
      for (const connection of [...this.connections]) connection.socket.destroy()
    }
    return this.open === 0 ? Promise.resolve() : new Promise<void>((resolve) => { this.whenClosed = resolve })
  }
}

/** One keep-alive connection and the exchange on it (one at a time: no pipelining). */
class Connection {
  readonly pool: Http1Pool
  socket!: Socket
  idleSinceMs = 0
  keepAliveMs = DEFAULT_KEEP_ALIVE_MS
  private current: Exchange | null
  private ready = false
  /** The current exchange's request was written: failing it now costs the connection. */
  private sent = false
  /** A streamed request body is still being written. */
  private bodyPending = false
  private ended = false
  // Response parsing state.
  private buffer: Buffer | null = null
  private body: number = Body.None
  private remaining = 0
  private chunk: number = Chunk.Size
  private reusable = true
  private readonly onData = (data: Buffer): void => { this.read(data) }
  private readonly resume = (): void => { this.socket.resume() }
  private readonly abort = (reason: Error): void => { this.fail(reason) }

  constructor (pool: Http1Pool, first: Exchange) {
    this.pool = pool
    this.current = first
  }

  connect (): void {
    const { host, port, tls } = this.pool.init
    const socket = tls === undefined
      ? netConnect({ host, port, noDelay: true })
      : tlsConnect({
        host,
        port,
        secureContext: tls.secureContext,
        rejectUnauthorized: true,
        checkServerIdentity: tls.checkServerIdentity,
        ALPNProtocols: ['http/1.1'],
        session: this.pool.tlsSession
      })
    // Under TLS 1.3 tickets arrive after the handshake (node emits them only when listened to).
    if (tls !== undefined) socket.on('session', (ticket: Buffer) => { this.pool.tlsSession = ticket })
    this.socket = socket
    this.pool.connections.add(this)
    socket.setTimeout(CONNECT_TIMEOUT_MS, () => {
      socket.destroy(this.ready ? new PoolError('UND_ERR_SOCKET', 'no answer within the exchange timeout') : new PoolError('UND_ERR_CONNECT_TIMEOUT', 'connect timed out'))
    })
    socket.once(tls === undefined ? 'connect' : 'secureConnect', () => {
      this.ready = true
      if (tls !== undefined) socket.setNoDelay(true)
      socket.setTimeout(EXCHANGE_IDLE_TIMEOUT_MS)
      const first = this.current
      this.current = null
      if (first === null) this.pool.release(this)
      else this.run(first)
    })
    socket.on('data', this.onData)
    socket.on('end', () => {
      this.ended = true
      // A body delimited by the end of the connection is complete now.
      if (this.current !== null && this.body === Body.UntilClose && this.buffer === null) this.complete()
    })
    socket.on('error', (error: Error) => { this.fail(error) })
    socket.once('close', () => {
      this.pool.connections.delete(this)
      this.fail(new PoolError('UND_ERR_SOCKET', 'the other side closed the connection'))
      this.pool.gone(this)
    })
  }

  /** Sends `exchange` on this (connected, idle) connection. */
  run (exchange: Exchange): void {
    this.current = exchange
    this.sent = false
    this.bodyPending = false
    this.body = Body.None
    this.buffer = null
    exchange.handler.onConnect(this.abort)
    if (this.current !== exchange) return
    this.sent = true
    const body = exchange.body
    let head = exchange.head
    if (body !== null && !Buffer.isBuffer(body)) {
      this.streamBody(exchange, head, body.stream, body.length)
      return
    }
    if (body !== null) head += `content-length: ${body.length}\r\n`
    else if (BODY_METHODS.has(exchange.method)) head += 'content-length: 0\r\n'
    head += 'connection: keep-alive\r\n\r\n'
    if (body === null || body.length === 0) {
      this.socket.write(head, 'latin1')
      return
    }
    const out = Buffer.allocUnsafe(head.length + body.length)
    out.write(head, 0, 'latin1')
    body.copy(out, head.length)
    this.socket.write(out)
  }

  /**
   * Writes a streamed request body as it arrives, with backpressure both ways: its own length
   * when known, chunked otherwise. The connection is reused only once the whole body is out.
   */
  private streamBody (exchange: Exchange, head: string, stream: Readable, length: number | null): void {
    const socket = this.socket
    const chunked = length === null
    this.bodyPending = true
    socket.write(head + (chunked ? 'transfer-encoding: chunked\r\n' : `content-length: ${length}\r\n`) + 'connection: keep-alive\r\n\r\n', 'latin1')
    const resume = (): void => { stream.resume() }
    const done = (): void => {
      socket.off('drain', resume)
      stream.off('data', onData)
      stream.off('end', onEnd)
      stream.off('error', onError)
    }
    const onData = (chunk: Buffer): void => {
      if (this.current !== exchange || socket.destroyed) {
        done()
        return
      }
      if (!writeBodyChunk(socket, chunk, chunked)) stream.pause()
    }
    const onEnd = (): void => {
      done()
      if (socket.destroyed) return
      if (chunked) socket.write('0\r\n\r\n', 'latin1')
      this.bodyPending = false
      // The answer may have come first: the connection is free only now.
      if (this.current === null && this.reusable && !this.ended && this.buffer === null) this.pool.release(this)
    }
    const onError = (error: Error): void => {
      done()
      // A body cut short leaves the message unfinished: the connection cannot carry another.
      if (this.current === exchange) this.fail(error)
      else socket.destroy()
    }
    socket.on('drain', resume)
    stream.on('data', onData)
    stream.once('end', onEnd)
    stream.once('error', onError)
  }

  /** Ends the exchange in progress with an error; the connection is not reused. */
  private fail (error: Error): void {
    const exchange = this.current
    if (exchange === null) {
      if (!this.ready) return
      this.socket.destroy()
      return
    }
    this.current = null
    if (!this.sent && this.ready && !this.socket.destroyed) {
      // Cancelled as it got the connection, before anything was written: the connection is clean.
      this.pool.release(this)
    } else {
      this.reusable = false
      this.socket.destroy()
    }
    exchange.handler.onError(error)
  }

  private complete (): void {
    const exchange = this.current!
    this.current = null
    // An answer before the whole request body is out: the connection is released when the
    // body ends (streamBody), or closed if that body never ends.
    if (this.bodyPending) {
      if (!this.reusable || this.ended) this.socket.destroy()
    } else if (this.reusable && !this.ended && this.buffer === null) this.pool.release(this)
    else this.socket.destroy()
    exchange.handler.onComplete()
  }

  private read (data: Buffer): void {
    const exchange = this.current
    if (exchange === null) {
      // Bytes nobody asked for: the connection is out of step, never reuse it.
      this.socket.destroy()
      return
    }
    let buffer = this.buffer === null ? data : Buffer.concat([this.buffer, data])
    this.buffer = null
    while (this.current === exchange) {
      if (this.body === Body.None) {
        const headEnd = buffer.indexOf(CRLFCRLF)
        if (headEnd < 0) {
          if (buffer.length > MAX_HEAD_BYTES) return this.fail(new PoolError('UND_ERR_HEADERS_OVERFLOW', 'response head too large'))
          this.buffer = buffer
          return
        }
        const start = this.parseHead(exchange, buffer, headEnd)
        if (start === false || this.current !== exchange) return
        buffer = buffer.subarray(headEnd + 4)
        if (this.body === Body.None) {
          // A 1xx interim answer: the real one follows.
          if (buffer.length === 0) return
          continue
        }
        if (this.remaining === 0 && this.body === Body.Length) {
          this.body = Body.None
          if (buffer.length > 0) this.reusable = false
          return this.complete()
        }
      }
      if (buffer.length === 0) return
      if (this.body === Body.Length || this.body === Body.UntilClose) {
        const take = this.body === Body.UntilClose ? buffer.length : Math.min(buffer.length, this.remaining)
        const piece = take === buffer.length ? buffer : buffer.subarray(0, take)
        this.remaining -= take
        if (!exchange.handler.onData(piece)) this.socket.pause()
        if (this.current !== exchange) return
        if (this.body === Body.Length && this.remaining === 0) {
          this.body = Body.None
          if (take < buffer.length) this.reusable = false
          return this.complete()
        }
        return
      }
      // Chunked.
      const rest = this.readChunked(exchange, buffer)
      if (rest === null) return
      buffer = rest
    }
  }

  /** Consumes chunked framing; null when all of `buffer` was used (or the exchange ended). */
  private readChunked (exchange: Exchange, input: Buffer): Buffer | null {
    let buffer = input
    while (buffer.length > 0 && this.current === exchange) {
      if (this.chunk === Chunk.Data) {
        const take = Math.min(buffer.length, this.remaining)
        this.remaining -= take
        const piece = take === buffer.length ? buffer : buffer.subarray(0, take)
        buffer = buffer.subarray(take)
        if (!exchange.handler.onData(piece)) this.socket.pause()
        if (this.remaining === 0) this.chunk = Chunk.DataEnd
        continue
      }
      const lineEnd = buffer.indexOf('\r\n')
      if (lineEnd < 0) {
        if (buffer.length > MAX_HEAD_BYTES) {
          this.fail(new PoolError('UND_ERR_INVALID_ARG', 'chunk framing line too long'))
          return null
        }
        this.buffer = buffer
        return null
      }
      const lineBytes = buffer
      const line = buffer.toString('latin1', 0, lineEnd)
      buffer = buffer.subarray(lineEnd + 2)
      if (this.chunk === Chunk.DataEnd) {
        if (lineEnd !== 0) {
          this.fail(new PoolError('UND_ERR_INVALID_ARG', 'chunk data longer than its size'))
          return null
        }
        this.chunk = Chunk.Size
      } else if (this.chunk === Chunk.Size) {
        const match = /^([0-9a-fA-F]{1,8})(?:[ \t]*;[^\r\n]*)?$/.exec(line)
        if (match === null) {
          this.fail(new PoolError('UND_ERR_INVALID_ARG', 'invalid chunk size'))
          return null
        }
        this.remaining = parseInt(match[1]!, 16)
        this.chunk = this.remaining === 0 ? Chunk.Trailer : Chunk.Data
      } else {
        // Trailers are dropped; an empty line ends the message.
        if (lineEnd === 0) {
          this.body = Body.None
          if (buffer.length > 0) this.reusable = false
          this.complete()
          return null
        }
        if (checkHeadBytes(lineBytes, lineEnd) !== null) {
          this.fail(new PoolError('UND_ERR_INVALID_ARG', 'invalid trailer'))
          return null
        }
      }
    }
    return buffer.length > 0 ? buffer : null
  }

  /** Parses a response head and tells the handler; false when the exchange ended on an error. */
  private parseHead (exchange: Exchange, buffer: Buffer, end: number): boolean {
    const invalid = checkHeadBytes(buffer, end)
    const bad = (why: string): false => {
      this.fail(new PoolError('HPE_INVALID_RESPONSE', `invalid response: ${why}`))
      return false
    }
    if (invalid !== null) return bad(invalid)
    const text = buffer.toString('latin1', 0, end)
    const n = text.length
    let lineEnd = text.indexOf('\r\n')
    if (lineEnd < 0) lineEnd = n
    const http10 = text.startsWith('HTTP/1.0 ')
    if (!http10 && !text.startsWith('HTTP/1.1 ')) return bad('not HTTP/1.1')
    const d0 = text.charCodeAt(9) - 48
    const d1 = text.charCodeAt(10) - 48
    const d2 = text.charCodeAt(11) - 48
    if (!(d0 >= 1 && d0 <= 9 && d1 >= 0 && d1 <= 9 && d2 >= 0 && d2 <= 9) || lineEnd < 12 || (lineEnd > 12 && text.charCodeAt(12) !== 32)) return bad('malformed status line')
    const statusCode = d0 * 100 + d1 * 10 + d2
    const headers: IncomingHttpHeaders = {}
    let contentLength = -1
    let chunked = false
    let transferEncoding = false
    let close = http10
    let keepAliveMs = DEFAULT_KEEP_ALIVE_MS
    const refused = readHeaderLines(text, lineEnd + 2, (name, value) => {
      if (name === 'content-length') {
        if (contentLength >= 0) return 'duplicate Content-Length'
        if (!/^\d{1,15}$/.test(value)) return 'invalid Content-Length'
        contentLength = Number(value)
      } else if (name === 'transfer-encoding') {
        if (transferEncoding || value.toLowerCase() !== 'chunked') return 'unsupported Transfer-Encoding'
        transferEncoding = true
        chunked = true
      } else if (name === 'connection') {
        const lower = value.toLowerCase()
        if (lower.includes('close')) close = true
        else if (http10 && lower.includes('keep-alive')) close = false
      } else if (name === 'keep-alive') {
        keepAliveMs = keepAliveTimeout(value)
      }
      addHeader(headers, name, value)
      return null
    })
    if (refused !== null) return bad(refused)
    if (chunked && contentLength >= 0) return bad('both Transfer-Encoding and Content-Length')
    if (statusCode < 200) {
      if (statusCode === 101) return bad('unexpected protocol switch')
      this.body = Body.None
      return true
    }
    this.keepAliveMs = keepAliveMs
    if (close) this.reusable = false
    const bodyless = exchange.method === 'HEAD' || statusCode === 204 || statusCode === 304
    if (bodyless) {
      this.body = Body.Length
      this.remaining = 0
    } else if (chunked) {
      this.body = Body.Chunked
      this.chunk = Chunk.Size
    } else if (contentLength >= 0) {
      this.body = Body.Length
      this.remaining = contentLength
    } else {
      this.body = Body.UntilClose
      this.reusable = false
    }
    if (!exchange.handler.onHeaders(statusCode, headers, this.resume)) this.socket.pause()
    return this.current === exchange
  }
}
