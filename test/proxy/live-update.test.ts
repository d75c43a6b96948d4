import t from 'tap'
import { connect as tlsConnect } from 'node:tls'
import { X509Certificate } from 'node:crypto'
import { cleanupPki } from './fixtures/certs.ts'
import { endpoint, get, openHandles, requestLoop, requestsReceived, settledHandles, upstream } from './fixtures/mesh.ts'
import { startTopology } from './fixtures/topology.ts'
import type { Topology } from './fixtures/topology.ts'
import type { Authorizer } from '../../api/authorizer.ts'

t.teardown(cleanupPki)
const handlesBefore = openHandles()

/** Runs a 4-wide request loop of `total` requests and calls `change` once after `at` of them. */
async function underLoad (mesh: Topology, total: number, at: number, change: () => Promise<void>): Promise<{ statuses: number[], errors: unknown[], bodies: string[], okBodiesAfter: string[] }> {
  let sent = 0
  let changed = false
  const okBodiesAfter: string[] = []
  const { promise: changeTime, resolve: timeToChange } = Promise.withResolvers<void>()
  const loop = requestLoop(4, () => sent >= total, async () => {
    if (++sent === at) timeToChange()
    const startedAfterChange = changed
    const reply = await get(mesh.port, `/live/${sent}`, mesh.agent)
    if (startedAfterChange && reply.status === 200) okBodiesAfter.push(reply.body)
    return reply
  })
  await changeTime
  await change()
  changed = true
  return { ...(await loop), okBodiesAfter }
}

function serverCertificate (port: number, mesh: Topology): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, ca: mesh.pki.rootPem, cert: mesh.pki.web.certPem, key: mesh.pki.web.keyPem, checkServerIdentity: () => undefined }, () => {
      resolve(socket.getPeerX509Certificate()!.fingerprint256)
      socket.destroy()
    })
    socket.on('error', reject)
  })
}

t.test('certificates rotate under load without a failed request', async (t) => {
  const mesh = await startTopology()
  const result = await underLoad(mesh, 300, 100, async () => {
    await mesh.web.update({ ...mesh.webSnapshot, tls: { ...mesh.webSnapshot.tls, certChainPem: mesh.pki.webRotated.certPem, keyPem: mesh.pki.webRotated.keyPem } })
    await mesh.apiSidecars[0]!.update({ ...mesh.apiSnapshots[0]!, tls: { ...mesh.apiSnapshots[0]!.tls, certChainPem: mesh.pki.api1Rotated.certPem, keyPem: mesh.pki.api1Rotated.keyPem } })
  })
  t.same(result.errors, [])
  t.same(result.bodies, [], 'every request answered 200')
  t.equal(result.statuses.length, 300)
  const presented = await serverCertificate(mesh.apiSidecars[0]!.ports().inbound, mesh)
  t.equal(presented, new X509Certificate(mesh.pki.api1Rotated.certPem).fingerprint256, 'new connections get the rotated certificate')
  t.equal(mesh.web.stats().upstreams.api!.drainingPools, 0, 'the old connection pools have drained')
  await mesh.stop()
})

t.test('endpoints are added and removed under load without a failed request', async (t) => {
  const mesh = await startTopology()
  const [api1, api2] = mesh.apiSidecars.map((s) => s.ports().inbound)
  await mesh.web.update({ ...mesh.webSnapshot, upstreams: [upstream([endpoint('api-1', api1!)])] })
  const added = await underLoad(mesh, 200, 60, async () => {
    await mesh.web.update({ ...mesh.webSnapshot, upstreams: [upstream([endpoint('api-1', api1!), endpoint('api-2', api2!)])] })
  })
  t.same([added.errors, added.bodies], [[], []])
  t.ok(added.okBodiesAfter.some((body) => body.includes('api-2')), 'the new endpoint gets traffic')
  const removed = await underLoad(mesh, 200, 60, async () => {
    await mesh.web.update({ ...mesh.webSnapshot, upstreams: [upstream([endpoint('api-2', api2!)])] })
  })
  t.same([removed.errors, removed.bodies], [[], []])
  t.notOk(removed.okBodiesAfter.some((body) => body.includes('api-1')), 'the removed endpoint gets no new request')
  t.same(mesh.web.stats().upstreams.api, { endpoints: 1, ejected: 0, outstanding: 0, drainingPools: 0 })
  await mesh.stop()
})

