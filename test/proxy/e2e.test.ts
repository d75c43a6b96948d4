import t from 'tap'
import { connect as h2connect } from 'node:http2'
import { connect as netConnect, createServer as createNetServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { startSidecar } from '../../proxy/sidecar.ts'
import { parseTraceparent } from '../../proxy/traces.ts'
import { cleanupPki, spiffeIdOf, testPki } from './fixtures/certs.ts'
import { endpoint, get, openHandles, settledHandles, snapshotFor, startEchoApp, upstream } from './fixtures/mesh.ts'
import { startTopology } from './fixtures/topology.ts'

t.teardown(cleanupPki)
const handlesBefore = openHandles()

t.test('web reaches both api instances through the mesh; the app learns who called', async (t) => {
  const mesh = await startTopology()
  const seen = new Set<string>()
  for (let i = 0; i < 20; i++) {
    const reply = await get(mesh.port, `/items/${i}`, mesh.agent)
    t.equal(reply.status, 200)
    seen.add(JSON.parse(reply.body).app)
  }
  t.same([...seen].sort(), ['api-1', 'api-2'], 'P2C spreads requests over both instances')
  const headers = mesh.apiApps.find((app) => app.lastHeaders !== null)!.lastHeaders!
  t.equal(headers['x-forwarded-client-cert'], `By=${spiffeIdOf('api')};URI=${spiffeIdOf('web')}`)
  t.equal(headers['x-mesh-source'], 'web')
  t.match(headers.host, /^127\.0\.0\.1:\d+$/, 'the caller\'s Host is kept')
  await mesh.stop()
})

t.test('a caller cannot forge its identity headers', async (t) => {
  const mesh = await startTopology()
  await get(mesh.port, '/', mesh.agent, { 'x-mesh-source': 'admin', 'x-forwarded-client-cert': 'URI=spiffe://evil' })
  const headers = mesh.apiApps.find((app) => app.lastHeaders !== null)!.lastHeaders!
  t.equal(headers['x-mesh-source'], 'web')
  t.equal(headers['x-forwarded-client-cert'], `By=${spiffeIdOf('api')};URI=${spiffeIdOf('web')}`)
  await mesh.stop()
})

t.test('one trace spans the client, both sidecars and the app', async (t) => {
  const mesh = await startTopology()
  const clientTrace = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'
  await get(mesh.port, '/traced', mesh.agent, { traceparent: clientTrace })
  const [outboundSpan] = mesh.web.traces()
  const inboundSpan = mesh.apiSidecars.flatMap((s) => s.traces())[0]!
  const appHeaders = mesh.apiApps.find((app) => app.lastHeaders !== null)!.lastHeaders!
  const atApp = parseTraceparent(appHeaders.traceparent)!
  t.equal(outboundSpan!.traceId, '4bf92f3577b34da6a3ce929d0e0e4736')
  t.equal(outboundSpan!.parentSpanId, '00f067aa0ba902b7')
  t.equal(inboundSpan.traceId, outboundSpan!.traceId)
  t.equal(inboundSpan.parentSpanId, outboundSpan!.spanId, 'the inbound hop is a child of the outbound hop')
  t.equal(atApp.parentSpanId, inboundSpan.spanId, 'the app sees the inbound hop as parent')
  t.equal(inboundSpan.direction, 'inbound')
  t.equal(outboundSpan!.name, 'outbound api')
  await mesh.stop()
})

t.test('HTTP/2 over mTLS to the inbound listener (ALPN h2) and h2c from the app to an http2 upstream', async (t) => {
  const mesh = await startTopology({ upstream: { protocol: 'http2' } })
  const inboundPort = mesh.apiSidecars[0]!.ports().inbound
  const session = h2connect(`https://127.0.0.1:${inboundPort}`, {
    ca: mesh.pki.rootPem, cert: mesh.pki.web.certPem, key: mesh.pki.web.keyPem,
    checkServerIdentity: () => undefined
  })
  const h2reply = await new Promise<{ status: number, body: string }>((resolve, reject) => {
    const stream = session.request({ ':path': '/over-h2' })
    let body = ''
    let status = 0
    stream.on('response', (headers) => { status = Number(headers[':status']) })
    stream.setEncoding('utf8')
    stream.on('data', (chunk: string) => { body += chunk })
    stream.on('end', () => { resolve({ status, body }) })
    stream.on('error', reject)
  })
  t.equal(h2reply.status, 200)
  t.same(JSON.parse(h2reply.body), { app: 'api-1', path: '/over-h2' })
  t.equal(mesh.apiApps[0]!.lastHeaders!['x-mesh-source'], 'web')
  session.close()

  const h2c = h2connect(`http://127.0.0.1:${mesh.port}`)
  const h2cStatus = await new Promise<number>((resolve, reject) => {
    const stream = h2c.request({ ':path': '/h2c' })
    stream.on('response', (headers) => { resolve(Number(headers[':status'])) })
    stream.on('error', reject)
    stream.resume()
  })
  t.equal(h2cStatus, 200, 'prior-knowledge h2c from the app')
  h2c.close()
  t.equal((await get(mesh.port, '/h1-on-http2-upstream', false)).status, 200, 'HTTP/1.1 still works on an http2 upstream')
  await mesh.stop()
})

t.test('tcp mode pipes bytes both ways after mTLS and L4 authorization', async (t) => {
  const pki = testPki()
  const echo = createNetServer((socket) => { socket.pipe(socket) })
  await new Promise<void>((resolve) => { echo.listen(0, '127.0.0.1', resolve) })
  const echoPort = (echo.address() as AddressInfo).port
  const db = await startSidecar({ snapshot: snapshotFor({ service: 'db', leaf: pki.api1, pki, appPort: echoPort, protocol: 'tcp' }) })
  const webApp = await startEchoApp('web')
  const web = await startSidecar({
    snapshot: snapshotFor({ service: 'web', leaf: pki.web, pki, appPort: webApp.port, upstreams: [upstream([endpoint('db-1', db.ports().inbound, 'api')], { destinationName: 'db', protocol: 'tcp' })] })
  })
  const client = netConnect({ host: '127.0.0.1', port: web.ports().upstreams.db! })
  const echoed = await new Promise<string>((resolve) => {
    let data = ''
    client.setEncoding('utf8')
    client.on('data', (chunk: string) => {
      data += chunk
      if (data.length >= 11) resolve(data)
    })
    client.write('hello ')
    client.write('mesh!')
  })
  t.equal(echoed, 'hello mesh!')
  client.destroy()
  await web.stop({ drainMs: 100 })
  await db.stop({ drainMs: 100 })
  await webApp.close()
  await new Promise((resolve) => { echo.close(resolve) })
})

t.test('malformed HTTP from the app gets a 400 with the proxy\'s error code', async (t) => {
  const mesh = await startTopology()
  const raw = netConnect({ host: '127.0.0.1', port: mesh.port })
  const answer = await new Promise<string>((resolve) => {
    let data = ''
    raw.setEncoding('utf8')
    raw.on('data', (chunk: string) => { data += chunk })
    raw.on('close', () => { resolve(data) })
    raw.write('GARBAGE / NOT-HTTP\r\n\r\n')
  })
  t.match(answer, /^HTTP\/1\.1 400 Bad Request/)
  t.match(answer, /x-mesh-error: MESH_ERR_PROXY_BAD_REQUEST/)
  const absolute = await get(mesh.port, 'http://example.com/', false)
  t.equal(absolute.status, 400, 'absolute-form targets are refused')
  await mesh.stop()
})

t.test('no sockets or servers are left behind', async (t) => {
  t.equal(await settledHandles(handlesBefore), handlesBefore)
})
