// One-shot request/response over a libp2p stream: the requester writes one JSON message and closes
// its write side; the responder reads it (bounded), answers with one JSON message and closes.
// Used by /mesh/sync/1.0.0 and /mesh/ca/1.0.0. A message over the size bound resets the stream.

import type { Connection, Stream } from '@libp2p/interface'
import type { Libp2p } from 'libp2p'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Logger } from 'pino'

export class MessageTooLargeError extends Error {
  readonly code = 'MESH_ERR_TRANSPORT_MESSAGE_TOO_LARGE'
  constructor (limitBytes: number) {
    super(`message exceeds ${limitBytes} bytes`)
    this.name = 'MessageTooLargeError'
  }
}

export class BadMessageError extends Error {
  readonly code = 'MESH_ERR_TRANSPORT_BAD_MESSAGE'
  constructor (reason: string) {
    super(`bad message: ${reason}`)
    this.name = 'BadMessageError'
  }
}

export const DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024 - 1

async function readAll (stream: Stream, maxBytes: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = []
  let total = 0
  for await (const chunk of stream) {
    const bytes = chunk instanceof Uint8Array ? chunk : chunk.subarray()
    total += bytes.byteLength
    if (total > maxBytes) {
      stream.abort(new MessageTooLargeError(maxBytes))
      throw new MessageTooLargeError(maxBytes)
    }
    chunks.push(bytes)
  }
  return Buffer.concat(chunks, total)
}

function decode (bytes: Uint8Array): unknown {
  try {
    return JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'))
  } catch (error) {
    throw new BadMessageError((error as Error).message)
  }
}

function encode (message: unknown, maxBytes: number): Uint8Array {
  const bytes = Buffer.from(JSON.stringify(message), 'utf8')
  if (bytes.byteLength > maxBytes) throw new MessageTooLargeError(maxBytes)
  return bytes
}

export interface RequestOptions {
  signal?: AbortSignal
  maxBytes?: number
}

/** Sends one request and returns the decoded response (not yet validated: callers validate). */
export async function request (node: Libp2p, target: Multiaddr, protocol: string, message: unknown, options: RequestOptions = {}): Promise<unknown> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_MESSAGE_BYTES
  const stream = await node.dialProtocol(target, protocol, { signal: options.signal })
  try {
    stream.send(encode(message, maxBytes))
    await stream.close({ signal: options.signal })
    return decode(await readAll(stream, maxBytes))
  } catch (error) {
    stream.abort(error as Error)
    throw error
  }
}

export type RequestHandler = (message: unknown, connection: Connection) => Promise<unknown>

/** Registers `handler` for `protocol`; its errors are logged and reset the stream, never thrown. */
export async function handleRequests (node: Libp2p, protocol: string, handler: RequestHandler, log: Logger, options: { maxBytes?: number } = {}): Promise<void> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_MESSAGE_BYTES
  await node.handle(protocol, async (stream, connection) => {
    try {
      const message = decode(await readAll(stream, maxBytes))
      const response = await handler(message, connection)
      stream.send(encode(response, maxBytes))
      await stream.close()
    } catch (error) {
      log.warn({ protocol, peer: connection.remotePeer.toString(), err: (error as Error).message }, 'request rejected')
      stream.abort(error as Error)
    }
  }, { maxInboundStreams: 64, runOnLimitedConnection: false })
}