t.test('an intention change applies to the next request and lets requests in flight finish', async (t) => {
  const mesh = await startTopology()
  for (const app of mesh.apiApps) app.delayMs = 150
  const inFlight = [get(mesh.port, '/slow-1', mesh.agent), get(mesh.port, '/slow-2', mesh.agent)]
  await requestsReceived(mesh.apiApps, 2)
  // An L7 intention: connections stay allowed, requests are denied.
  const deny: Authorizer = (request) => request.http === undefined
    ? { allowed: true, reason: 'L7 rules apply per request' }
    : { allowed: false, reason: 'intention web => api changed to deny' }
  for (const [i, sidecar] of mesh.apiSidecars.entries()) await sidecar.update({ ...mesh.apiSnapshots[i]!, authorize: deny })
  const after = await get(mesh.port, '/after', mesh.agent)
  t.equal(after.status, 403)
  t.match(after.body, 'changed to deny')
  t.same((await Promise.all(inFlight)).map((r) => r.status), [200, 200], 'requests already past authorization finish')
  await mesh.stop()
})

t.test('shifting canary weights applies to the next request and drops none', async (t) => {
  const mesh = await startTopology({ subsets: ['v1', 'v2'], upstream: { split: [{ subset: 'v1', weight: 100 }, { subset: 'v2', weight: 0 }] } })
  const before = await Promise.all(Array.from({ length: 10 }, () => get(mesh.port, '/', mesh.agent)))
  t.ok(before.every((r) => r.body.includes('api-1')), 'all traffic on v1')
  const shifted = await underLoad(mesh, 200, 60, async () => {
    const base = mesh.webSnapshot.upstreams[0]!
    await mesh.web.update({ ...mesh.webSnapshot, upstreams: [{ ...base, split: [{ subset: 'v1', weight: 0 }, { subset: 'v2', weight: 100 }] }] })
  })
  t.same([shifted.errors, shifted.bodies], [[], []])
  t.ok(shifted.okBodiesAfter.length > 0)
  t.ok(shifted.okBodiesAfter.every((body) => body.includes('api-2')), 'every request started after the update went to v2')
  await mesh.stop()
})

t.test('layers an update configures, or stops configuring, apply to the next request on both sides', async (t) => {
  // The stacks are rebuilt per snapshot without the layers nothing configures: adding faults
  // and limits must put them back, removing them must take them out.
  const mesh = await startTopology()
  t.equal((await get(mesh.port, '/', mesh.agent)).status, 200)
  const base = mesh.webSnapshot.upstreams[0]!
  await mesh.web.update({ ...mesh.webSnapshot, upstreams: [{ ...base, faults: [{ abortStatusCode: 418, abortPercent: 100 }] }] })
  t.equal((await get(mesh.port, '/', mesh.agent)).status, 418, 'outbound fault added')
  await mesh.web.update({ ...mesh.webSnapshot, upstreams: [{ ...base, faults: [] }] })
  t.equal((await get(mesh.port, '/', mesh.agent)).status, 200, 'outbound fault removed')
  const api = mesh.apiSnapshots.map((snapshot) => ({ ...snapshot, inbound: { ...snapshot.inbound, faults: [{ abortStatusCode: 451, abortPercent: 100 }] } }))
  await Promise.all(mesh.apiSidecars.map((sidecar, i) => sidecar.update(api[i]!)))
  t.equal((await get(mesh.port, '/', mesh.agent)).status, 451, 'inbound fault added')
  await Promise.all(mesh.apiSidecars.map((sidecar, i) => sidecar.update(mesh.apiSnapshots[i]!)))
  t.equal((await get(mesh.port, '/', mesh.agent)).status, 200, 'inbound fault removed')
  await mesh.stop()
})

t.test('no sockets or servers are left behind', async (t) => {
  t.equal(await settledHandles(handlesBefore), handlesBefore)
})
