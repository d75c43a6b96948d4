// The one guard every listener of mesh sits behind (sidecar inbound and upstream listeners, the
// HTTP API, DNS over TCP, libp2p's TCP listener): a cap on open connections per listener, a cap per
// source address, a handshake deadline, and an idle timeout. Without them a peer that opens
// connections and sends nothing (or trickles a ClientHello) holds a file descriptor and its socket
// buffers for good, and a few tens of thousands of them exhaust the process.
//
// - A connection over a cap is destroyed before the server sees it: no TLS socket, no HTTP parser,
//   no buffers are made for it, so a flood costs a file descriptor for microseconds.
// - Handshake deadline: `tls` — the TLS handshake must complete (the server's 'secureConnection')
//   within `handshakeTimeoutMs`; `first-byte` — the client must have sent at least one byte (for
//   protocols where the client speaks first: HTTP, DNS, libp2p); `none` — no deadline (a tcp-mode
//   upstream may carry a protocol where the server speaks first).
// - Idle: a connection that neither read nor wrote a byte for `idleTimeoutMs` is destroyed. It is
//   found by a sweep every quarter of the timeout that compares the socket's byte counters, so the
//   hot path (every read and write) costs nothing; a connection closes between 1 and 1.25 times
//   the timeout after its last byte.
//
// Time comes from the injected `Clock` (api/clock.ts), so tests drive deadlines without waiting.

import type { EventEmitter } from 'node:events'
import type { Clock, TimerHandle } from './clock.ts'

export interface ConnectionLimits {
  /** Open connections on this listener at most; more are refused. */
  maxConnections: number
  /** Open connections from one source address at most; more are refused. */
  maxConnectionsPerSource: number
  /** Time allowed for the handshake (see `HandshakeKind`); 0 disables the deadline. */
  handshakeTimeoutMs: number
  /** A connection silent both ways this long is closed; 0 disables the timeout. */
  idleTimeoutMs: number
}

export type HandshakeKind = 'tls' | 'first-byte' | 'none'

export type RefusalReason = 'listener-cap' | 'source-cap'
export type TimeoutReason = 'handshake-timeout' | 'idle-timeout'

export interface ListenerGuardStats {
  active: number
  /** Most connections open at once since the guard started. */
  peakActive: number
  /** Distinct source addresses with an open connection. */
  sources: number
  refusedListenerCap: number
  refusedSourceCap: number
  handshakeTimeouts: number
  idleTimeouts: number
  /** The limits in force. */
  limits: ConnectionLimits
}

/** What the guard needs of a socket: net.Socket has all of it; tests pass fakes. */
export interface GuardedSocket extends Pick<EventEmitter, 'once'> {
  readonly remoteAddress?: string | undefined
  readonly remotePort?: number | undefined
  readonly bytesRead: number
  readonly bytesWritten: number
  readonly destroyed: boolean
  destroy: () => void
}

/** The few methods of net.Server / tls.Server the guard uses. */
export interface GuardedServer extends Pick<EventEmitter, 'on' | 'listeners' | 'removeAllListeners'> {}

export interface GuardLog {
  warn: (fields: Record<string, unknown>, message: string) => void
}

export interface ListenerGuardInit {
  /** Names the listener in logs and errors ("sidecar web inbound", "http", "dns-tcp", "gossip"). */
  listener: string
  limits: ConnectionLimits
  handshake: HandshakeKind
  clock: Clock
  log?: GuardLog
  /** Called for every refusal and every timeout (metrics). */
  onEvent?: (event: RefusalReason | TimeoutReason) => void
}

/** Refusals and timeouts are logged at most this often per listener, with the counts since. */
export const GUARD_LOG_INTERVAL_MS = 10_000

export class InvalidConnectionLimitsError extends Error {
  readonly code = 'MESH_ERR_CONNECTION_LIMITS_INVALID'
  constructor (message: string) {
    super(message)
    this.name = 'InvalidConnectionLimitsError'
  }
}

