// A sidecar's listeners behind the connection guard (api/connection-limits.ts): limits given to
// startSidecar apply to the inbound listener, refusals and deadlines are counted in stats() and in
// mesh_proxy_listener_connections_closed_total, an upstream's own maxConnections wins over the
// default, and bad limits are refused before anything listens.

import t from 'tap'
import { connect } from 'node:net'
import type { Socket } from 'node:net'
import { startSidecar } from '../../proxy/sidecar.ts'
import { cleanupPki, testPki } from './fixtures/certs.ts'
import { openHandles, settledHandles, snapshotFor, startEchoApp } from './fixtures/mesh.ts'
import { waitFor } from '../e2e/harness.ts'

t.teardown(cleanupPki)
const handlesBefore = openHandles()

function open (port: number): { socket: Socket, closed: Promise<void> } {
  const socket = connect(port, '127.0.0.1')
  socket.on('error', () => {})
  return { socket, closed: new Promise((resolve) => { socket.once('close', () => { resolve() }) }) }
}

t.test('inbound: the per-source cap refuses, the TLS deadline closes silent connections, both are counted', async (t) => {
  const pki = testPki()
  const app = await startEchoApp('api')
  const sidecar = await startSidecar({
    snapshot: snapshotFor({ service: 'api', leaf: pki.api1, pki, appPort: app.port }),
    listenerLimits: { inbound: { maxConnectionsPerSource: 2, handshakeTimeoutMs: 300 } }
  })
  t.teardown(async () => { await sidecar.stop({ drainMs: 0 }); await app.close() })
  const port = sidecar.ports().inbound
  const connections = [open(port), open(port), open(port)]
  await waitFor('the third connection to be refused', async () => sidecar.stats().listeners.inbound.refusedSourceCap === 1, 5000, 10)
  t.match(sidecar.stats().listeners.inbound, { active: 2, peakActive: 2, refusedSourceCap: 1 })
  await Promise.all(connections.map(async (connection) => await connection.closed))
  t.match(sidecar.stats().listeners.inbound, { active: 0, handshakeTimeouts: 2 }, 'the two silent connections went at the handshake deadline')
  const metrics = await sidecar.metrics()
  t.match(metrics, /mesh_proxy_listener_connections_closed_total\{proxy="api-sidecar-proxy",listener="inbound",reason="source-cap"\} 1/)
  t.match(metrics, /mesh_proxy_listener_connections_closed_total\{proxy="api-sidecar-proxy",listener="inbound",reason="handshake-timeout"\} 2/)
})

t.test('upstream: the upstream\'s maxConnections overrides the default listener cap, live on update', async (t) => {
  const pki = testPki()
  const app = await startEchoApp('web')
  const base = snapshotFor({
    service: 'web', leaf: pki.web, pki, appPort: app.port,
    upstreams: [{ destinationName: 'api', localBindAddress: '127.0.0.1', localBindPort: 0, protocol: 'http', endpoints: [], connectTimeoutMs: 1000, requestTimeoutMs: 1000 }]
  })
  const sidecar = await startSidecar({ snapshot: base })
  t.teardown(async () => { await sidecar.stop({ drainMs: 0 }); await app.close() })
  const upstream = base.upstreams[0]!
  await sidecar.update({ ...base, upstreams: [{ ...upstream, limits: { maxConnections: 1 } }] })
  const port = sidecar.ports().upstreams.api!
  const first = open(port)
  const second = open(port)
  await second.closed
  t.match(sidecar.stats().listeners.upstreams.api, { active: 1, refusedListenerCap: 1 })
  first.socket.destroy()
  await first.closed
})

t.test('tcp mode: inbound and upstream listeners take the tcp idle timeout instead of the HTTP one', async (t) => {
  const pki = testPki()
  const app = await startEchoApp('web')
  const upstream = { destinationName: 'db', localBindAddress: '127.0.0.1', localBindPort: 0, protocol: 'tcp' as const, endpoints: [], connectTimeoutMs: 1000, requestTimeoutMs: 1000 }
  const sidecar = await startSidecar({
    snapshot: snapshotFor({ service: 'web', leaf: pki.web, pki, appPort: app.port, protocol: 'tcp', upstreams: [upstream, { ...upstream, destinationName: 'api', protocol: 'http' }] }),
    listenerLimits: { inbound: { idleTimeoutMs: 1000 }, upstream: { idleTimeoutMs: 2000 }, tcpIdleTimeoutMs: 123_000 }
  })
  t.teardown(async () => { await sidecar.stop({ drainMs: 0 }); await app.close() })
  const { listeners } = sidecar.stats()
  t.equal(listeners.inbound.limits.idleTimeoutMs, 123_000, 'tcp inbound')
  t.equal(listeners.upstreams.db!.limits.idleTimeoutMs, 123_000, 'tcp upstream')
  t.equal(listeners.upstreams.api!.limits.idleTimeoutMs, 2000, 'an http upstream keeps the upstream idle timeout')
})

t.test('a service switched between http and tcp takes the other idle timeout from the next snapshot', async (t) => {
  const pki = testPki()
  const app = await startEchoApp('web')
  const upstream = { destinationName: 'db', localBindAddress: '127.0.0.1', localBindPort: 0, protocol: 'http' as const, endpoints: [], connectTimeoutMs: 1000, requestTimeoutMs: 1000 }
  const snapshot = snapshotFor({ service: 'web', leaf: pki.web, pki, appPort: app.port, upstreams: [upstream] })
  const sidecar = await startSidecar({
    snapshot,
    listenerLimits: { inbound: { idleTimeoutMs: 1000 }, upstream: { idleTimeoutMs: 2000 }, tcpIdleTimeoutMs: 123_000 }
  })
  t.teardown(async () => { await sidecar.stop({ drainMs: 0 }); await app.close() })
  const idle = (): [number, number] => {
    const { listeners } = sidecar.stats()
    return [listeners.inbound.limits.idleTimeoutMs, listeners.upstreams.db!.limits.idleTimeoutMs]
  }
  t.same(idle(), [1000, 2000], 'http: the HTTP idle timeouts')
  await sidecar.update({ ...snapshot, inbound: { ...snapshot.inbound, protocol: 'tcp' }, upstreams: [{ ...upstream, protocol: 'tcp' }] })
  t.same(idle(), [123_000, 123_000], 'switched to tcp: the tcp idle timeout on both listeners')
  await sidecar.update(snapshot)
  t.same(idle(), [1000, 2000], 'back to http: the HTTP idle timeouts again')
})

t.test('bad listener limits are refused before anything listens', async (t) => {
  const pki = testPki()
  await t.rejects(startSidecar({
    snapshot: snapshotFor({ service: 'api', leaf: pki.api1, pki, appPort: 1 }),
    listenerLimits: { inbound: { maxConnections: 0 } }
  }), { code: 'MESH_ERR_CONNECTION_LIMITS_INVALID', message: /sidecar inbound listener: maxConnections must be a positive integer/ })
})

t.test('no sockets or servers are left behind', async (t) => {
  t.equal(await settledHandles(handlesBefore), handlesBefore)
})
