// Forwards questions outside our domains to upstream resolvers ("recursors"), as Consul does: each
// recursor in order, each with a timeout; over UDP first and, when the client came over TCP and the
// upstream answer is truncated, again over TCP so the client gets every record. The client's packet
// is forwarded as it is (its id, its EDNS0 size), on a fresh socket per attempt so concurrent
// clients' ids can never be confused.

import dgram from 'node:dgram'
import net from 'node:net'
import {
  InvalidDnsConfigError, RecursorFailedError, RecursorsExhaustedError, RecursorTimeoutError
} from './errors.ts'
import { FLAG_QR, FLAG_TC, frameForTcp, HEADER_SIZE_BYTES } from './wire.ts'

export interface RecursorAddress {
  host: string
  port: number
  /** As configured, for logs and errors. */
  label: string
}

const DNS_PORT = 53
/** A TCP DNS message is at most 65535 bytes plus its 2-byte length. */
const MAX_TCP_MESSAGE_BYTES = 65537

/** Parses "ip", "ip:port", "[ipv6]:port" or a bare IPv6 address. */
export function parseRecursor (text: string): RecursorAddress {
  let host = text
  let port = DNS_PORT
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text)
  if (bracketed !== null) {
    host = bracketed[1]!
    if (bracketed[2] !== undefined) port = Number(bracketed[2])
  } else if (net.isIPv4(text.split(':')[0]!) && text.includes(':')) {
    const [address, portText] = text.split(':') as [string, string]
    host = address
    port = Number(portText)
  }
  if (net.isIP(host) === 0) throw new InvalidDnsConfigError(`recursor "${text}" is not an IP address with an optional port`)
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new InvalidDnsConfigError(`recursor "${text}" has a bad port`)
  return { host, port, label: text }
}

function isAnswerTo (answer: Buffer, query: Buffer): boolean {
  return answer.length >= HEADER_SIZE_BYTES && answer[0] === query[0] && answer[1] === query[1] &&
    (answer.readUInt16BE(2) & FLAG_QR) !== 0
}

function askOverUdp (query: Buffer, recursor: RecursorAddress, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket(net.isIPv6(recursor.host) ? 'udp6' : 'udp4')
    const finish = (error: Error | undefined, answer?: Buffer): void => {
      clearTimeout(timer)
      socket.close()
      if (error !== undefined) reject(error)
      else resolve(answer!)
    }
    const timer = setTimeout(() => finish(new RecursorTimeoutError(recursor.label, timeoutMs)), timeoutMs)
    socket.on('error', (error) => finish(new RecursorFailedError(recursor.label, error.message, { cause: error })))
    socket.on('message', (answer, from) => {
      // Anything else reaching this ephemeral port is ignored, not taken as the answer.
      if (from.port === recursor.port && isAnswerTo(answer, query)) finish(undefined, answer)
    })
    socket.send(query, recursor.port, recursor.host)
  })
}

function askOverTcp (query: Buffer, recursor: RecursorAddress, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: recursor.host, port: recursor.port })
    const chunks: Buffer[] = []
    let receivedBytes = 0
    const finish = (error: Error | undefined, answer?: Buffer): void => {
      clearTimeout(timer)
      socket.destroy()
      if (error !== undefined) reject(error)
      else resolve(answer!)
    }
    const timer = setTimeout(() => finish(new RecursorTimeoutError(recursor.label, timeoutMs)), timeoutMs)
    socket.on('error', (error) => finish(new RecursorFailedError(recursor.label, error.message, { cause: error })))
    socket.on('connect', () => socket.write(frameForTcp(query)))
    socket.on('data', (chunk) => {
      chunks.push(chunk)
      receivedBytes += chunk.length
      const received = Buffer.concat(chunks, receivedBytes)
      if (received.length < 2) return
      const messageBytes = received.readUInt16BE(0)
      if (received.length < messageBytes + 2) {
        if (receivedBytes > MAX_TCP_MESSAGE_BYTES) finish(new RecursorFailedError(recursor.label, 'answer too long'))
        return
      }
      const answer = received.subarray(2, 2 + messageBytes)
      if (isAnswerTo(answer, query)) finish(undefined, answer)
      else finish(new RecursorFailedError(recursor.label, 'TCP answer does not match the query'))
    })
    socket.on('end', () => finish(new RecursorFailedError(recursor.label, 'connection closed before the answer')))
  })
}

export interface ForwardOptions {
  timeoutMs: number
  /** The client asked over TCP: a truncated UDP answer is then fetched again over TCP. */
  clientOverTcp: boolean
  /** Called with each recursor's failure before the next one is tried. */
  onFailure: (error: Error) => void
}

/** The first answer any recursor gives, in order; RecursorsExhaustedError when none does. */
export async function forwardQuery (query: Buffer, recursors: RecursorAddress[], options: ForwardOptions): Promise<Buffer> {
  for (const recursor of recursors) {
    try {
      const answer = await askOverUdp(query, recursor, options.timeoutMs)
      if (options.clientOverTcp && (answer.readUInt16BE(2) & FLAG_TC) !== 0) {
        return await askOverTcp(query, recursor, options.timeoutMs)
      }
      return answer
    } catch (error) {
      options.onFailure(error as Error)
    }
  }
  throw new RecursorsExhaustedError(`no recursor answered (${recursors.map((recursor) => recursor.label).join(', ')})`)
}
