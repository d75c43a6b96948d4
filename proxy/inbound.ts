// The inbound side of a sidecar: the public mutual-TLS listener and the layer stack in front of
// the local application. Order, outermost first:
//   connection: TLS (client certificate chained to the roots) → caller SPIFFE ID → L4 intentions
//   request:    trace → metrics → respond → L7 intentions → identity headers → rate limits →
//               fault injection → concurrency limits → local app (keep-alive pool)
// Tracing and metrics sit outside `respond` so refusals are traced and counted like answers;
// authorization runs before anything that spends resources on the caller.

import type { Http1Pool } from './client.ts'
import { createServer as createH2Server } from 'node:http2'
import type { Http2Session } from 'node:http2'
import { connect as netConnect } from 'node:net'
import { createServer as createTlsServer } from 'node:tls'
import type { Server as TlsServer, TLSSocket } from 'node:tls'
import type { Logger } from 'pino'
import { ConnectionTracker } from './connections.ts'
import { ConnectionDeniedError, PeerIdentityError } from './errors.ts'
import { compose } from './handler.ts'
import type { Clock } from '../api/clock.ts'
import { guardServer } from '../api/connection-limits.ts'
import type { ConnectionLimits, ListenerGuard } from '../api/connection-limits.ts'
import { limitsForProtocol } from './listener-limits.ts'
import type { ProtocolLimits } from './listener-limits.ts'
import type { Cell, ForwardTarget, Handler, Layer, PeerIdentity } from './handler.ts'
import { forwarder } from './forward.ts'
import { authorizeLayer } from './layers/authorize.ts'
import { concurrencyLayer, hasConcurrencyLimits } from './layers/concurrency.ts'
import { faultLayer } from './layers/fault.ts'
import { identityHeadersLayer } from './layers/identity-headers.ts'
import { metricsLayer } from './layers/metrics.ts'
import { rateLimitLayer } from './layers/rate-limit.ts'
import { respondLayer } from './layers/respond.ts'
import { traceLayer } from './layers/trace.ts'
import type { ProxyMetrics } from './metrics.ts'
import { createHttp1Server } from './http1.ts'
import { serve } from './serve.ts'
import type { ServeContext } from './serve.ts'
import type { ProxySnapshot } from './snapshot.ts'
import { peerServiceId } from './peer-identity.ts'
import { splice } from './tcp.ts'
import type { IdSource, SpanRing } from './traces.ts'

export interface InboundInit {
  snapshot: Cell<ProxySnapshot>
  /** Own SPIFFE ID, for X-Forwarded-Client-Cert `By=`. */
  ownSpiffeId: Cell<string>
  /** Keep-alive pool to the local application; replaced by update() when the app moves. */
  appPool: Cell<Http1Pool>
  metrics: ProxyMetrics
  ring: SpanRing
  ids: IdSource
  clock: Clock
  random: () => number
  log: Logger
  /** Listener limits by protocol, before the snapshot's `inbound.limits.maxConnections` (which wins when set). */
  listenerLimits: ProtocolLimits
}

export interface Inbound {
  server: TlsServer
  connections: ConnectionTracker
  guard: ListenerGuard
  /** Applies new certificates and roots to connections accepted from now on. */
  setTls: (snapshot: ProxySnapshot) => void
  /** Applies the snapshot's `inbound.limits.maxConnections` to connections accepted from now on. */
  setLimits: (snapshot: ProxySnapshot) => void
  /** Rebuilds the layer stack for a new snapshot; requests that start after it use the new one. */
  applySnapshot: (snapshot: ProxySnapshot) => void
}

const kState = Symbol('mesh.inboundState')
type InboundSocket = TLSSocket & { [kState]?: ServeContext }

function view<T> (read: () => T): Cell<T> {
  return { get current () { return read() } }
}

/**
 * The inbound stack, built when a snapshot arrives: a layer with nothing configured (rate
 * limits, faults, concurrency limits) is left out rather than asked on every request. Layers are
 * made once, so their state (token buckets, requests in progress) carries over a rebuild.
 */
