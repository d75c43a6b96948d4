// The UDP socket that carries SWIM probes and gossip. With a cluster key every datagram is sealed
// with AES-256-GCM (version byte, 12-byte random nonce, ciphertext, 16-byte tag), as memberlist
// does: a datagram that fails authentication is dropped and counted, and the first few are logged
// with the likely reason (another key, or none). Without a key datagrams are plain, version 0.

import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import dgram from 'node:dgram'
import type { Logger } from 'pino'

const VERSION_PLAIN = 0
const VERSION_SEALED = 1
const NONCE_BYTES = 12
const TAG_BYTES = 16
/** Largest datagram accepted; larger ones are dropped before any parsing. */
export const MAX_DATAGRAM_BYTES = 64 * 1024
const REJECTION_LOG_LIMIT = 5

export interface DatagramStats { received: number, sent: number, rejected: number }

export interface DatagramTransportInit {
  bindAddress: string
  port: number
  key: Uint8Array | undefined
  log: Logger
  onMessage: (payload: Buffer, from: string) => void
}

export class DatagramTransport {
  readonly stats: DatagramStats = { received: 0, sent: 0, rejected: 0 }
  private readonly socket: dgram.Socket
  private readonly key: Buffer | undefined
  private readonly init: DatagramTransportInit
  private rejectionsLogged = 0

  constructor (init: DatagramTransportInit) {
    this.init = init
    this.key = init.key === undefined ? undefined : Buffer.from(init.key)
    this.socket = dgram.createSocket({ type: init.bindAddress.includes(':') ? 'udp6' : 'udp4', recvBufferSize: 4 * 1024 * 1024 })
    this.socket.on('message', (data, remote) => this.receive(data, `${remote.address}:${remote.port}`))
    this.socket.on('error', (error) => init.log.warn({ err: error.message }, 'udp socket error'))
  }

  async start (): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.socket.once('error', reject)
      this.socket.bind(this.init.port, this.init.bindAddress, () => {
        this.socket.off('error', reject)
        resolve()
      })
    })
    return this.socket.address().port
  }

  async stop (): Promise<void> {
    await new Promise<void>((resolve) => this.socket.close(() => resolve()))
  }

  send (payload: Uint8Array, to: string): void {
    const separator = to.lastIndexOf(':')
    const host = to.slice(0, separator).replace(/^\[|\]$/g, '')
    const port = Number(to.slice(separator + 1))
    if (!Number.isInteger(port) || port <= 0 || port > 65535) return
    const packet = this.seal(payload)
    if (packet.byteLength > MAX_DATAGRAM_BYTES) return
    this.stats.sent++
    this.socket.send(packet, port, host, (error) => {
      if (error !== null && error !== undefined) this.init.log.debug({ to, err: error.message }, 'udp send failed')
    })
  }

  private seal (payload: Uint8Array): Buffer {
    if (this.key === undefined) return Buffer.concat([Buffer.from([VERSION_PLAIN]), payload])
    const nonce = randomBytes(NONCE_BYTES)
    const cipher = createCipheriv('aes-256-gcm', this.key, nonce)
    const body = Buffer.concat([cipher.update(payload), cipher.final()])
    return Buffer.concat([Buffer.from([VERSION_SEALED]), nonce, body, cipher.getAuthTag()])
  }

  private open (packet: Buffer): Buffer | string {
    const version = packet[0]
    if (this.key === undefined) {
      if (version === VERSION_SEALED) return 'the sender encrypts with a cluster key and this agent has none (--encrypt)'
      if (version !== VERSION_PLAIN) return `unknown datagram version ${version}`
      return packet.subarray(1)
    }
    if (version === VERSION_PLAIN) return 'the sender has no cluster key and this agent requires one (--encrypt)'
    if (version !== VERSION_SEALED || packet.byteLength < 1 + NONCE_BYTES + TAG_BYTES) return 'malformed sealed datagram'
    try {
      const nonce = packet.subarray(1, 1 + NONCE_BYTES)
      const tag = packet.subarray(packet.byteLength - TAG_BYTES)
      const decipher = createDecipheriv('aes-256-gcm', this.key, nonce)
      decipher.setAuthTag(tag)
      return Buffer.concat([decipher.update(packet.subarray(1 + NONCE_BYTES, packet.byteLength - TAG_BYTES)), decipher.final()])
    } catch {
      return 'authentication failed: the sender uses another cluster key'
    }
  }

  private receive (packet: Buffer, from: string): void {
    if (packet.byteLength === 0 || packet.byteLength > MAX_DATAGRAM_BYTES) { this.stats.rejected++; return }
    const opened = this.open(packet)
    if (typeof opened === 'string') {
      this.stats.rejected++
      if (this.rejectionsLogged < REJECTION_LOG_LIMIT) {
        this.rejectionsLogged++
        this.init.log.warn({ from, reason: opened }, 'dropped a gossip datagram')
      }
      return
    }
    this.stats.received++
    this.init.onMessage(opened, from)
  }
}
