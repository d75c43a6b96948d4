// Accepted connections and the requests in progress on each, so stop() can drain: idle
// connections close at once, HTTP/1.1 connections close after their current response, HTTP/2
// sessions get GOAWAY and finish their open streams, and whatever is left after `drainMs` is cut.

import type { Socket } from 'node:net'
import type { Http2Session } from 'node:http2'

export class TrackedConnection {
  readonly socket: Socket
  h2Session: Http2Session | null = null
  inflight = 0
  private readonly tracker: ConnectionTracker

  constructor (socket: Socket, tracker: ConnectionTracker) {
    this.socket = socket
    this.tracker = tracker
  }

  requestStarted (): void {
    this.inflight++
  }

  requestEnded (): void {
    this.inflight--
    if (this.inflight === 0 && this.tracker.draining) this.close()
  }

  /** Graceful for HTTP/2 (GOAWAY, open streams finish); immediate for idle HTTP/1.1 and TCP. */
  close (): void {
    if (this.h2Session !== null) this.h2Session.close()
    else this.socket.destroy()
  }
}

export class ConnectionTracker {
  draining = false
  private readonly connections = new Set<TrackedConnection>()
  private readonly emptyWaiters: Array<() => void> = []

  get size (): number {
    return this.connections.size
  }

  track (socket: Socket): TrackedConnection {
    const connection = new TrackedConnection(socket, this)
    this.connections.add(connection)
    socket.once('close', () => {
      this.connections.delete(connection)
      if (this.connections.size === 0) for (const wake of this.emptyWaiters.splice(0)) wake()
    })
    return connection
  }

  /** Stops keep-alive: idle connections close now, busy ones after their last response. */
  drain (): void {
    this.draining = true
    for (const connection of this.connections) {
      if (connection.inflight === 0 || connection.h2Session !== null) connection.close()
    }
  }

  whenEmpty (): Promise<void> {
    if (this.connections.size === 0) return Promise.resolve()
    return new Promise((resolve) => { this.emptyWaiters.push(resolve) })
  }

  destroyAll (): void {
    for (const connection of this.connections) connection.socket.destroy()
  }
}
