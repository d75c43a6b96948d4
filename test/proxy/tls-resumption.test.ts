// The mutual-TLS pool, and a tcp upstream's connections, resume the last session ticket their
// server sent instead of running a full handshake with certificates on every new connection (docs/reliability.md, "Listeners": a full
// mutual handshake leaves native memory behind in the server under node 24), and the server
// still learns the caller's SPIFFE ID from a resumed session.

import t from 'tap'
import type { IncomingHttpHeaders } from 'node:http'
import { createServer } from 'node:tls'
import type { TLSSocket } from 'node:tls'
import { connect as netConnect } from 'node:net'
import { Http1Pool } from '../../proxy/client.ts'
import { peerServiceId } from '../../proxy/peer-identity.ts'
import { expectSpiffeId, secureContextFor } from '../../proxy/pools.ts'
import { startSidecar } from '../../proxy/sidecar.ts'
import type { TlsMaterial } from '../../proxy/snapshot.ts'
import { cleanupPki, spiffeIdOf, testPki, TRUST_DOMAIN } from './fixtures/certs.ts'
import { endpoint, snapshotFor, startEchoApp, upstream } from './fixtures/mesh.ts'

const HOST = '127.0.0.111'

interface Accepted { reused: boolean, caller: string | undefined }

t.teardown(cleanupPki)

/** An mTLS server with the inbound listener's TLS options that answers one request per connection. */
async function server (cert: { certPem: string, keyPem: string }, roots: string[]): Promise<{ port: number, accepted: Accepted[], close: () => Promise<void> }> {
  const accepted: Accepted[] = []
  const tls = createServer({ cert: cert.certPem, key: cert.keyPem, ca: roots, requestCert: true, rejectUnauthorized: true, ALPNProtocols: ['h2', 'http/1.1'] })
  tls.on('secureConnection', (socket: TLSSocket) => {
    accepted.push({ reused: socket.isSessionReused(), caller: peerServiceId(socket.getPeerCertificate(), TRUST_DOMAIN)?.uri })
    socket.once('data', () => { socket.end('HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok') })
    socket.on('error', () => {})
  })
  await new Promise<void>((resolve) => tls.listen(0, HOST, resolve))
  return {
    port: (tls.address() as { port: number }).port,
    accepted,
    close: () => new Promise((resolve) => { tls.close(() => { resolve() }) })
  }
}

function get (pool: Http1Pool): Promise<number | string> {
  return new Promise((resolve) => {
    let status = 0
    pool.send('GET', 'GET / HTTP/1.1\r\nhost: api\r\n', null, {
      onConnect: () => {},
      onHeaders: (statusCode: number, _headers: IncomingHttpHeaders) => { status = statusCode; return true },
      onData: () => true,
      onComplete: () => { resolve(status) },
      onError: (error: Error & { code?: string }) => { resolve(error.code ?? error.message) }
    })
  })
}

t.test('new connections of a pool resume its session and the server still sees the caller', async (t) => {
  const pki = testPki()
  const api = await server(pki.api1, [pki.rootPem])
  t.teardown(api.close)
  const tls: TlsMaterial = { certChainPem: pki.web.certPem, keyPem: pki.web.keyPem, rootsPem: [pki.rootPem] }
  const pool = new Http1Pool({
    host: HOST, port: api.port, connections: 1, tls: { secureContext: secureContextFor(tls), checkServerIdentity: expectSpiffeId(spiffeIdOf('api')) }
  })
  t.teardown(() => pool.destroy())
  // Each answer closes its connection, so every request opens a new one.
  for (let i = 0; i < 4; i++) t.equal(await get(pool), 200)
  t.same(api.accepted.map((a) => a.reused), [false, true, true, true], 'the first handshake is full, the others resume')
  t.same(api.accepted.map((a) => a.caller), Array(4).fill(spiffeIdOf('web')), 'the caller is identified on resumed connections too')
})

t.test('a server with other keys gets a full handshake, verified again', async (t) => {
  const pki = testPki()
  const first = await server(pki.api1, [pki.rootPem])
  const tls: TlsMaterial = { certChainPem: pki.web.certPem, keyPem: pki.web.keyPem, rootsPem: [pki.rootPem] }
  const pool = new Http1Pool({
    host: HOST, port: first.port, connections: 1, tls: { secureContext: secureContextFor(tls), checkServerIdentity: expectSpiffeId(spiffeIdOf('api')) }
  })
  t.teardown(() => pool.destroy())
  t.equal(await get(pool), 200)
  t.ok(pool.tlsSession, 'the pool kept the ticket')
  await first.close()
  // Another process on the same port: a leaf without the expected SPIFFE ID and its own ticket keys.
  const impostor = await server(pki.noSpiffe, [pki.rootPem])
  t.teardown(impostor.close)
  ;(pool.init as { port: number }).port = impostor.port
  const outcome = await get(pool)
  t.not(outcome, 200, 'the impostor is refused')
  t.same(impostor.accepted, [], 'its handshake was not accepted by the client')
})

/** One connection through a tcp upstream listener: sends a byte, reads until the server closes. */
function throughTcp (port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = netConnect({ host: '127.0.0.1', port })
    let data = ''
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => { data += chunk })
    socket.on('error', () => {})
    socket.on('close', () => { resolve(data) })
    socket.write('x')
  })
}

t.test('a tcp upstream resumes its endpoint\'s session, and forgets it with a new leaf', async (t) => {
  const pki = testPki()
  const api = await server(pki.api1, [pki.rootPem])
  t.teardown(api.close)
  const app = await startEchoApp('web')
  t.teardown(app.close)
  const target = { ...endpoint('api-1', api.port, 'api'), address: HOST }
  const snapshot = snapshotFor({ service: 'web', leaf: pki.web, pki, appPort: app.port, upstreams: [upstream([target], { protocol: 'tcp' })] })
  const web = await startSidecar({ snapshot })
  t.teardown(() => web.stop({ drainMs: 0 }))
  const port = web.ports().upstreams.api!
  for (let i = 0; i < 3; i++) t.match(await throughTcp(port), /200 OK/)
  t.same(api.accepted.map((a) => a.reused), [false, true, true], 'the first handshake is full, the next ones resume')
  t.same(api.accepted.map((a) => a.caller), Array(3).fill(spiffeIdOf('web')), 'the caller is identified on resumed connections too')
  // A new leaf makes a new secure context: the old ticket is not offered under it.
  await web.update({ ...snapshot, tls: { ...snapshot.tls, certChainPem: pki.webRotated.certPem, keyPem: pki.webRotated.keyPem } })
  t.match(await throughTcp(port), /200 OK/)
  t.equal(api.accepted.at(-1)?.reused, false, 'after a rotation the handshake is a full one')
})
