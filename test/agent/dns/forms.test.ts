// Consul's query forms answered through a real resolver (node:dns, c-ares) against the in-memory view.

import t from 'tap'
import type { Test } from 'tap'
import { Resolver } from 'node:dns/promises'
import { MemoryView, startServer } from './fixture.ts'

function catalog (): MemoryView {
  const view = new MemoryView()
  view.addNode('alpha', '10.0.0.1', { rack: 'r1', 'rfc1035-raw': 'v=spf1' })
  view.addNode('beta', '10.0.0.2')
  view.addNode('gamma', 'fd00::3')
  view.addService('web', 'alpha', { tags: ['v1', 'Primary'], port: 8001 })
  view.addService('web', 'beta', { tags: ['v2'], port: 8002 })
  view.addService('web', 'alpha', { tags: ['v2'], port: 8003, serviceAddress: '10.9.9.9' })
  view.addService('db', 'gamma', { port: 5432 })
  view.addService('sick', 'alpha', { status: 'critical' })
  view.addService('maint', 'alpha', { status: 'maintenance' })
  view.addService('shaky', 'alpha', { status: 'warning' })
  view.addService('shaky', 'beta', { status: 'passing' })
  view.addService('web-sidecar-proxy', 'beta', { port: 21000, proxyFor: 'web' })
  view.addService('ext', 'beta', { serviceAddress: 'example.internal', port: 443 })
  return view
}

async function resolverFor (t: Test, init: Parameters<typeof startServer>[1] = {}): Promise<Resolver> {
  const { server, port } = await startServer(catalog(), init)
  t.teardown(() => server.stop())
  const resolver = new Resolver({ timeout: 1000, tries: 1 })
  resolver.setServers([`127.0.0.1:${port}`])
  return resolver
}

const sortedPorts = (records: Array<{ port: number }>): number[] => records.map((record) => record.port).sort()

t.test('<service>.service.<domain> A answers every usable instance address once', async (t) => {
  const resolver = await resolverFor(t)
  t.same((await resolver.resolve4('web.service.consul')).sort(), ['10.0.0.1', '10.0.0.2', '10.9.9.9'])
})

t.test('SRV answers target the node name, or an addr name for a distinct service address', async (t) => {
  const resolver = await resolverFor(t)
  const records = await resolver.resolveSrv('web.service.consul')
  t.same(sortedPorts(records), [8001, 8002, 8003])
  const byPort = new Map(records.map((record) => [record.port, record]))
  t.equal(byPort.get(8001)!.name, 'alpha.node.dc1.consul')
  t.equal(byPort.get(8002)!.name, 'beta.node.dc1.consul')
  t.equal(byPort.get(8003)!.name, '0a090909.addr.dc1.consul')
  t.same(await resolver.resolve4('0a090909.addr.dc1.consul'), ['10.9.9.9'], 'addr names resolve')
})

t.test('SRV of a service registered with a host name targets that name', async (t) => {
  const resolver = await resolverFor(t)
  const [record] = await resolver.resolveSrv('ext.service.consul')
  t.equal(record!.name, 'example.internal')
  t.equal(record!.port, 443)
})

t.test('<tag>.<service>.service filters by tag, case-insensitively', async (t) => {
  const resolver = await resolverFor(t)
  t.same(sortedPorts(await resolver.resolveSrv('v2.web.service.consul')), [8002, 8003])
  t.same(sortedPorts(await resolver.resolveSrv('PRIMARY.web.service.consul')), [8001])
  await t.rejects(resolver.resolveSrv('v9.web.service.consul'), { code: 'ENOTFOUND' }, 'unknown tag is NXDOMAIN')
})

t.test('RFC 2782 _<service>._<tag> form; _tcp means any tag', async (t) => {
  const resolver = await resolverFor(t)
  t.same(sortedPorts(await resolver.resolveSrv('_web._tcp.service.consul')), [8001, 8002, 8003])
  t.same(sortedPorts(await resolver.resolveSrv('_web._v1.service.consul')), [8001])
})

t.test('<service>.service.<dc>.<domain> answers for our datacenter, NXDOMAIN for another', async (t) => {
  const resolver = await resolverFor(t)
  t.same(sortedPorts(await resolver.resolveSrv('web.service.dc1.consul')), [8001, 8002, 8003])
  t.same(sortedPorts(await resolver.resolveSrv('v1.web.service.dc1.consul')), [8001])
  await t.rejects(resolver.resolveSrv('web.service.dc2.consul'), { code: 'ENOTFOUND' })
})

t.test('AAAA answers IPv6 instances; A on an IPv6-only service is an empty NOERROR', async (t) => {
  const resolver = await resolverFor(t)
  t.same(await resolver.resolve6('db.service.consul'), ['fd00::3'])
  await t.rejects(resolver.resolve4('db.service.consul'), { code: 'ENODATA' })
})

t.test('names are case-insensitive', async (t) => {
  const resolver = await resolverFor(t)
  t.same((await resolver.resolve4('WEB.Service.CONSUL')).sort(), ['10.0.0.1', '10.0.0.2', '10.9.9.9'])
  t.same(await resolver.resolve4('Alpha.NODE.consul'), ['10.0.0.1'])
})

