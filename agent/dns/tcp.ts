// DNS over TCP (RFC 1035 4.2.2, RFC 7766): 2-byte length framing, several queries per connection,
// answers possibly out of order (each carries its query's id). Bounded against abuse: the listener
// guard (api/connection-limits.ts: connections in all and per client, first byte within the
// handshake deadline, idle connections closed), at most one partial message buffered (64 KiB) per
// connection, and reading and answering paused while `maxPendingPerConnection` answers are
// outstanding or the client is not reading what we write (so a client that never reads costs at
// most one answer's worth of write buffer).

import net from 'node:net'
import { frameForTcp } from './wire.ts'
import { monotonicClock } from '../../api/clock.ts'
import type { Clock } from '../../api/clock.ts'
import { guardServer } from '../../api/connection-limits.ts'
import type { ConnectionLimits, GuardLog, ListenerGuard } from '../../api/connection-limits.ts'

export interface TcpDnsListenerInit {
  limits: ConnectionLimits
  maxPendingPerConnection: number
  clock?: Clock
  log?: GuardLog
  /** Answers one message; undefined means no answer (the query is dropped). */
  onMessage: (message: Buffer) => Buffer | undefined | Promise<Buffer | undefined>
  onError: (error: Error) => void
}

export class TcpDnsListener {
  readonly server: net.Server
  readonly init: TcpDnsListenerInit
  readonly sockets = new Set<net.Socket>()
  readonly guard: ListenerGuard

  constructor (init: TcpDnsListenerInit) {
    this.init = init
    this.server = net.createServer({ noDelay: true }, (socket) => this.accept(socket))
    this.guard = guardServer(this.server, {
      listener: 'dns-tcp',
      limits: init.limits,
      handshake: 'first-byte',
      clock: init.clock ?? monotonicClock,
      ...(init.log === undefined ? {} : { log: init.log })
    })
  }

  listen (port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (error: Error): void => reject(error)
      this.server.once('error', onError)
      this.server.listen({ port, host, exclusive: true }, () => {
        this.server.off('error', onError)
        this.server.on('error', (error) => this.init.onError(error))
        resolve((this.server.address() as net.AddressInfo).port)
      })
    })
  }

  close (): Promise<void> {
    this.guard.stop()
    for (const socket of this.sockets) socket.destroy()
    return new Promise((resolve) => this.server.close(() => resolve()))
  }

  accept (socket: net.Socket): void {
    this.sockets.add(socket)
    socket.on('close', () => this.sockets.delete(socket))
    socket.on('error', () => socket.destroy())
    let buffered: Buffer = Buffer.alloc(0)
    let pending = 0
    let waitingForDrain = false
    const busy = (): boolean => waitingForDrain || pending >= this.init.maxPendingPerConnection
    const send = (answer: Buffer | undefined): void => {
      if (answer === undefined || socket.destroyed) return
      if (!socket.write(frameForTcp(answer))) waitingForDrain = true
    }
    // Answers the complete messages buffered, until the client stops reading what we write or too
    // many answers are outstanding: then the rest waits in `buffered` (the socket is paused, so it
    // holds at most the last chunk read) and nothing more is written until the client catches up.
    const answerBuffered = (): void => {
      while (buffered.length >= 2 && !busy() && !socket.destroyed) {
        const messageBytes = buffered.readUInt16BE(0)
        if (messageBytes === 0) { socket.destroy(); return }
        if (buffered.length < messageBytes + 2) break
        const message = buffered.subarray(2, messageBytes + 2)
        buffered = buffered.subarray(messageBytes + 2)
        let answer: ReturnType<TcpDnsListenerInit['onMessage']>
        try {
          answer = this.init.onMessage(message)
        } catch (error) {
          this.init.onError(error as Error)
          continue
        }
        if (answer instanceof Promise) {
          pending++
          answer.then(send, (error: Error) => this.init.onError(error)).finally(() => { pending--; answerBuffered() })
        } else {
          send(answer)
        }
      }
      // Keep only what is left: a copy, so a large chunk's memory is not held by a small tail.
      if (buffered.length > 0 && buffered.byteOffset !== 0) buffered = Buffer.from(buffered)
      if (socket.destroyed) return
      if (busy()) socket.pause()
      else socket.resume()
    }
    // One drain listener per connection, however many answers find the client not reading.
    socket.on('drain', () => { waitingForDrain = false; answerBuffered() })
    socket.on('data', (chunk) => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk])
      answerBuffered()
    })
  }
}
