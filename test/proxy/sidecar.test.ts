import t from 'tap'
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { startSidecar } from '../../proxy/sidecar.ts'
import { cleanupPki, testPki } from './fixtures/certs.ts'
import { get, openHandles, requestsReceived, settledHandles, snapshotFor, startEchoApp } from './fixtures/mesh.ts'
import { startTopology } from './fixtures/topology.ts'

t.teardown(cleanupPki)
const handlesBefore = openHandles()

t.test('startSidecar needs nothing outside proxy/ and the shared api/: its whole import graph stays in the two', async (t) => {
  const proxyDir = new URL('../../proxy/', import.meta.url).pathname
  const apiDir = new URL('../../api/', import.meta.url).pathname
  const seen = new Set<string>()
  const visit = (file: string): void => {
    if (seen.has(file)) return
    seen.add(file)
    // api/ is the dependency-free shared layer: once inside it, the graph must stay in it.
    const allowed = file.startsWith(apiDir) ? [apiDir] : [proxyDir, apiDir]
    for (const match of readFileSync(file, 'utf8').matchAll(/from '(\.[^']+)'/g)) {
      const target = join(dirname(file), match[1]!)
      const inside = allowed.some((dir) => target.startsWith(dir))
      t.ok(inside, `${file.slice(dirname(proxyDir.slice(0, -1)).length)} imports ${match[1]} inside ${allowed.length === 1 ? 'api/' : 'proxy/ or api/'}`)
      if (inside) visit(target)
    }
  }
  visit(join(proxyDir, 'sidecar.ts'))
  t.ok(seen.size > 10, `walked ${seen.size} files`)
})

t.test('an invalid snapshot is refused at start and at update, and the running one stays', async (t) => {
  const pki = testPki()
  const app = await startEchoApp('api')
  const good = snapshotFor({ service: 'api', leaf: pki.api1, pki, appPort: app.port })
  await t.rejects(startSidecar({ snapshot: { ...good, tls: { ...good.tls, rootsPem: [] } } }), { code: 'MESH_ERR_PROXY_INVALID_SNAPSHOT' })
  const sidecar = await startSidecar({ snapshot: good })
  await t.rejects(sidecar.update({ ...good, authorize: null as never }), { code: 'MESH_ERR_PROXY_INVALID_SNAPSHOT' })
  t.ok(sidecar.ports().inbound > 0)
  await sidecar.stop({ drainMs: 0 })
  await app.close()
})

t.test('stop lets a request in progress finish, then closes everything', async (t) => {
  const mesh = await startTopology()
  for (const app of mesh.apiApps) app.delayMs = 100
  const inFlight = get(mesh.port, '/finishing', mesh.agent)
  await requestsReceived(mesh.apiApps, 1)
  const stopped = mesh.web.stop({ drainMs: 5000 })
  const reply = await inFlight
  t.equal(reply.status, 200, 'the request in progress was answered')
  t.equal(reply.headers.connection, 'close', 'and told the client the connection is closing')
  await stopped
  await t.rejects(get(mesh.port, '/after-stop', false), { code: 'ECONNREFUSED' }, 'the listener is gone')
  await mesh.stop()
})

t.test('upstreams added and removed by update() open and close their listeners', async (t) => {
  const mesh = await startTopology()
  const base = mesh.webSnapshot.upstreams[0]!
  await mesh.web.update({ ...mesh.webSnapshot, upstreams: [base, { ...base, destinationName: 'api-copy' }] })
  const copyPort = mesh.web.ports().upstreams['api-copy']!
  t.equal((await get(copyPort, '/', false)).status, 200)
  await mesh.web.update({ ...mesh.webSnapshot, upstreams: [base] })
  t.same(Object.keys(mesh.web.ports().upstreams), ['api'])
  await t.rejects(get(copyPort, '/', false), { code: 'ECONNREFUSED' })
  await mesh.stop()
})

t.test('reusePort: sidecars of one snapshot share their ports; without it the second cannot bind', async (t) => {
  const pki = testPki()
  const app = await startEchoApp('api-1')
  const first = await startSidecar({ snapshot: snapshotFor({ service: 'api', leaf: pki.api1, pki, appPort: app.port }), reusePort: true })
  const port = first.ports().inbound
  const fixed = snapshotFor({ service: 'api', leaf: pki.api1, pki, appPort: app.port })
  const shared = { ...fixed, inbound: { ...fixed.inbound, bindPort: port } }
  const second = await startSidecar({ snapshot: shared, reusePort: true })
  t.equal(second.ports().inbound, port, 'both listen on the same port')
  await t.rejects(startSidecar({ snapshot: shared }), { code: 'EADDRINUSE' }, 'a listener without reusePort is refused')
  await second.stop({ drainMs: 10 })
  await first.stop({ drainMs: 10 })
  await app.close()
})

t.test('no sockets or servers are left behind', async (t) => {
  t.equal(await settledHandles(handlesBefore), handlesBefore)
})