t.test('critical and maintenance instances are never answered; warning ones are unless onlyPassing', async (t) => {
  const resolver = await resolverFor(t)
  await t.rejects(resolver.resolve4('sick.service.consul'), { code: 'ENOTFOUND' })
  await t.rejects(resolver.resolve4('maint.service.consul'), { code: 'ENOTFOUND' })
  t.same((await resolver.resolve4('shaky.service.consul')).sort(), ['10.0.0.1', '10.0.0.2'])
  const strict = await resolverFor(t, { onlyPassing: true })
  t.same(await strict.resolve4('shaky.service.consul'), ['10.0.0.2'])
})

t.test('<node>.node.<domain> answers A and the node meta as TXT', async (t) => {
  const resolver = await resolverFor(t)
  t.same(await resolver.resolve4('alpha.node.consul'), ['10.0.0.1'])
  t.same(await resolver.resolve4('alpha.node.dc1.consul'), ['10.0.0.1'])
  t.same(await resolver.resolve6('gamma.node.consul'), ['fd00::3'])
  t.same((await resolver.resolveTxt('alpha.node.consul')).map((chunks) => chunks.join('')).sort(), ['rack=r1', 'v=spf1'])
  await t.rejects(resolver.resolve4('nobody.node.consul'), { code: 'ENOTFOUND' })
  await t.rejects(resolver.resolveTxt('beta.node.consul'), { code: 'ENODATA' }, 'node without meta has no TXT')
})

t.test('ANY on a node answers its address and meta', async (t) => {
  const resolver = await resolverFor(t)
  const records = await resolver.resolveAny('alpha.node.consul')
  t.same(records.map((record) => record.type).sort(), ['A', 'TXT', 'TXT'])
})

t.test('ANY on a service answers its addresses', async (t) => {
  const resolver = await resolverFor(t)
  const records = await resolver.resolveAny('web.service.consul')
  t.same(records.map((record) => (record as { address: string }).address).sort(), ['10.0.0.1', '10.0.0.2', '10.9.9.9'])
})

t.test('<service>.connect.<domain> answers the sidecar proxies', async (t) => {
  const resolver = await resolverFor(t)
  const records = await resolver.resolveSrv('web.connect.consul')
  t.same(records.map((record) => [record.name, record.port]), [['beta.node.dc1.consul', 21000]])
  t.same(await resolver.resolve4('web.connect.consul'), ['10.0.0.2'])
  await t.rejects(resolver.resolve4('db.connect.consul'), { code: 'ENOTFOUND' })
})

t.test('the alt domain answers like the domain, with SRV targets in the alt domain', async (t) => {
  const resolver = await resolverFor(t, { domain: 'mesh.', altDomain: 'other.example' })
  t.same((await resolver.resolve4('web.service.mesh')).sort(), ['10.0.0.1', '10.0.0.2', '10.9.9.9'])
  const records = await resolver.resolveSrv('v1.web.service.other.example')
  t.same(records.map((record) => record.name), ['alpha.node.dc1.other.example'])
  await t.rejects(resolver.resolve4('web.service.consul'), { code: 'EREFUSED' }, 'the default domain is no longer ours')
})

t.test('TTLs: nodeTtlS for nodes, serviceTtlS with exact, prefix* and * overrides for services', async (t) => {
  const resolver = await resolverFor(t, { nodeTtlS: 7, serviceTtlS: 3, serviceTtlOverrides: { web: 11, 'sh*': 13, '*': 5 } })
  const ttlOf = async (name: string): Promise<number> => (await resolver.resolve4(name, { ttl: true }))[0]!.ttl
  t.equal(await ttlOf('alpha.node.consul'), 7)
  t.equal(await ttlOf('web.service.consul'), 11)
  t.equal(await ttlOf('shaky.service.consul'), 13)
  t.equal((await resolver.resolve6('db.service.consul', { ttl: true }))[0]!.ttl, 5, "'*' covers the rest")
  const plain = await resolverFor(t, { serviceTtlS: 3 })
  t.equal((await plain.resolve4('web.service.consul', { ttl: true }))[0]!.ttl, 3, 'no override: serviceTtlS')
})

t.test('answers come in random order, driven by the injected random source', async (t) => {
  const view = new MemoryView()
  for (let index = 1; index <= 6; index++) {
    view.addNode(`n${index}`, `10.0.1.${index}`)
    view.addService('pool', `n${index}`)
  }
  const { server, port } = await startServer(view)
  t.teardown(() => server.stop())
  const resolver = new Resolver({ timeout: 1000, tries: 1 })
  resolver.setServers([`127.0.0.1:${port}`])
  const orders = new Set<string>()
  for (let round = 0; round < 10; round++) orders.add((await resolver.resolve4('pool.service.consul')).join(','))
  t.ok(orders.size > 1, `several orders seen (${orders.size})`)
  for (const order of orders) t.equal(order.split(',').sort().join(','), '10.0.1.1,10.0.1.2,10.0.1.3,10.0.1.4,10.0.1.5,10.0.1.6')

  const fixed = await startServer(view, { random: () => 0 })
  t.teardown(() => fixed.server.stop())
  resolver.setServers([`127.0.0.1:${fixed.port}`])
  const first = (await resolver.resolve4('pool.service.consul')).join(',')
  t.equal((await resolver.resolve4('pool.service.consul')).join(','), first, 'a constant source gives a constant order')
})