export function validateConnectionLimits (limits: ConnectionLimits, listener: string): ConnectionLimits {
  const positiveInteger = (value: unknown, field: string): void => {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
      throw new InvalidConnectionLimitsError(`${listener}: ${field} must be a positive integer, got ${String(value)}`)
    }
  }
  const duration = (value: unknown, field: string): void => {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      throw new InvalidConnectionLimitsError(`${listener}: ${field} must be a duration of 0 ms or more, got ${String(value)}`)
    }
  }
  positiveInteger(limits.maxConnections, 'maxConnections')
  positiveInteger(limits.maxConnectionsPerSource, 'maxConnectionsPerSource')
  duration(limits.handshakeTimeoutMs, 'handshakeTimeoutMs')
  duration(limits.idleTimeoutMs, 'idleTimeoutMs')
  return limits
}

interface Tracked {
  socket: GuardedSocket
  source: string
  key: string
  handshakeTimer: TimerHandle | undefined
  /** bytesRead + bytesWritten at the last sweep that saw it change. */
  lastBytes: number
  lastActiveMs: number
}

function endpointKey (address: string | undefined, port: number | undefined): string {
  return `${address ?? ''}|${port ?? ''}`
}

export class ListenerGuard {
  private limits: ConnectionLimits
  private readonly init: ListenerGuardInit
  private readonly tracked = new Set<Tracked>()
  private readonly byKey = new Map<string, Tracked>()
  private readonly perSource = new Map<string, number>()
  private sweepTimer: TimerHandle | undefined
  private readonly counts: Omit<ListenerGuardStats, 'limits'> = { active: 0, peakActive: 0, sources: 0, refusedListenerCap: 0, refusedSourceCap: 0, handshakeTimeouts: 0, idleTimeouts: 0 }
  private unlogged = new Map<RefusalReason | TimeoutReason, number>()
  private lastLogMs = -Infinity
  private lastSource = ''
  private stopped = false

  constructor (init: ListenerGuardInit) {
    this.init = init
    this.limits = validateConnectionLimits({ ...init.limits }, init.listener)
  }

  get currentLimits (): ConnectionLimits {
    return { ...this.limits }
  }

  /** New limits apply to connections accepted from now on; the idle timeout to open ones too. */
  setLimits (limits: ConnectionLimits): void {
    this.limits = validateConnectionLimits({ ...limits }, this.init.listener)
    this.rescheduleSweep()
  }

  stats (): ListenerGuardStats {
    return { ...this.counts, active: this.tracked.size, sources: this.perSource.size, limits: { ...this.limits } }
  }

  /**
   * Decides on a connection the moment it is accepted. False: it was over a cap and is destroyed
   * already; the server must not see it.
   */
  admit (socket: GuardedSocket): boolean {
    const source = socket.remoteAddress ?? ''
    if (this.stopped || this.tracked.size >= this.limits.maxConnections) return this.refuse(socket, 'listener-cap', source)
    const fromSource = this.perSource.get(source) ?? 0
    if (fromSource >= this.limits.maxConnectionsPerSource) return this.refuse(socket, 'source-cap', source)
    const nowMs = this.init.clock.nowMs()
    const entry: Tracked = {
      socket,
      source,
      key: endpointKey(socket.remoteAddress, socket.remotePort),
      handshakeTimer: undefined,
      lastBytes: socket.bytesRead + socket.bytesWritten,
      lastActiveMs: nowMs
    }
    this.tracked.add(entry)
    this.byKey.set(entry.key, entry)
    this.perSource.set(source, fromSource + 1)
    if (this.tracked.size > this.counts.peakActive) this.counts.peakActive = this.tracked.size
    socket.once('close', () => { this.forget(entry) })
    if (this.init.handshake !== 'none' && this.limits.handshakeTimeoutMs > 0) {
      entry.handshakeTimer = this.init.clock.setTimer(() => {
        entry.handshakeTimer = undefined
        if (!this.tracked.has(entry)) return
        if (this.init.handshake === 'first-byte' && entry.socket.bytesRead > 0) return
        this.timeOut(entry, 'handshake-timeout')
      }, this.limits.handshakeTimeoutMs)
    }
    if (this.sweepTimer === undefined) this.rescheduleSweep()
    return true
  }

