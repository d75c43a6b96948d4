import t from 'tap'
import { connect as tlsConnect } from 'node:tls'
import type { ConnectionOptions } from 'node:tls'
import { cleanupPki } from './fixtures/certs.ts'
import { endpoint, get, openHandles, settledHandles, upstream } from './fixtures/mesh.ts'
import { startTopology } from './fixtures/topology.ts'
import type { Authorizer } from '../../api/authorizer.ts'

t.teardown(cleanupPki)
const handlesBefore = openHandles()

/** Connects to an inbound listener, sends a GET, and reports what came back before the close. */
function rawRequest (port: number, options: ConnectionOptions): Promise<{ response: string, error: string | null }> {
  return new Promise((resolve) => {
    let response = ''
    let error: string | null = null
    const socket = tlsConnect({ host: '127.0.0.1', port, checkServerIdentity: () => undefined, ...options }, () => {
      socket.write('GET / HTTP/1.1\r\nHost: api\r\n\r\n')
    })
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => { response += chunk })
    socket.on('error', (e: Error & { code?: string }) => { error = e.code ?? e.message })
    socket.on('close', () => { resolve({ response, error }) })
  })
}

t.test('a client with no certificate is refused at the handshake', async (t) => {
  const mesh = await startTopology()
  const port = mesh.apiSidecars[0]!.ports().inbound
  const result = await rawRequest(port, { ca: mesh.pki.rootPem })
  t.equal(result.response, '', 'no HTTP answer')
  t.ok(result.error, `the handshake fails (${result.error})`)
  t.equal(mesh.apiApps[0]!.requests, 0, 'nothing reached the app')
  t.equal(mesh.apiSidecars[0]!.stats().tlsHandshakeFailures, 1)
  await mesh.stop()
})

t.test('a client certificate from another CA is refused at the handshake', async (t) => {
  const mesh = await startTopology()
  const port = mesh.apiSidecars[0]!.ports().inbound
  const result = await rawRequest(port, { ca: mesh.pki.rootPem, cert: mesh.pki.foreignWeb.certPem, key: mesh.pki.foreignWeb.keyPem })
  t.equal(result.response, '', 'no HTTP answer')
  t.equal(mesh.apiApps[0]!.requests, 0)
  t.equal(mesh.apiSidecars[0]!.stats().tlsHandshakeFailures, 1, 'the server side of the handshake failed')
  await mesh.stop()
})

t.test('a certificate from our CA without a service SPIFFE ID is refused', async (t) => {
  const mesh = await startTopology()
  const port = mesh.apiSidecars[0]!.ports().inbound
  const result = await rawRequest(port, { ca: mesh.pki.rootPem, cert: mesh.pki.noSpiffe.certPem, key: mesh.pki.noSpiffe.keyPem })
  t.equal(result.response, '', 'closed without an answer')
  t.equal(mesh.apiApps[0]!.requests, 0)
  t.equal(mesh.apiSidecars[0]!.stats().tlsHandshakeFailures, 1)
  await mesh.stop()
})

t.test('a client with a valid SVID gets through', async (t) => {
  const mesh = await startTopology()
  const port = mesh.apiSidecars[0]!.ports().inbound
  const result = await new Promise<string>((resolve) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, ca: mesh.pki.rootPem, cert: mesh.pki.web.certPem, key: mesh.pki.web.keyPem, checkServerIdentity: () => undefined }, () => {
      socket.write('GET /ok HTTP/1.1\r\nHost: api\r\nConnection: close\r\n\r\n')
    })
    let data = ''
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => { data += chunk })
    socket.on('close', () => { resolve(data) })
  })
  t.match(result, /^HTTP\/1\.1 200 OK/)
  await mesh.stop()
})

t.test('a server presenting the wrong SPIFFE ID is refused by the outbound side', async (t) => {
  const mesh = await startTopology()
  // An "api" endpoint that is really web's sidecar: it presents spiffe://…/svc/web.
  await mesh.web.update({ ...mesh.webSnapshot, upstreams: [upstream([endpoint('impostor', mesh.web.ports().inbound, 'api')])] })
  const reply = await get(mesh.port, '/', mesh.agent)
  t.equal(reply.status, 503)
  t.equal(reply.headers['x-mesh-error'], 'MESH_ERR_PROXY_UPSTREAM_IDENTITY')
  t.match(reply.body, /server presented spiffe:\/\/.*\/svc\/web, expected spiffe:\/\/.*\/svc\/api/)
  t.equal(mesh.webApp.requests, 0, 'no request was sent to the impostor')
  t.ok(mesh.web.stats().tlsHandshakeFailures >= 1)
  await mesh.stop()
})

t.test('an L7 deny answers 403 with the intention\'s reason; allowed paths still pass', async (t) => {
  const authorize: Authorizer = (request) => request.http?.path.startsWith('/admin') === true
    ? { allowed: false, reason: 'intention web => api denies /admin' }
    : { allowed: true, reason: 'allowed' }
  const mesh = await startTopology({ apiAuthorize: authorize })
  const denied = await get(mesh.port, '/admin/users', mesh.agent)
  t.equal(denied.status, 403)
  t.equal(denied.headers['x-mesh-error'], 'MESH_ERR_PROXY_REQUEST_DENIED')
  t.match(denied.body, 'intention web => api denies /admin')
  t.equal((await get(mesh.port, '/public', mesh.agent)).status, 200)
  t.equal(mesh.apiApps[0]!.requests + mesh.apiApps[1]!.requests, 1, 'the denied request never reached an app')
  const text = await mesh.apiSidecars.find((s) => s.stats().authorizationDenials > 0)!.metrics()
  t.match(text, /mesh_proxy_authorization_denials_total\{proxy="api-sidecar-proxy",level="l7",source="web"\} 1/)
  await mesh.stop()
})

t.test('an L4 deny closes the connection right after the handshake', async (t) => {
  const authorize: Authorizer = (request) => request.http === undefined && request.sourceService === 'web'
    ? { allowed: false, reason: 'intention web => api deny' }
    : { allowed: true, reason: 'allowed' }
  const mesh = await startTopology({ apiAuthorize: authorize })
  const port = mesh.apiSidecars[0]!.ports().inbound
  const result = await rawRequest(port, { ca: mesh.pki.rootPem, cert: mesh.pki.web.certPem, key: mesh.pki.web.keyPem })
  t.equal(result.response, '', 'closed without any HTTP answer')
  t.equal(mesh.apiApps[0]!.requests, 0)
  t.equal(mesh.apiSidecars[0]!.stats().authorizationDenials, 1)
  const throughMesh = await get(mesh.port, '/', mesh.agent)
  t.equal(throughMesh.status, 503, 'through the mesh the caller sees the upstream refuse')
  t.equal(mesh.apiApps[0]!.requests + mesh.apiApps[1]!.requests, 0)
  await mesh.stop()
})

t.test('no sockets or servers are left behind', async (t) => {
  t.equal(await settledHandles(handlesBefore), handlesBefore)
})
