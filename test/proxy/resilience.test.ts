import t from 'tap'
import { cleanupPki } from './fixtures/certs.ts'
import { endpoint, get, openHandles, requestLoop, settledHandles, upstream } from './fixtures/mesh.ts'
import { startTopology } from './fixtures/topology.ts'

t.teardown(cleanupPki)
const handlesBefore = openHandles()

t.test('killing one api instance under a steady request loop fails no request', async (t) => {
  const mesh = await startTopology()
  let sent = 0
  let killed = false
  const { promise: killTime, resolve: timeToKill } = Promise.withResolvers<void>()
  const loop = requestLoop(4, () => sent >= 400, () => {
    if (++sent === 200) timeToKill()
    return get(mesh.port, `/steady/${sent}`, mesh.agent)
  })
  await killTime
  const servedBeforeKill = mesh.apiApps[1]!.requests
  await mesh.apiSidecars[1]!.stop({ drainMs: 0 })
  await mesh.apiApps[1]!.close()
  killed = true
  const { statuses, errors, bodies } = await loop
  t.ok(killed)
  t.ok(servedBeforeKill > 0, 'api-2 was serving before it died')
  t.same(errors, [], 'no client-side error')
  t.same(bodies, [], 'every request answered 200')
  t.equal(statuses.filter((s) => s === 200).length, 400)
  const stats = mesh.web.stats()
  t.ok(stats.retries <= 0.2 * 400 + 10 * 10, `retries (${stats.retries}) stay within the budget`)
  mesh.apiSidecars.pop()
  await mesh.stop()
})

t.test('an instance answering 5xx is ejected after 5 in a row; traffic goes to the healthy one', async (t) => {
  const mesh = await startTopology()
  mesh.apiApps[1]!.failWith = 500
  // P2C sends everything to whichever endpoint answers faster, which on loopback is a coin flip
  // decided by the first handshakes: make the healthy one slower so the failing one keeps being
  // picked until it is ejected.
  mesh.apiApps[0]!.delayMs = 25
  let failures = 0
  for (let i = 0; i < 200 && mesh.web.stats().ejections === 0; i++) {
    if ((await get(mesh.port, '/', mesh.agent)).status === 500) failures++
  }
  t.equal(mesh.web.stats().ejections, 1)
  t.equal(failures, 5, 'exactly the 5 consecutive failures that trigger ejection reached the caller')
  mesh.apiApps[0]!.delayMs = 0
  for (let i = 0; i < 20; i++) t.equal((await get(mesh.port, '/', mesh.agent)).status, 200)
  t.equal(mesh.web.stats().upstreams.api!.ejected, 1)
  t.match(await mesh.web.metrics(), /mesh_proxy_outlier_ejections_total\{proxy="web-sidecar-proxy",destination="api"\} 1/)
  await mesh.stop()
})

t.test('a slow upstream gets a 504 after the request timeout', async (t) => {
  const mesh = await startTopology({ upstream: { requestTimeoutMs: 100 } })
  for (const app of mesh.apiApps) app.delayMs = 2000
  const reply = await get(mesh.port, '/slow', mesh.agent)
  t.equal(reply.status, 504)
  t.equal(reply.headers['x-mesh-error'], 'MESH_ERR_PROXY_REQUEST_TIMEOUT')
  await mesh.stop()
})

t.test('an upstream with no endpoint answers 503 saying so', async (t) => {
  const mesh = await startTopology()
  await mesh.web.update({ ...mesh.webSnapshot, upstreams: [upstream([])] })
  const reply = await get(mesh.port, '/', mesh.agent)
  t.equal(reply.status, 503)
  t.equal(reply.headers['x-mesh-error'], 'MESH_ERR_PROXY_NO_HEALTHY_ENDPOINT')
  t.equal(reply.body, 'no healthy endpoint for api\n')
  await mesh.stop()
})

t.test('inbound fault injection and rate limits act before the app', async (t) => {
  const mesh = await startTopology({
    apiSnapshot: (s) => ({
      ...s,
      inbound: {
        ...s.inbound,
        faults: [{ pathPrefix: '/chaos', abortStatusCode: 418, abortPercent: 100 }],
        rateLimits: [{ scope: 'path', pathPrefix: '/limited', requestsPerSecond: 0.001, burst: 2 }]
      }
    })
  })
  const chaos = await get(mesh.port, '/chaos', mesh.agent)
  t.equal(chaos.status, 418)
  t.equal(chaos.headers['x-mesh-error'], 'MESH_ERR_PROXY_FAULT_ABORT')
  // One instance only, so one bucket of 2 decides.
  await mesh.web.update({ ...mesh.webSnapshot, upstreams: [upstream([endpoint('api-1', mesh.apiSidecars[0]!.ports().inbound)])] })
  const limited = []
  for (let i = 0; i < 5; i++) limited.push((await get(mesh.port, '/limited', mesh.agent)).status)
  t.same(limited, [200, 200, 429, 429, 429])
  t.equal(mesh.apiApps[0]!.requests, 2, 'refused requests never reached the app')
  const refused = await get(mesh.port, '/limited', mesh.agent)
  t.equal(refused.headers['x-mesh-error'], 'MESH_ERR_PROXY_RATE_LIMITED')
  await mesh.stop()
})

t.test('over the concurrency limits the outbound side answers 503 at once', async (t) => {
  const mesh = await startTopology({ upstream: { limits: { maxConcurrentRequests: 1, maxPendingRequests: 0 } } })
  for (const app of mesh.apiApps) app.delayMs = 200
  const [first, second] = await Promise.all([get(mesh.port, '/a', mesh.agent), get(mesh.port, '/b', mesh.agent)])
  t.same([first.status, second.status].sort(), [200, 503])
  t.equal([first, second].find((r) => r.status === 503)!.headers['x-mesh-error'], 'MESH_ERR_PROXY_OVERLOADED')
  await mesh.stop()
})

t.test('no sockets or servers are left behind', async (t) => {
  t.equal(await settledHandles(handlesBefore), handlesBefore)
})