  /** The TLS handshake of the connection from `remoteAddress:remotePort` completed. */
  handshakeCompleted (remoteAddress: string | undefined, remotePort: number | undefined): void {
    const entry = this.byKey.get(endpointKey(remoteAddress, remotePort))
    if (entry === undefined || entry.handshakeTimer === undefined) return
    this.init.clock.clearTimer(entry.handshakeTimer)
    entry.handshakeTimer = undefined
  }

  /** Refuses every new connection; open ones are left to their owner. */
  stop (): void {
    this.stopped = true
    if (this.sweepTimer !== undefined) this.init.clock.clearTimer(this.sweepTimer)
    this.sweepTimer = undefined
    for (const entry of this.tracked) {
      if (entry.handshakeTimer !== undefined) this.init.clock.clearTimer(entry.handshakeTimer)
      entry.handshakeTimer = undefined
    }
    this.flushLog(true)
  }

  private forget (entry: Tracked): void {
    if (!this.tracked.delete(entry)) return
    if (this.byKey.get(entry.key) === entry) this.byKey.delete(entry.key)
    const left = (this.perSource.get(entry.source) ?? 1) - 1
    if (left <= 0) this.perSource.delete(entry.source)
    else this.perSource.set(entry.source, left)
    if (entry.handshakeTimer !== undefined) this.init.clock.clearTimer(entry.handshakeTimer)
    entry.handshakeTimer = undefined
    if (this.tracked.size === 0 && this.sweepTimer !== undefined) {
      this.init.clock.clearTimer(this.sweepTimer)
      this.sweepTimer = undefined
    }
  }

  private refuse (socket: GuardedSocket, reason: RefusalReason, source: string): false {
    if (reason === 'listener-cap') this.counts.refusedListenerCap++
    else this.counts.refusedSourceCap++
    socket.destroy()
    this.note(reason, source)
    return false
  }

  private timeOut (entry: Tracked, reason: TimeoutReason): void {
    if (reason === 'handshake-timeout') this.counts.handshakeTimeouts++
    else this.counts.idleTimeouts++
    entry.socket.destroy()
    // Destroying emits 'close' later; the slot is free now.
    this.forget(entry)
    this.note(reason, entry.source)
  }

  private note (event: RefusalReason | TimeoutReason, source: string): void {
    this.init.onEvent?.(event)
    this.unlogged.set(event, (this.unlogged.get(event) ?? 0) + 1)
    this.lastSource = source
    this.flushLog(false)
  }

  private flushLog (force: boolean): void {
    if (this.unlogged.size === 0 || this.init.log === undefined) return
    const nowMs = this.init.clock.nowMs()
    if (!force && nowMs - this.lastLogMs < GUARD_LOG_INTERVAL_MS) return
    this.lastLogMs = nowMs
    const counts = Object.fromEntries(this.unlogged)
    this.unlogged = new Map()
    this.init.log.warn({ listener: this.init.listener, ...counts, lastSource: this.lastSource, active: this.tracked.size, limits: this.limits },
      'connections refused or closed by the listener limits')
  }

  private rescheduleSweep (): void {
    if (this.sweepTimer !== undefined) this.init.clock.clearTimer(this.sweepTimer)
    this.sweepTimer = undefined
    if (this.stopped || this.limits.idleTimeoutMs <= 0 || this.tracked.size === 0) return
    this.sweepTimer = this.init.clock.setTimer(() => { this.sweep() }, Math.max(1, Math.ceil(this.limits.idleTimeoutMs / 4)))
  }

