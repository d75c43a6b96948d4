// Specification of /v1/catalog/*: Consul's shapes and status codes, `?tag`, `?node-meta`,
// `?filter` (400 when it does not parse), `?dc` (500 "No path to datacenter") and blocking queries.

import t from 'tap'
import type { Test } from 'tap'
import { AnswerCache } from '../../../agent/http/answer-cache.ts'
import { buildHttpServer } from '../../../agent/http/server.ts'
import { registerCatalogRoutes } from '../../../agent/http/catalog-routes.ts'
import { checkRecord, nodeEntry, openCatalog, serviceEntry, serviceRecord } from '../../catalog/fixtures.ts'

async function setup (t: Test) {
  const catalog = await openCatalog(t, 'self')
  await catalog.registerService(serviceRecord('web-1', { Tags: ['v1'], Meta: { version: '1.0' } }), [checkRecord('web-1-ttl')])
  await catalog.merge([
    nodeEntry('n1', 1, { Meta: { rack: 'r1' } }),
    serviceEntry('n1', 'web-2', 2, { Tags: ['v2'], Meta: { version: '2.0' } }),
    serviceEntry('n1', 'web-sidecar-proxy', 3, { Service: 'web-sidecar-proxy', Kind: 'connect-proxy', Proxy: { DestinationServiceName: 'web' } }),
  ])
  const app = buildHttpServer()
  // Every route test goes through the answer cache, as the agent wires it.
  const answers = new AnswerCache()
  registerCatalogRoutes(app, { catalog, random: () => 0, answers })
  t.teardown(async () => { await app.close() })
  return { app, catalog }
}

t.test('GET /v1/catalog/services maps names to tags, with the index headers', async t => {
  const { app, catalog } = await setup(t)
  const response = await app.inject('/v1/catalog/services')
  t.equal(response.statusCode, 200)
  t.same(response.json(), { web: ['v1', 'v2'], 'web-sidecar-proxy': [] })
  t.equal(response.headers['x-consul-index'], String(catalog.index))
  t.equal(response.headers['x-consul-knownleader'], 'true')
  t.same((await app.inject('/v1/catalog/services?node-meta=rack:r1')).json(), { web: ['v2'], 'web-sidecar-proxy': [] })
  t.same((await app.inject(`/v1/catalog/services?filter=${encodeURIComponent('ServiceMeta.version == "1.0"')}`)).json(), { web: ['v1'] })
})

t.test('GET /v1/catalog/service/:service selects by tag, node-meta and filter', async t => {
  const { app } = await setup(t)
  const all = (await app.inject('/v1/catalog/service/web')).json()
  t.same(all.map((instance: { ServiceID: string }) => instance.ServiceID), ['web-2', 'web-1'])
  t.match(all[1], { Node: 'self', ServiceName: 'web', ServiceTags: ['v1'], ServicePort: 8080, Datacenter: 'dc1', CreateIndex: Number })
  t.same((await app.inject('/v1/catalog/service/web?tag=v1')).json().map((i: { ServiceID: string }) => i.ServiceID), ['web-1'])
  t.same((await app.inject('/v1/catalog/service/web?tag=v1&tag=v2')).json(), [], 'repeated tags must all match')
  t.same((await app.inject('/v1/catalog/service/web?node-meta=rack:r1')).json().map((i: { Node: string }) => i.Node), ['n1'])
  const filtered = await app.inject(`/v1/catalog/service/web?filter=${encodeURIComponent('ServiceMeta.version matches "^2" and Node == n1')}`)
  t.same(filtered.json().map((i: { ServiceID: string }) => i.ServiceID), ['web-2'])
  t.same((await app.inject('/v1/catalog/service/nothing')).json(), [])
})

t.test('GET /v1/catalog/connect/:service lists the sidecars of a service', async t => {
  const { app } = await setup(t)
  const proxies = (await app.inject('/v1/catalog/connect/web')).json()
  t.same(proxies.map((i: { ServiceID: string, ServiceKind: string }) => [i.ServiceID, i.ServiceKind]), [['web-sidecar-proxy', 'connect-proxy']])
  t.match(proxies[0].ServiceProxy, { DestinationServiceName: 'web' })
})

t.test('GET /v1/catalog/nodes and /v1/catalog/node/:node (null for an unknown node, as Consul)', async t => {
  const { app } = await setup(t)
  t.same((await app.inject('/v1/catalog/nodes')).json().map((node: { Node: string }) => node.Node), ['n1', 'self'])
  t.same((await app.inject('/v1/catalog/nodes?node-meta=rack:r1')).json().map((node: { Node: string }) => node.Node), ['n1'])
  t.same((await app.inject('/v1/catalog/nodes?filter=Meta.rack%20is%20empty')).json().map((node: { Node: string }) => node.Node), ['self'])
  const node = (await app.inject('/v1/catalog/node/n1')).json()
  t.same(Object.keys(node.Services).sort(), ['web-2', 'web-sidecar-proxy'])
  t.equal(node.Node.Node, 'n1')
  const filtered = (await app.inject('/v1/catalog/node/n1?filter=Kind%20%3D%3D%20%22connect-proxy%22')).json()
  t.same(Object.keys(filtered.Services), ['web-sidecar-proxy'])
  const unknown = await app.inject('/v1/catalog/node/ghost')
  t.equal(unknown.statusCode, 200)
  t.equal(unknown.body, 'null')
  t.same((await app.inject('/v1/catalog/datacenters')).json(), ['dc1'])
})

t.test('bad filter, bad index and bad node-meta are 400; another datacenter is 500', async t => {
  const { app } = await setup(t)
  const badFilter = await app.inject(`/v1/catalog/service/web?filter=${encodeURIComponent('ServiceTags ==')}`)
  t.equal(badFilter.statusCode, 400)
  t.match(badFilter.body, /expected a value.*position 14/)
  t.equal((await app.inject('/v1/catalog/services?index=abc')).statusCode, 400)
  t.equal((await app.inject('/v1/catalog/nodes?node-meta=novalue')).statusCode, 400)
  const otherDc = await app.inject('/v1/catalog/services?dc=dc2')
  t.equal(otherDc.statusCode, 500)
  t.equal(otherDc.body, 'No path to datacenter')
  t.equal((await app.inject('/v1/catalog/services?dc=dc1')).statusCode, 200)
})

t.test('a blocking query wakes on a change and answers with the new index', async t => {
  const { app, catalog } = await setup(t)
  const index = catalog.index
  const pending = app.inject(`/v1/catalog/service/api?index=${index}&wait=30s`)
  await catalog.registerService(serviceRecord('api-1'), [])
  const response = await pending
  t.equal(response.headers['x-consul-index'], String(index + 1))
  t.same(response.json().map((i: { ServiceID: string }) => i.ServiceID), ['api-1'])
})

t.test('a blocking query returns the unchanged index when its wait runs out', async t => {
  const { app, catalog } = await setup(t)
  const index = catalog.index
  const response = await app.inject(`/v1/catalog/services?index=${index}&wait=5ms`)
  t.equal(response.statusCode, 200)
  t.equal(response.headers['x-consul-index'], String(index))
})
