// Specification of the read side: Consul's response shapes for nodes, services, instances and
// checks, tag and connect selection, and how membership (liveness) changes what queries see.

import t from 'tap'
import type { Test } from 'tap'
import { checkEntry, checkRecord, nodeEntry, openCatalog, serviceEntry, serviceRecord } from './fixtures.ts'

async function populated (t: Test) {
  const catalog = await openCatalog(t, 'self')
  await catalog.registerService(serviceRecord('web-1', { Tags: ['v1', 'primary'], Meta: { version: '1' } }), [checkRecord('web-1-http')])
  await catalog.merge([
    nodeEntry('n1', 1, { Meta: { rack: 'r1' } }),
    serviceEntry('n1', 'web-2', 2, { Tags: ['v2'] }),
    checkEntry('n1', 'web-2-http', 3, { ServiceID: 'web-2', ServiceName: 'web', Status: 'critical' }),
    serviceEntry('n1', 'web-sidecar-proxy', 4, { Service: 'web-sidecar-proxy', Kind: 'connect-proxy', Port: 21000, Proxy: { DestinationServiceName: 'web' } }),
    checkEntry('n1', 'disk', 5, { Status: 'warning' }),
    nodeEntry('n2', 1),
    serviceEntry('n2', 'db-1', 2),
  ])
  return catalog
}

t.test('nodes, node and datacenters have Consul\'s shapes', async t => {
  const catalog = await populated(t)
  t.same(catalog.nodes().map(node => node.Node), ['n1', 'n2', 'self'])
  t.match(catalog.nodes()[0], { Node: 'n1', ID: 'id-n1', Datacenter: 'dc1', Meta: { rack: 'r1' }, TaggedAddresses: {}, CreateIndex: Number, ModifyIndex: Number })
  const n1 = catalog.node('n1')!
  t.same(Object.keys(n1.Services).sort(), ['web-2', 'web-sidecar-proxy'])
  t.match(n1.Services['web-2'], { ID: 'web-2', Service: 'web', Tags: ['v2'], Port: 8080, CreateIndex: Number })
  t.equal(catalog.node('nope'), undefined)
  t.same(catalog.datacenters(), ['dc1'])
})

t.test('services lists every name with the union of its tags', async t => {
  const catalog = await populated(t)
  t.same(catalog.services(), { db: [], web: ['primary', 'v1', 'v2'], 'web-sidecar-proxy': [] })
})

t.test('serviceNodes answers /v1/catalog/service with tag selection (all tags must match)', async t => {
  const catalog = await populated(t)
  const all = catalog.serviceNodes('web')
  t.same(all.map(instance => [instance.Node, instance.ServiceID]), [['n1', 'web-2'], ['self', 'web-1']])
  t.match(all[1], {
    ID: 'id-self', Node: 'self', Address: String, Datacenter: 'dc1', NodeMeta: {}, ServiceKind: '', ServiceName: 'web',
    ServiceTags: ['v1', 'primary'], ServiceMeta: { version: '1' }, ServicePort: 8080, ServiceAddress: '',
    ServiceWeights: { Passing: 1, Warning: 1 }, ServiceEnableTagOverride: false, ServiceProxy: {}, ServiceConnect: {},
  })
  t.same(catalog.serviceNodes('web', { tag: ['v1', 'primary'] }).map(instance => instance.ServiceID), ['web-1'])
  t.same(catalog.serviceNodes('web', { tag: ['v1', 'v2'] }), [])
  t.same(catalog.serviceNodes('web', { connect: true }).map(instance => instance.ServiceID), ['web-sidecar-proxy'])
  t.same(catalog.serviceNodes('nope'), [])
})