  private sweep (): void {
    this.sweepTimer = undefined
    const nowMs = this.init.clock.nowMs()
    for (const entry of [...this.tracked]) {
      const bytes = entry.socket.bytesRead + entry.socket.bytesWritten
      if (bytes !== entry.lastBytes) {
        entry.lastBytes = bytes
        entry.lastActiveMs = nowMs
      } else if (nowMs - entry.lastActiveMs >= this.limits.idleTimeoutMs) {
        this.timeOut(entry, 'idle-timeout')
      }
    }
    this.flushLog(false)
    this.rescheduleSweep()
  }
}

/**
 * Puts `server` behind a guard: its 'connection' listeners (the ones net, tls and http servers
 * install when they are created) run only for admitted connections. With `handshake: 'tls'` the
 * server must be a tls.Server: its 'secureConnection' ends the handshake deadline.
 */
export function guardServer (server: GuardedServer, init: ListenerGuardInit): ListenerGuard {
  const guard = new ListenerGuard(init)
  const handlers = server.listeners('connection') as Array<(socket: GuardedSocket) => void>
  server.removeAllListeners('connection')
  server.on('connection', (socket: GuardedSocket) => {
    if (!guard.admit(socket)) return
    for (const handler of handlers) handler.call(server, socket)
  })
  if (init.handshake === 'tls') {
    server.on('secureConnection', (socket: GuardedSocket) => { guard.handshakeCompleted(socket.remoteAddress, socket.remotePort) })
  }
  return guard
}

/** A limits object with `overrides` (from config) applied over `defaults`; undefined fields keep the default. */
export function withOverrides (defaults: ConnectionLimits, overrides: Partial<ConnectionLimits> | undefined): ConnectionLimits {
  if (overrides === undefined) return { ...defaults }
  const result = { ...defaults }
  for (const key of Object.keys(defaults) as Array<keyof ConnectionLimits>) {
    const value = overrides[key]
    if (value !== undefined) result[key] = value
  }
  return result
}

const SECOND = 1000
const MINUTE = 60 * SECOND

/**
 * Defaults per listener kind (docs/reliability.md, "Listeners", says why each value).
 * The agent's `limits` config block overrides them.
 */
export const DEFAULT_LISTENER_LIMITS = {
  /** A sidecar's public mTLS listener. Callers pool at most 256 connections per endpoint. */
  sidecarInbound: { maxConnections: 4096, maxConnectionsPerSource: 512, handshakeTimeoutMs: 10 * SECOND, idleTimeoutMs: 5 * MINUTE },
  /** A sidecar's local upstream listener: every connection comes from the local app (one address). */
  sidecarUpstream: { maxConnections: 4096, maxConnectionsPerSource: 4096, handshakeTimeoutMs: 0, idleTimeoutMs: 5 * MINUTE },
  /** The HTTP API: Consul's http_max_conns_per_client is 200; idle above the 10 min blocking-query wait. */
  http: { maxConnections: 1024, maxConnectionsPerSource: 200, handshakeTimeoutMs: 5 * SECOND, idleTimeoutMs: 11 * MINUTE },
  /** DNS over TCP (RFC 7766: idle timeouts of seconds). */
  dnsTcp: { maxConnections: 512, maxConnectionsPerSource: 64, handshakeTimeoutMs: 5 * SECOND, idleTimeoutMs: 10 * SECOND },
  /** libp2p's TCP listener: Consul's rpc_handshake_timeout is 5 s, rpc_max_conns_per_client 100. */
  gossip: { maxConnections: 512, maxConnectionsPerSource: 100, handshakeTimeoutMs: 5 * SECOND, idleTimeoutMs: 5 * MINUTE }
} as const satisfies Record<string, ConnectionLimits>

/** tcp-mode sidecar listeners carry long-lived connections (databases): Envoy's tcp_proxy idle default, 1 h. */
export const DEFAULT_TCP_PROXY_IDLE_TIMEOUT_MS = 60 * MINUTE

export type ListenerKind = keyof typeof DEFAULT_LISTENER_LIMITS
