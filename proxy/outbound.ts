// The outbound side of a sidecar: one local listener per upstream (plain HTTP/1.1 from the app;
// for `http2` upstreams also h2c with prior knowledge; `tcp` upstreams are piped) and the layer
// stack to the upstream's sidecars. Order, outermost first:
//   trace → metrics → respond → fault injection → concurrency limits → request timeout →
//   traffic split → retry (budgeted) → balance (P2C, outlier ejection) → connect timeout →
//   mutual-TLS forwarder (keep-alive pool per endpoint, server SPIFFE ID checked)
// The request timeout wraps the retries so a request's total time is bounded; the balancer is
// inside the retry so each try picks again and avoids the endpoint that just failed.
// With a service-router, a route layer after the concurrency limits picks the first matching
// route (compiled once per snapshot) and hands the request to that route's own stack: its request
// timeout, its destination's split, its retry policy, and the balancer over its destination's
// endpoints (each destination service has its own pool).

import type { Http1Pool } from './client.ts'
import { createServer as createH2Server } from 'node:http2'
import type { Http2Session } from 'node:http2'
import { createServer as createNetServer } from 'node:net'
import type { Server as NetServer, Socket } from 'node:net'
import { connect as tlsConnect } from 'node:tls'
import type { SecureContext } from 'node:tls'
import type { Logger } from 'pino'
import { ConnectionTracker } from './connections.ts'
import type { TrackedConnection } from './connections.ts'
import { EndpointPool } from './endpoint-pool.ts'
import type { OutlierInit } from './endpoint-pool.ts'
import { forwarder } from './forward.ts'
import { compose } from './handler.ts'
import type { Clock } from '../api/clock.ts'
import { guardServer } from '../api/connection-limits.ts'
import type { ConnectionLimits, ListenerGuard } from '../api/connection-limits.ts'
import { limitsForProtocol } from './listener-limits.ts'
import type { ProtocolLimits } from './listener-limits.ts'
import type { Cell, Handler, Layer, PeerIdentity } from './handler.ts'
import { balanceLayer } from './layers/balance.ts'
import { concurrencyLayer, hasConcurrencyLimits } from './layers/concurrency.ts'
import { connectTimeoutLayer } from './layers/connect-timeout.ts'
import { faultLayer } from './layers/fault.ts'
import { metricsLayer } from './layers/metrics.ts'
import { requestTimeoutLayer } from './layers/request-timeout.ts'
import { respondLayer } from './layers/respond.ts'
import { retryLayer, retryPolicyOf } from './layers/retry.ts'
import { compileRouter, mutateHeaders, rewritePath } from './router.ts'
import type { CompiledRoute } from './router.ts'
import { splitLayer } from './layers/split.ts'
import { traceLayer } from './layers/trace.ts'
import type { ProxyMetrics } from './metrics.ts'
import { createEndpointPool, expectSpiffeId, retirePool } from './pools.ts'
import { RetryBudget } from './retry-budget.ts'
import type { RetryBudgetInit } from './retry-budget.ts'
import { createHttp1Server } from './http1.ts'
import { serve } from './serve.ts'
import type { ServeContext } from './serve.ts'
import type { Endpoint, RouteDestinationSnapshot, UpstreamSnapshot } from './snapshot.ts'
import { splice } from './tcp.ts'
import type { IdSource, SpanRing } from './traces.ts'

export interface OutboundInit {
  upstream: Cell<UpstreamSnapshot>
  /** This proxy's own service, the source of every outbound request. */
  self: Cell<PeerIdentity>
  secureContext: Cell<SecureContext>
  metrics: ProxyMetrics
  ring: SpanRing
  ids: IdSource
  clock: Clock
  random: () => number
  log: Logger
  retryBudget?: RetryBudgetInit
  outlier?: OutlierInit
  /** Every pool made, so stop() can close what draining left open. */
  pools: Set<Http1Pool>
  /** Listener limits by protocol, before the upstream's `limits.maxConnections` (which wins when set). */
  listenerLimits: ProtocolLimits
}

export interface Outbound {
  server: NetServer
  connections: ConnectionTracker
  guard: ListenerGuard
  pool: EndpointPool<Http1Pool>
  /** Applies a new upstream snapshot: endpoints added, kept or drained; limits and split live. */
  update: (upstream: UpstreamSnapshot) => void
  /** New TLS material: every endpoint gets a fresh pool, old connections finish and close. */
  rotateTls: () => void
}