t.test('healthService returns node and service checks, and passing keeps only all-passing instances', async t => {
  const catalog = await populated(t)
  const all = catalog.healthService('web')
  t.same(all.map(entry => entry.Service.ID), ['web-2', 'web-1'])
  t.same(all[0].Checks.map(check => [check.CheckID, check.Status]), [['serfHealth', 'passing'], ['disk', 'warning'], ['web-2-http', 'critical']])
  t.match(all[0].Checks[0], { Node: 'n1', Name: 'Serf Health Status', Type: 'serf', ServiceID: '', Output: 'Agent alive and reachable' })
  t.same(catalog.healthService('web', { passing: true }).map(entry => entry.Service.ID), ['web-1'])
  t.same(catalog.healthService('web', { tag: ['v2'] }).map(entry => entry.Service.ID), ['web-2'])
  t.same(catalog.healthService('web', { connect: true }).map(entry => entry.Service.ID), ['web-sidecar-proxy'], 'sidecars whose destination is web')
})

t.test('checks by service, by node and by state', async t => {
  const catalog = await populated(t)
  t.same(catalog.checksForService('web').map(check => check.CheckID), ['web-2-http', 'web-1-http'], 'service checks only')
  t.same(catalog.checksForNode('n1').map(check => check.CheckID), ['disk', 'serfHealth', 'web-2-http'])
  t.same(catalog.checksForNode('nope'), [])
  t.same(catalog.checksInState('critical').map(check => check.CheckID), ['web-2-http'])
  t.same(catalog.checksInState('warning').map(check => check.CheckID), ['disk'])
  t.same(catalog.checksInState('any').length, 6, '3 serfHealth + 3 real checks')
})

t.test('a failed node keeps its services but its serfHealth turns critical', async t => {
  const catalog = await populated(t)
  const index = catalog.index
  await catalog.setNodeLiveness('n2', 'failed')
  t.ok(catalog.index > index, 'liveness changes wake blocking queries')
  const [db] = catalog.healthService('db')
  t.match(db.Checks[0], { CheckID: 'serfHealth', Status: 'critical', Output: 'Agent not live or unreachable', ModifyIndex: index + 1 })
  t.same(catalog.healthService('db', { passing: true }), [])
  t.same(catalog.checksInState('critical').map(check => check.Node), ['n1', 'n2'])
  await catalog.setNodeLiveness('n2', 'alive')
  t.equal(catalog.healthService('db', { passing: true }).length, 1)
})

t.test('a node that left disappears from queries; stale copies do not bring it back, a republish does', async t => {
  const catalog = await populated(t)
  await catalog.setNodeLiveness('n2', 'left')
  t.same(catalog.nodes().map(node => node.Node), ['n1', 'self'])
  t.same(catalog.serviceNodes('db'), [])
  t.notOk('db' in catalog.services())
  t.equal(catalog.node('n2'), undefined)
  await catalog.merge([serviceEntry('n2', 'db-1', 2), nodeEntry('n2', 1)])
  t.same(catalog.serviceNodes('db'), [], 'copies it already had change nothing')
  t.equal(catalog.digest().nodes.n2.version, 2, 'versions are remembered meanwhile')
  await catalog.merge([nodeEntry('n2', 10)])
  t.same(catalog.serviceNodes('db').map(instance => instance.Node), ['n2'], 'a higher version means the node is back')
})

t.test('a reaped node is forgotten and copies up to its last version cannot resurrect it', async t => {
  const catalog = await populated(t)
  const changes: unknown[] = []
  catalog.onChange(change => changes.push(change))
  await catalog.setNodeLiveness('n2', 'reaped')
  t.same(catalog.serviceNodes('db'), [])
  t.notOk('n2' in catalog.digest().nodes)
  t.match(changes, [{ nodes: ['n2'], services: ['db'] }])
  t.same((await catalog.merge([nodeEntry('n2', 1), serviceEntry('n2', 'db-1', 2)])).applied, [])
  t.same(catalog.nodes().map(node => node.Node), ['n1', 'self'])
  await catalog.merge([nodeEntry('n2', 3), serviceEntry('n2', 'db-1', 4)])
  t.same(catalog.serviceNodes('db').map(instance => instance.Node), ['n2'], 'the node rejoined and wrote anew')
})

t.test('this agent\'s own liveness is not changed by membership events', async t => {
  const catalog = await populated(t)
  await catalog.setNodeLiveness('self', 'failed')
  t.equal(catalog.healthService('web', { passing: true }).length, 1)
})
