// A sidecar's lifecycle: start the inbound listener and one listener per upstream from a
// snapshot, swap snapshots atomically under load, expose metrics, stats and traces, and stop
// with draining. Everything the proxy needs comes in the snapshot, so it runs the same inside
// the agent or standalone (`mesh proxy --sidecar-for`), with no agent code imported here.

import type { AddressInfo, Server } from 'node:net'
import type { Http1Pool } from './client.ts'
import type { SecureContext } from 'node:tls'
import { pino } from 'pino'
import type { Logger } from 'pino'
import type { Registry } from 'prom-client'
import type { OutlierInit } from './endpoint-pool.ts'
import { InvalidSnapshotError } from './errors.ts'
import { monotonicClock } from '../api/clock.ts'
import type { Clock } from '../api/clock.ts'
import { DEFAULT_LISTENER_LIMITS, DEFAULT_TCP_PROXY_IDLE_TIMEOUT_MS, validateConnectionLimits, withOverrides } from '../api/connection-limits.ts'
import type { ConnectionLimits, ListenerGuardStats } from '../api/connection-limits.ts'
import type { Cell, PeerIdentity } from './handler.ts'
import type { ProtocolLimits } from './listener-limits.ts'
import { startInbound } from './inbound.ts'
import type { Inbound } from './inbound.ts'
import { ProxyMetrics } from './metrics.ts'
import type { ProxyMetricsSnapshot } from './metrics.ts'
import { startOutbound } from './outbound.ts'
import type { Outbound } from './outbound.ts'
import { createAppPool, retirePool, secureContextFor } from './pools.ts'
import type { RetryBudgetInit } from './retry-budget.ts'
import type { ProxySnapshot, TlsMaterial, UpstreamSnapshot } from './snapshot.ts'
import { formatServiceSpiffeId } from '../api/spiffe.ts'
import { IdSource, SpanRing } from './traces.ts'
import type { Span } from './traces.ts'
import { validateSnapshot } from './validate.ts'

export interface SidecarInit {
  snapshot: ProxySnapshot
  log?: Logger
  metricsRegistry?: Registry
  /** Monotonic milliseconds; tests inject it. */
  now?: () => number
  /** Uniform [0, 1) for balancing, splits and faults; tests inject it. */
  random?: () => number
  /** Spans kept for traces(); the oldest go first. */
  traceCapacity?: number
  retryBudget?: RetryBudgetInit
  outlier?: OutlierInit
  /**
   * A listener failed after it was bound (its server emitted 'error'). The sidecar's owner decides
   * what follows (the agent marks the sidecar's checks critical and restarts it); logged either way.
   */
  onListenerError?: (error: NodeJS.ErrnoException) => void
  /**
   * Bind the listeners with SO_REUSEPORT, so that several processes running the same snapshot
   * (with fixed ports) share them and the kernel spreads connections between them (Linux).
   */
  reusePort?: boolean
  /** Overrides of the listener limits (api/connection-limits.ts; the agent's `limits.proxy_*` keys). */
  listenerLimits?: SidecarListenerLimits
}

export interface SidecarListenerLimits {
  /** The public mTLS listener; default DEFAULT_LISTENER_LIMITS.sidecarInbound. */
  inbound?: Partial<ConnectionLimits>
  /** Each local upstream listener; default DEFAULT_LISTENER_LIMITS.sidecarUpstream. */
  upstream?: Partial<ConnectionLimits>
  /** Idle timeout of listeners in `tcp` protocol mode (instead of inbound's or upstream's); default DEFAULT_TCP_PROXY_IDLE_TIMEOUT_MS. */
  tcpIdleTimeoutMs?: number
}

export interface SidecarPorts {
  inbound: number
  /** Local listener port per upstream destination name. */
  upstreams: Record<string, number>
}

export interface SidecarStats extends ProxyMetricsSnapshot {
  inboundConnections: number
  outboundConnections: number
  upstreams: Record<string, { endpoints: number, ejected: number, outstanding: number, drainingPools: number }>
  /** Per listener: open connections, and those refused or closed by its limits. */
  listeners: { inbound: ListenerGuardStats, upstreams: Record<string, ListenerGuardStats> }
}

export interface Sidecar {
  /** Applies a new snapshot; in-flight requests finish on what they started with. */
  update: (snapshot: ProxySnapshot) => Promise<void>
  /** Stops accepting, lets requests in progress finish for up to `drainMs`, then cuts the rest. */
  stop: (options?: { drainMs?: number }) => Promise<void>
  ports: () => SidecarPorts
  metrics: () => Promise<string>
  stats: () => SidecarStats
  traces: () => Span[]
}

const DEFAULT_DRAIN_MS = 5000