const kContext = Symbol('mesh.outboundContext')
type OutboundSocket = Socket & { [kContext]?: ServeContext }

/** The HTTP/2 connection preface a prior-knowledge h2c client opens with. */
const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n')

function view<T> (read: () => T): Cell<T> {
  return { get current () { return read() } }
}

/** A destination service's endpoints and balancer, kept across snapshots so balancing state carries over. */
interface DestinationChain {
  pool: EndpointPool<Http1Pool>
  balance: Layer
}

/**
 * The outbound stack, built when the upstream's snapshot arrives: fault injection, concurrency
 * limits, the request and connect timeouts and the split are left out when nothing configures
 * them. Layers are made once, so their state (retry budget, requests in progress) carries over.
 */
function buildOutboundHandler (init: OutboundInit, pool: EndpointPool<Http1Pool>, poolFor: (endpoints: Endpoint[], name: string) => EndpointPool<Http1Pool>): { handler: Handler, rebuild: (upstream: UpstreamSnapshot) => void, replacePools: () => void } {
  const upstream = init.upstream
  const destination = (): string => upstream.current.destinationName
  const trace = traceLayer({ ring: init.ring, ids: init.ids, clock: init.clock })
  const metrics = metricsLayer({ metrics: init.metrics, clock: init.clock })
  const respond = respondLayer({
    onUnexpected: (error) => { init.log.error({ err: error }, 'unexpected error in outbound stack') },
    onCallerClosed: () => { init.log.debug({ stack: 'outbound' }, 'caller closed the connection before the answer; request cancelled') }
  })
  const fault = faultLayer({ faults: view(() => upstream.current.faults), clock: init.clock, random: init.random })
  const concurrency = concurrencyLayer({ limits: view(() => upstream.current.limits) })
  const requestTimeout = requestTimeoutLayer({ timeoutMs: view(() => upstream.current.requestTimeoutMs), clock: init.clock })
  const split = splitLayer({ split: view(() => upstream.current.split), random: init.random })
  const budget = new RetryBudget(init.clock.nowMs(), init.retryBudget)
  const retry = retryLayer({
    budget,
    clock: init.clock,
    onRetry: (reason) => { init.metrics.recordRetry(destination(), reason) }
  })
  const balance = balanceLayer({ pool, clock: init.clock })
  const connectTimeout = connectTimeoutLayer({ timeoutMs: view(() => upstream.current.connectTimeoutMs), clock: init.clock })
  const terminal = forwarder({ onTlsFailure: () => { init.metrics.recordTlsFailure('outbound') } })
  /** Other services the router leads to, by name. */
  const chains = new Map<string, DestinationChain>()

  /** The stack below the route layer for one route: its timeout, its destination's split, its retries, its balancer. */
  const routeStack = (route: CompiledRoute['route'], target: RouteDestinationSnapshot, chain: DestinationChain): Handler => {
    const layers: Layer[] = []
    const timeoutMs = route.requestTimeoutMs ?? target.requestTimeoutMs
    if (timeoutMs > 0) layers.push(requestTimeoutLayer({ timeoutMs: { current: timeoutMs }, clock: init.clock }))
    if (route.subset === undefined && (target.split?.length ?? 0) > 0) layers.push(splitLayer({ split: { current: target.split }, random: init.random }))
    const policy = retryPolicyOf(route)
    layers.push(retryLayer({ budget, clock: init.clock, ...(policy === undefined ? {} : { policy }), onRetry: (reason) => { init.metrics.recordRetry(target.name, reason) } }))
    layers.push(chain.balance)
    if (target.connectTimeoutMs > 0) layers.push(connectTimeoutLayer({ timeoutMs: { current: target.connectTimeoutMs }, clock: init.clock }))
    return compose(...layers)(terminal)
  }

  const routeLayer = (next: UpstreamSnapshot): Layer => {
    const self: RouteDestinationSnapshot = { name: next.destinationName, endpoints: next.endpoints, connectTimeoutMs: next.connectTimeoutMs, requestTimeoutMs: next.requestTimeoutMs, ...(next.split === undefined ? {} : { split: next.split }) }
    const targets = new Map<string, RouteDestinationSnapshot>([[self.name, self]])
    for (const other of next.destinations ?? []) if (other.name !== self.name) targets.set(other.name, other)
    for (const [name, chain] of chains) {
      if (targets.has(name)) continue
      chain.pool.update([])
      chains.delete(name)
    }
    for (const [name, target] of targets) {
      if (name === self.name) continue
      const existing = chains.get(name)
      if (existing !== undefined) { existing.pool.update(target.endpoints); continue }
      const created = poolFor(target.endpoints, name)
      chains.set(name, { pool: created, balance: balanceLayer({ pool: created, clock: init.clock }) })
    }
    // Regexes compile here, once per snapshot; the agent checked them, so a failure is a bad snapshot.
    const router = compileRouter(next.routes ?? [])
    const stacks = router.routes.map((compiled) => {
      const target = targets.get(compiled.route.destination)
      if (target === undefined) throw new Error(`route ${compiled.index} leads to ${compiled.route.destination}, which the snapshot does not resolve`)
      const chain = target === self ? { pool, balance } : chains.get(target.name)!
      return routeStack(compiled.route, target, chain)
    })
    const upstreamName = next.destinationName
    return () => (request) => {
      // The default route is last and matches everything, so a table from the agent always matches.
      const hit = router.match(request) ?? router.routes[router.routes.length - 1]!
      const route = hit.route
      request.destination = route.destination
      request.route = hit.index
      if (route.subset !== undefined) request.subset = route.subset
      if (route.prefixRewrite !== undefined) request.path = rewritePath(route, request.path)
      mutateHeaders(request.headers, route.requestHeaders)
      init.metrics.recordRoute(upstreamName, hit.index, route.destination)
      const answer = stacks[hit.index]!(request)
      if (route.responseHeaders === undefined) return answer
      return answer.then((response) => { mutateHeaders(response.headers, route.responseHeaders); return response })
    }
  }

  let stack: Handler = terminal
  const rebuild = (next: UpstreamSnapshot): void => {
    const layers: Layer[] = [trace, metrics, respond]
    if ((next.faults?.length ?? 0) > 0) layers.push(fault)
    if (hasConcurrencyLimits(next.limits)) layers.push(concurrency)
    if ((next.routes?.length ?? 0) > 0) {
      layers.push(routeLayer(next))
      stack = compose(...layers)(terminal)
      return
    }
    for (const chain of chains.values()) chain.pool.update([])
    chains.clear()
    if (next.requestTimeoutMs > 0) layers.push(requestTimeout)
    if ((next.split?.length ?? 0) > 0) layers.push(split)
    layers.push(retry, balance)
    if (next.connectTimeoutMs > 0) layers.push(connectTimeout)
    stack = compose(...layers)(terminal)
  }
  rebuild(upstream.current)
  const replacePools = (): void => {
    pool.replacePools()
    for (const chain of chains.values()) chain.pool.replacePools()
  }
  return { handler: (request) => stack(request), rebuild, replacePools }
}