function buildInboundHandler (init: InboundInit): { handler: Handler, rebuild: (snapshot: ProxySnapshot) => void } {
  const snapshot = init.snapshot
  const always: Layer[] = [
    traceLayer({ ring: init.ring, ids: init.ids, clock: init.clock }),
    metricsLayer({ metrics: init.metrics, clock: init.clock }),
    respondLayer({
      onUnexpected: (error) => { init.log.error({ err: error }, 'unexpected error in inbound stack') },
      onCallerClosed: () => { init.log.debug({ stack: 'inbound' }, 'caller closed the connection before the answer; request cancelled') }
    }),
    authorizeLayer({ authorizer: view(() => snapshot.current.authorize), onDeny: (source) => { init.metrics.recordDenial('l7', source) } }),
    identityHeadersLayer(init.ownSpiffeId)
  ]
  const rateLimit = rateLimitLayer({ limits: view(() => snapshot.current.inbound.rateLimits), clock: init.clock })
  const fault = faultLayer({ faults: view(() => snapshot.current.inbound.faults), clock: init.clock, random: init.random })
  const concurrency = concurrencyLayer({ limits: view(() => snapshot.current.inbound.limits) })
  const toApp = forwarder()
  let appTarget: ForwardTarget = { dispatcher: init.appPool.current, endpointId: 'local' }
  const terminal: Handler = (request) => {
    // Read per request so an update that moves the app applies to the next request.
    if (appTarget.dispatcher !== init.appPool.current) appTarget = { dispatcher: init.appPool.current, endpointId: 'local' }
    request.target = appTarget
    return toApp(request)
  }
  let stack: Handler = terminal
  const rebuild = (next: ProxySnapshot): void => {
    const layers = [...always]
    if ((next.inbound.rateLimits?.length ?? 0) > 0) layers.push(rateLimit)
    if ((next.inbound.faults?.length ?? 0) > 0) layers.push(fault)
    if (hasConcurrencyLimits(next.inbound.limits)) layers.push(concurrency)
    stack = compose(...layers)(terminal)
  }
  rebuild(snapshot.current)
  return { handler: (request) => stack(request), rebuild }
}

function tlsOptions (snapshot: ProxySnapshot): { cert: string, key: string, ca: string[] } {
  return { cert: snapshot.tls.certChainPem, key: snapshot.tls.keyPem, ca: snapshot.tls.rootsPem }
}

export function startInbound (init: InboundInit): Inbound {
  const { handler, rebuild } = buildInboundHandler(init)
  const connections = new ConnectionTracker()
  const log = init.log
  const serveRequest = (request: { socket: unknown }, response: unknown): void => {
    serve((request.socket as InboundSocket)[kState]!, request as never, response as never)
  }
  const http1 = createHttp1Server()
  const http2 = createH2Server({}, serveRequest)
  let lastSession: Http2Session | null = null
  http2.on('session', (session: Http2Session) => { lastSession = session })

  const server = createTlsServer({
    ...tlsOptions(init.snapshot.current),
    requestCert: true,
    rejectUnauthorized: true,
    ALPNProtocols: ['h2', 'http/1.1'],
    // The guard's deadline (below) closes slow handshakes; node's own 120 s one would come later.
    handshakeTimeout: init.listenerLimits.http.handshakeTimeoutMs > 0 ? init.listenerLimits.http.handshakeTimeoutMs + 1000 : 0
  })
  const limitsFor = (snapshot: ProxySnapshot): ConnectionLimits => limitsForProtocol(init.listenerLimits, snapshot.inbound.protocol, snapshot.inbound.limits?.maxConnections)
  const guard = guardServer(server, {
    listener: 'inbound',
    limits: limitsFor(init.snapshot.current),
    handshake: 'tls',
    clock: init.clock,
    log,
    onEvent: (reason) => { init.metrics.recordListenerEvent('inbound', reason) }
  })
  server.on('tlsClientError', (error: Error) => {
    init.metrics.recordTlsFailure('inbound')
    log.debug({ err: error }, 'inbound TLS handshake failed')
  })
  server.on('secureConnection', (socket: InboundSocket) => {
    const snapshot = init.snapshot.current
    const peer = peerServiceId(socket.getPeerCertificate(), snapshot.trustDomain)
    if (peer === null) {
      init.metrics.recordTlsFailure('inbound')
      const error = new PeerIdentityError(`client certificate has no service SPIFFE ID of trust domain ${snapshot.trustDomain}`)
      log.info({ code: error.code, remote: socket.remoteAddress }, error.message)
      socket.destroy()
      return
    }
    const source: PeerIdentity = { spiffeId: peer.uri, service: peer.id.service }
    const decision = snapshot.authorize({ sourceSpiffeId: source.spiffeId, sourceService: source.service })
    if (!decision.allowed) {
      init.metrics.recordDenial('l4', source.service)
      const error = new ConnectionDeniedError(`${source.service} may not connect to ${snapshot.serviceName}: ${decision.reason}`)
      log.info({ code: error.code, source: source.service }, error.message)
      socket.destroy()
      return
    }
    socket.setNoDelay(true)
    const connection = connections.track(socket)
    if (connections.draining) {
      socket.destroy()
      return
    }
    if (snapshot.inbound.protocol === 'tcp') {
      const app = netConnect({ host: snapshot.inbound.localServiceAddress, port: snapshot.inbound.localServicePort, noDelay: true })
      splice(socket, app)
      return
    }
    socket[kState] = {
      handler,
      direction: 'inbound',
      destination: snapshot.serviceName,
      source,
      now: () => init.clock.nowMs(),
      draining: () => connections.draining,
      connection
    }
    if (socket.alpnProtocol === 'h2') {
      http2.emit('connection', socket)
      connection.h2Session = lastSession
    } else {
      http1.accept(socket, socket[kState])
    }
  })
  return {
    server,
    connections,
    guard,
    applySnapshot: rebuild,
    setTls: (snapshot) => { server.setSecureContext(tlsOptions(snapshot)) },
    setLimits: (snapshot) => { guard.setLimits(limitsFor(snapshot)) }
  }
}