/** Binds `server`; a bind error rejects, a later server error goes to `onLaterError`. */
function listen (server: Server, port: number, host: string, reusePort: boolean, onLaterError: (error: NodeJS.ErrnoException) => void): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen({ port, host, reusePort }, () => {
      server.off('error', reject)
      server.on('error', onLaterError)
      resolve((server.address() as AddressInfo).port)
    })
  })
}

function closeServer (server: Server): Promise<void> {
  return new Promise((resolve) => { server.close(() => { resolve() }) })
}

function sameTls (a: TlsMaterial, b: TlsMaterial): boolean {
  return a.certChainPem === b.certChainPem && a.keyPem === b.keyPem && a.rootsPem.join('\n') === b.rootsPem.join('\n')
}

export async function startSidecar (init: SidecarInit): Promise<Sidecar> {
  validateSnapshot(init.snapshot)
  const log = (init.log ?? pino({ level: 'silent' })).child({ component: 'mesh:proxy', proxy: init.snapshot.proxyId })
  // Durations are measured on the monotonic clock; `now` lets tests set the time.
  const clock: Clock = init.now === undefined ? monotonicClock : { ...monotonicClock, nowMs: init.now }
  const random = init.random ?? Math.random
  const metrics = new ProxyMetrics(init.snapshot.proxyId, init.metricsRegistry)
  const ring = new SpanRing(init.traceCapacity ?? 1024)
  const ids = new IdSource()
  const pools = new Set<Http1Pool>()
  const appPool: Cell<ReturnType<typeof createAppPool>> = { current: createAppPool(init.snapshot.inbound.localServiceAddress, init.snapshot.inbound.localServicePort) }

  const snapshot: Cell<ProxySnapshot> = { current: init.snapshot }
  const selfOf = (s: ProxySnapshot): PeerIdentity => ({
    spiffeId: formatServiceSpiffeId({ trustDomain: s.trustDomain, namespace: 'default', datacenter: s.datacenter, service: s.serviceName }),
    service: s.serviceName
  })
  const self: Cell<PeerIdentity> = { current: selfOf(init.snapshot) }
  const ownSpiffeId: Cell<string> = { get current () { return self.current.spiffeId } }
  const secureContext: Cell<SecureContext> = { current: secureContextFor(init.snapshot.tls) }

  const onListenerError = (error: NodeJS.ErrnoException): void => {
    log.warn({ err: error.message }, 'sidecar listener failed')
    init.onListenerError?.(error)
  }
  const tcpIdleTimeoutMs = init.listenerLimits?.tcpIdleTimeoutMs ?? DEFAULT_TCP_PROXY_IDLE_TIMEOUT_MS
  // tcp mode carries long-lived sessions (databases): its own idle timeout, whatever the HTTP one.
  // Both are checked here; each listener applies the one of its current protocol, so a service
  // switched between tcp and http takes the other timeout from its next snapshot.
  const listenerLimits = (defaults: ConnectionLimits, overrides: Partial<ConnectionLimits> | undefined, name: string): ProtocolLimits => {
    const http = validateConnectionLimits(withOverrides(defaults, overrides), name)
    validateConnectionLimits({ ...http, idleTimeoutMs: tcpIdleTimeoutMs }, name)
    return { http, tcpIdleTimeoutMs }
  }
  const inbound: Inbound = startInbound({
    snapshot, ownSpiffeId, appPool, metrics, ring, ids, clock, random, log,
    listenerLimits: listenerLimits(DEFAULT_LISTENER_LIMITS.sidecarInbound, init.listenerLimits?.inbound, 'sidecar inbound listener')
  })
  const outbounds = new Map<string, { cell: Cell<UpstreamSnapshot>, outbound: Outbound, port: number }>()
  const startUpstream = async (upstream: UpstreamSnapshot): Promise<void> => {
    const cell: Cell<UpstreamSnapshot> = { current: upstream }
    const outbound = startOutbound({
      upstream: cell, self, secureContext, metrics, ring, ids, clock, random, log, pools,
      retryBudget: init.retryBudget,
      outlier: init.outlier,
      listenerLimits: listenerLimits(DEFAULT_LISTENER_LIMITS.sidecarUpstream, init.listenerLimits?.upstream, `upstream listener ${upstream.destinationName}`)
    })
    const port = await listen(outbound.server, upstream.localBindPort, upstream.localBindAddress, init.reusePort === true, onListenerError)
    outbounds.set(upstream.destinationName, { cell, outbound, port })
    metrics.setSplit(upstream.destinationName, upstream.split)
  }
  let inboundPort = 0
  try {
    inboundPort = await listen(inbound.server, init.snapshot.inbound.bindPort, init.snapshot.inbound.bindAddress, init.reusePort === true, onListenerError)
    for (const upstream of init.snapshot.upstreams) await startUpstream(upstream)
  } catch (error) {
    inbound.server.close()
    for (const { outbound } of outbounds.values()) outbound.server.close()
    throw error
  }
  log.info({ inboundPort, upstreams: [...outbounds.keys()] }, 'sidecar started')

  const stopUpstream = async (name: string, drainMs: number): Promise<void> => {
    const entry = outbounds.get(name)
    if (entry === undefined) return
    outbounds.delete(name)
    metrics.setSplit(name, undefined)
    entry.outbound.guard.stop()
    const closed = closeServer(entry.outbound.server)
    entry.outbound.connections.drain()
    await Promise.race([entry.outbound.connections.whenEmpty(), new Promise((resolve) => { setTimeout(resolve, drainMs).unref() })])
    entry.outbound.connections.destroyAll()
    await closed
    entry.outbound.pool.close()
  }

  let stopped = false
  return {
    update: async (next) => {
      validateSnapshot(next)
      if (stopped) throw new InvalidSnapshotError('sidecar is stopped')
      const previous = snapshot.current
      if (!sameTls(previous.tls, next.tls)) {
        secureContext.current = secureContextFor(next.tls)
        inbound.setTls(next)
        for (const { outbound } of outbounds.values()) outbound.rotateTls()
      }
      inbound.setLimits(next)
      if (next.inbound.localServiceAddress !== previous.inbound.localServiceAddress || next.inbound.localServicePort !== previous.inbound.localServicePort) {
        // Requests in progress finish on the old pool; new ones go to the app's new address.
        const old = appPool.current
        appPool.current = createAppPool(next.inbound.localServiceAddress, next.inbound.localServicePort)
        void retirePool(old)
      }
      snapshot.current = next
      self.current = selfOf(next)
      inbound.applySnapshot(next)
      const wanted = new Map(next.upstreams.map((upstream) => [upstream.destinationName, upstream]))
      for (const [name, entry] of outbounds) {
        const upstream = wanted.get(name)
        if (upstream === undefined || upstream.localBindPort !== entry.cell.current.localBindPort ||
            upstream.localBindAddress !== entry.cell.current.localBindAddress || upstream.protocol !== entry.cell.current.protocol) {
          await stopUpstream(name, DEFAULT_DRAIN_MS)
          continue
        }
        entry.cell.current = upstream
        entry.outbound.update(upstream)
        metrics.setSplit(name, upstream.split)
      }
      for (const upstream of next.upstreams) if (!outbounds.has(upstream.destinationName)) await startUpstream(upstream)
    },

    stop: async (options = {}) => {
      if (stopped) return
      stopped = true
      inbound.guard.stop()
      const drainMs = options.drainMs ?? DEFAULT_DRAIN_MS
      const inboundClosed = closeServer(inbound.server)
      inbound.connections.drain()
      const upstreamsStopped = Promise.all([...outbounds.keys()].map((name) => stopUpstream(name, drainMs)))
      await Promise.race([inbound.connections.whenEmpty(), new Promise((resolve) => { setTimeout(resolve, drainMs).unref() })])
      inbound.connections.destroyAll()
      await Promise.all([inboundClosed, upstreamsStopped])
      metrics.clearSplits()
      await Promise.all([appPool.current, ...pools].map((pool) => pool.destroy().catch(() => {})))
      pools.clear()
      log.info('sidecar stopped')
    },

    ports: () => ({
      inbound: inboundPort,
      upstreams: Object.fromEntries([...outbounds].map(([name, entry]) => [name, entry.port]))
    }),

    metrics: () => metrics.registry.metrics(),

    stats: () => {
      const nowMs = clock.nowMs()
      const upstreams: SidecarStats['upstreams'] = {}
      let outboundConnections = 0
      for (const [name, { outbound }] of outbounds) {
        outboundConnections += outbound.connections.size
        let ejected = 0
        let outstanding = 0
        for (const state of outbound.pool.endpoints) {
          if (state.ejectedUntilMs > nowMs) ejected++
          outstanding += state.outstanding
        }
        upstreams[name] = { endpoints: outbound.pool.endpoints.length, ejected, outstanding, drainingPools: outbound.pool.drainingCount }
      }
      const listeners: SidecarStats['listeners'] = { inbound: inbound.guard.stats(), upstreams: {} }
      for (const [name, { outbound }] of outbounds) listeners.upstreams[name] = outbound.guard.stats()
      return { ...metrics.totals, inboundConnections: inbound.connections.size, outboundConnections, upstreams, listeners }
    },

    traces: () => ring.list()
  }
}