export function startOutbound (init: OutboundInit): Outbound {
  const upstream = init.upstream
  const poolFor = (endpoints: Endpoint[], name: string): EndpointPool<Http1Pool> => new EndpointPool<Http1Pool>(endpoints, {
    createPool: (endpoint) => {
      const created = createEndpointPool(endpoint, init.secureContext.current)
      init.pools.add(created)
      return created
    },
    retirePool: (retired) => {
      void retirePool(retired as ReturnType<typeof createEndpointPool>).then(() => { init.pools.delete(retired) })
    },
    random: init.random,
    outlier: init.outlier,
    onEjection: (endpoint, untilMs) => {
      init.metrics.recordEjection(name)
      init.log.warn({ endpoint: endpoint.id, destination: name, ejectedForMs: untilMs - init.clock.nowMs() }, 'endpoint ejected by outlier detection')
    }
  })
  const pool = poolFor(upstream.current.endpoints, upstream.current.destinationName)
  const { handler, rebuild, replacePools } = buildOutboundHandler(init, pool, poolFor)
  const connections = new ConnectionTracker()
  const contextFor = (connection: TrackedConnection): ServeContext => ({
    handler,
    direction: 'outbound',
    destination: upstream.current.destinationName,
    source: init.self.current,
    now: () => init.clock.nowMs(),
    draining: () => connections.draining,
    connection
  })
  const serveRequest = (request: { socket: unknown }, response: unknown): void => {
    serve((request.socket as OutboundSocket)[kContext]!, request as never, response as never)
  }
  const http1 = createHttp1Server()
  const http2 = createH2Server({}, serveRequest)
  let lastSession: Http2Session | null = null
  http2.on('session', (session: Http2Session) => { lastSession = session })

  const acceptHttp = (socket: OutboundSocket): void => {
    socket.setNoDelay(true)
    const connection = connections.track(socket)
    socket[kContext] = contextFor(connection)
    if (upstream.current.protocol !== 'http2') {
      http1.accept(socket, socket[kContext])
      return
    }
    // Sniff the first bytes: an h2c preface goes to the HTTP/2 server, anything else is HTTP/1.1.
    socket.once('data', (chunk: Buffer) => {
      socket.pause()
      socket.unshift(chunk)
      if (chunk.subarray(0, H2_PREFACE.length).equals(H2_PREFACE.subarray(0, Math.min(chunk.length, H2_PREFACE.length)))) {
        // The HTTP/2 session reads the buffered preface itself and then owns the socket.
        http2.emit('connection', socket)
        connection.h2Session = lastSession
      } else {
        http1.accept(socket, socket[kContext]!)
        socket.resume()
      }
    })
  }

  // tcp upstreams resume TLS sessions as the HTTP pools do (proxy/client.ts): the last ticket each
  // endpoint's sidecar sent, offered only with the secure context and SPIFFE ID it was made under
  // (so a rotated leaf or a re-addressed endpoint gets a full, verified handshake), and dropped when
  // the endpoint leaves the snapshot.
  const tcpTickets = new Map<string, { context: SecureContext, spiffeId: string, ticket: Buffer }>()
  const forgetTickets = (endpoints: Endpoint[]): void => {
    if (tcpTickets.size === 0) return
    const kept = new Set(endpoints.map((endpoint) => `${endpoint.address}:${endpoint.port}`))
    for (const key of tcpTickets.keys()) if (!kept.has(key)) tcpTickets.delete(key)
  }

  const acceptTcp = (socket: Socket): void => {
    connections.track(socket)
    const state = pool.pick(null, null, init.clock.nowMs())
    if (state === null) {
      init.log.warn({ upstream: upstream.current.destinationName }, 'tcp upstream has no healthy endpoint')
      socket.destroy()
      return
    }
    const lease = pool.begin(state)
    const startMs = init.clock.nowMs()
    let connected = false
    const { address, port, spiffeId } = state.endpoint
    const context = init.secureContext.current
    const ticketKey = `${address}:${port}`
    const kept = tcpTickets.get(ticketKey)
    const remote = tlsConnect({
      host: address,
      port,
      secureContext: context,
      checkServerIdentity: expectSpiffeId(spiffeId),
      session: kept !== undefined && kept.context === context && kept.spiffeId === spiffeId ? kept.ticket : undefined
    }, () => {
      connected = true
      remote.setNoDelay(true)
      pool.end(state, lease, init.clock.nowMs() - startMs, 'success', init.clock.nowMs())
      splice(socket, remote)
    })
    // Under TLS 1.3 tickets arrive after the handshake (node emits them only when listened to).
    remote.on('session', (ticket: Buffer) => { tcpTickets.set(ticketKey, { context, spiffeId, ticket }) })
    remote.once('error', (error) => {
      if (connected) return
      pool.end(state, lease, init.clock.nowMs() - startMs, 'connection-failure', init.clock.nowMs())
      init.log.warn({ endpoint: state.endpoint.id, err: error }, 'tcp upstream connection failed')
      socket.destroy()
    })
  }

  const server = createNetServer((socket) => {
    if (connections.draining) {
      socket.destroy()
      return
    }
    if (upstream.current.protocol === 'tcp') acceptTcp(socket)
    else acceptHttp(socket)
  })
  const limitsFor = (snapshot: UpstreamSnapshot): ConnectionLimits => limitsForProtocol(init.listenerLimits, snapshot.protocol, snapshot.limits?.maxConnections)
  const listener = `upstream ${upstream.current.destinationName}`
  const guard = guardServer(server, {
    listener,
    limits: limitsFor(upstream.current),
    // The local app speaks first over HTTP; a tcp upstream may carry a protocol where the server does.
    handshake: 'none',
    clock: init.clock,
    log: init.log,
    onEvent: (reason) => { init.metrics.recordListenerEvent(listener, reason) }
  })
  return {
    server,
    connections,
    guard,
    pool,
    update: (next) => {
      pool.update(next.endpoints)
      forgetTickets(next.endpoints)
      rebuild(next)
      guard.setLimits(limitsFor(next))
    },
    rotateTls: replacePools
  }
}
