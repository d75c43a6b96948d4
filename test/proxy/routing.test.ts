// A service-router through a real sidecar pair: web's outbound listener for `api` routes by path
// prefix, header and method to two destination services (api on api-1, api-v2 on api-2, each its
// own pool), rewrites the prefix, mutates request and response headers, and applies a route's own
// retry policy and request timeout; metrics and traces name the destination the route chose.

import t from 'tap'
import { request } from 'node:http'
import type { Agent } from 'node:http'
import { cleanupPki } from './fixtures/certs.ts'
import { endpoint, get } from './fixtures/mesh.ts'
import type { Reply } from './fixtures/mesh.ts'
import { startTopology } from './fixtures/topology.ts'
import type { RouteSnapshot } from '../../proxy/snapshot.ts'

t.teardown(cleanupPki)

function send (method: string, port: number, path: string, agent: Agent): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, agent, headers: { 'content-length': '0' } }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => { body += chunk })
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, headers: res.headers, body }) })
    })
    req.on('error', reject)
    req.end()
  })
}

const routes: RouteSnapshot[] = [
  {
    match: { pathPrefix: '/v2/' },
    destination: 'api-v2',
    prefixRewrite: '/',
    requestHeaders: { set: { 'x-route': 'v2' }, remove: ['x-drop'], add: { 'x-added': 'yes' } },
    responseHeaders: { set: { 'x-served-by': 'v2' } },
  },
  { match: { headers: [{ name: 'x-canary', exact: '1' }] }, destination: 'api-v2' },
  { match: { methods: ['POST'] }, destination: 'api-v2' },
  { match: { pathPrefix: '/retry' }, destination: 'api', numRetries: 2, retryOnStatusCodes: [500] },
  { match: { pathPrefix: '/slow' }, destination: 'api', requestTimeoutMs: 150 },
  { match: {}, destination: 'api' },
]

t.test('requests are routed by path prefix, header and method, with rewrite, headers, retries and timeout', async (t) => {
  const mesh = await startTopology()
  t.teardown(async () => { await mesh.stop() })
  const [api1, api2] = mesh.apiSidecars.map((sidecar) => sidecar.ports().inbound) as [number, number]
  const snapshot = {
    ...mesh.webSnapshot,
    upstreams: [{
      ...mesh.webSnapshot.upstreams[0]!,
      endpoints: [endpoint('api-1', api1)],
      routes,
      destinations: [{ name: 'api-v2', endpoints: [endpoint('api-2', api2)], connectTimeoutMs: 1000, requestTimeoutMs: 5000 }],
    }],
  }
  await mesh.web.update(snapshot)
  const appOf = (reply: Reply): string => (JSON.parse(reply.body) as { app: string }).app
  const pathOf = (reply: Reply): string => (JSON.parse(reply.body) as { path: string }).path

  const v2 = await get(mesh.port, '/v2/users?page=2', mesh.agent, { 'x-drop': 'secret', 'x-route': 'caller' })
  t.equal(v2.status, 200)
  t.equal(appOf(v2), 'api-2', 'the path prefix route goes to api-v2')
  t.equal(pathOf(v2), '/users?page=2', 'the prefix is rewritten, the query kept')
  t.equal(v2.headers['x-served-by'], 'v2', 'the response header is set')
  t.equal(mesh.apiApps[1]!.lastHeaders!['x-route'], 'v2', 'Set replaces the caller\'s value')
  t.equal(mesh.apiApps[1]!.lastHeaders!['x-added'], 'yes', 'Add adds')
  t.notOk('x-drop' in mesh.apiApps[1]!.lastHeaders!, 'Remove removes')

  t.equal(appOf(await get(mesh.port, '/users', mesh.agent, { 'x-canary': '1' })), 'api-2', 'the header route goes to api-v2')
  t.equal(appOf(await get(mesh.port, '/users', mesh.agent, { 'x-canary': '2' })), 'api-1', 'another header value falls through to the default route')
  const posted = await send('POST', mesh.port, '/users', mesh.agent)
  t.equal(appOf(posted), 'api-2', 'the method route goes to api-v2')
  const plain = await get(mesh.port, '/users', mesh.agent)
  t.equal(appOf(plain), 'api-1', 'the default route goes to the upstream itself')
  t.equal(pathOf(plain), '/users', 'no rewrite on the default route')
  t.equal(plain.headers['x-served-by'], undefined, 'no response header on the default route')

  mesh.apiApps[0]!.failWith = 500
  const before = mesh.apiApps[0]!.requests
  const failed = await get(mesh.port, '/retry', mesh.agent)
  t.equal(failed.status, 500, 'the last answer is passed on')
  t.equal(mesh.apiApps[0]!.requests - before, 3, 'the route retries 500 twice (NumRetries 2, RetryOnStatusCodes 500)')
  const beforeDefault = mesh.apiApps[0]!.requests
  t.equal((await get(mesh.port, '/other', mesh.agent)).status, 500)
  t.equal(mesh.apiApps[0]!.requests - beforeDefault, 1, 'the default route keeps the default policy, which does not retry a 500')
  mesh.apiApps[0]!.failWith = null

  mesh.apiApps[0]!.delayMs = 600
  const slow = await get(mesh.port, '/slow', mesh.agent)
  t.equal(slow.status, 504, 'the route\'s 150 ms request timeout answers 504')
  const patient = await get(mesh.port, '/patient', mesh.agent)
  t.equal(patient.status, 200, 'the default route keeps the upstream\'s 5 s timeout')
  mesh.apiApps[0]!.delayMs = 0

  const metrics = await mesh.web.metrics()
  t.match(metrics, /mesh_proxy_route_requests_total\{[^}]*upstream="api",route="0",destination="api-v2"\} 1/, 'the route counter names route and destination')
  t.match(metrics, /mesh_proxy_route_requests_total\{[^}]*route="5",destination="api"\}/, 'the default route is counted too')
  t.match(metrics, /mesh_proxy_requests_total\{[^}]*destination="api-v2"[^}]*\}/, 'requests are counted under the routed destination')
  const spans = mesh.web.traces().filter((span) => span.direction === 'outbound')
  const v2Span = spans.find((span) => span.path === '/users?page=2')
  t.same([v2Span?.destination, v2Span?.route], ['api-v2', 0], 'the span names the route and the destination it chose')
  t.ok(spans.some((span) => span.route === 5 && span.destination === 'api'), 'the default route is in the spans too')

  // A snapshot without the router goes back to the upstream alone, and api-v2's pool is drained.
  await mesh.web.update(mesh.webSnapshot)
  const back = await get(mesh.port, '/v2/users', mesh.agent)
  t.equal(pathOf(back), '/v2/users', 'without routes nothing is rewritten')
})
