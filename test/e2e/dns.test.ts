// DNS through a real agent: a registration is answered at once, a change is visible in the next
// answer, a failed check takes the instance out, and names outside the domain are refused.

import t from 'tap'
import { Resolver } from 'node:dns/promises'
import { Cluster, http } from './harness.ts'

t.test('the agent answers DNS from its catalog', async (t) => {
  const cluster = new Cluster()
  t.teardown(async () => await cluster.cleanup())
  const agent = await cluster.start({ name: 'dns1', dnsPort: 0 })
  t.ok(agent.dnsPort !== undefined && agent.dnsPort > 0, 'the banner names the DNS port')
  const resolver = new Resolver({ timeout: 2000, tries: 1 })
  resolver.setServers([`127.0.0.1:${agent.dnsPort!}`])

  t.same(await resolver.resolve4('dns1.node.consul'), ['127.0.0.1'], 'the node answers its own A record')
  await t.rejects(resolver.resolveSrv('web.service.consul'), { code: 'ENOTFOUND' }, 'an unknown service is NXDOMAIN')

  await http(agent, 'PUT', '/v1/agent/service/register', { Name: 'web', ID: 'web-1', Address: '127.0.0.10', Port: 8080, Tags: ['v1'], Check: { TTL: '60s', Status: 'passing' } })
  const srv = await resolver.resolveSrv('web.service.consul')
  t.same(srv.map((record) => record.port), [8080], 'a registration is in the next answer')
  t.same(await resolver.resolve4('v1.web.service.consul'), ['127.0.0.10'], 'tag lookups answer')
  t.same((await resolver.resolveSrv('_web._v1.service.consul')).map((record) => record.port), [8080], 'RFC 2782 lookups answer')

  await http(agent, 'PUT', '/v1/agent/service/register', { Name: 'web', ID: 'web-2', Address: '127.0.0.11', Port: 8081, Check: { TTL: '60s', Status: 'passing' } })
  t.same((await resolver.resolve4('web.service.consul')).sort(), ['127.0.0.10', '127.0.0.11'], 'a second instance is in the next answer')

  await http(agent, 'PUT', '/v1/agent/check/fail/service:web-2')
  t.same(await resolver.resolve4('web.service.consul'), ['127.0.0.10'], 'a critical instance leaves the next answer')

  await http(agent, 'PUT', '/v1/agent/service/deregister/web-1')
  await http(agent, 'PUT', '/v1/agent/service/deregister/web-2')
  await t.rejects(resolver.resolve4('web.service.consul'), { code: 'ENOTFOUND' }, 'a deregistered service is gone from the next answer')
  await t.rejects(resolver.resolve4('example.org'), { code: 'EREFUSED' }, 'names outside the domain are refused without recursors')
})
