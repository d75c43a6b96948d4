import t from 'tap'
import { aggregatedStatus } from '../../cli/commands/health.ts'
import { startFakeAgent } from './fixtures/fake-agent.ts'
import { runCli } from './fixtures/run-cli.ts'

// Every case runs the real CLI as a process: allow for a loaded 2-core machine.
t.setTimeout(180_000)

t.test('catalog services lists names, with tags on request, sorted', async t => {
  const agent = await startFakeAgent({ 'GET /v1/catalog/services': { body: { web: ['v1', 'primary'], api: [], consul: null } } })
  t.teardown(() => agent.close())
  const names = await runCli(['catalog', 'services'], { httpAddr: agent.httpAddr })
  t.equal(names.stdout, 'Service\napi\nconsul\nweb\n')
  const tags = await runCli(['catalog', 'services', '--tags'], { httpAddr: agent.httpAddr })
  t.equal(tags.stdout, 'Service  Tags\napi\nconsul\nweb      v1,primary\n')
  const json = await runCli(['catalog', 'services', '--format', 'json'], { httpAddr: agent.httpAddr })
  t.same(JSON.parse(json.stdout), ['api', 'consul', 'web'])
  const jsonTags = await runCli(['catalog', 'services', '--tags', '--format', 'json'], { httpAddr: agent.httpAddr })
  t.same(JSON.parse(jsonTags.stdout), { api: [], consul: [], web: ['v1', 'primary'] })
})

t.test('catalog nodes prints Node, short ID, Address, DC', async t => {
  const agent = await startFakeAgent({
    'GET /v1/catalog/nodes': {
      body: [
        { ID: 'b7a1c2d3-0000-1111-2222-333344445555', Node: 'vm-2', Address: '10.0.0.2', Datacenter: 'dc1' },
        { ID: '', Node: 'vm-1', Address: '10.0.0.1', Datacenter: 'dc1' },
      ],
    },
  })
  t.teardown(() => agent.close())
  const result = await runCli(['catalog', 'nodes'], { httpAddr: agent.httpAddr })
  t.equal(result.stdout, [
    'Node  ID        Address   DC',
    'vm-1            10.0.0.1  dc1',
    'vm-2  b7a1c2d3  10.0.0.2  dc1',
    '',
  ].join('\n'))
})

t.test('catalog service NAME shows each instance, service address over node address, and passes --tag', async t => {
  const agent = await startFakeAgent({
    'GET /v1/catalog/service/web': {
      body: [
        { Node: 'vm-1', Address: '10.0.0.1', ServiceID: 'web-1', ServiceAddress: '', ServicePort: 8080, ServiceTags: ['v2'] },
        { Node: 'vm-2', Address: '10.0.0.2', ServiceID: 'web-2', ServiceAddress: '172.17.0.5', ServicePort: 80, ServiceTags: ['v2', 'canary'] },
      ],
    },
  })
  t.teardown(() => agent.close())
  const result = await runCli(['catalog', 'service', 'web', '--tag', 'v2'], { httpAddr: agent.httpAddr })
  t.equal(result.stdout, [
    'Node  ServiceID  Address:Port   Tags',
    'vm-1  web-1      10.0.0.1:8080  v2',
    'vm-2  web-2      172.17.0.5:80  v2,canary',
    '',
  ].join('\n'))
  t.same(agent.requests[0].query, { tag: 'v2' })
})

t.test('aggregated status: maintenance > critical > warning > passing; no checks is passing', async t => {
  t.equal(aggregatedStatus([]), 'passing')
  t.equal(aggregatedStatus([{ CheckID: 'serfHealth', Status: 'passing' }, { CheckID: 'c', Status: 'warning' }]), 'warning')
  t.equal(aggregatedStatus([{ CheckID: 'a', Status: 'critical' }, { CheckID: 'b', Status: 'warning' }]), 'critical')
  t.equal(aggregatedStatus([{ CheckID: '_node_maintenance', Status: 'critical' }]), 'maintenance')
  t.equal(aggregatedStatus([{ CheckID: '_service_maintenance:web-1', Status: 'critical' }, { CheckID: 'x', Status: 'passing' }]), 'maintenance')
})

t.test('health NAME aggregates node and service checks per instance; --passing is sent to the agent', async t => {
  const entries = [
    {
      Node: { Node: 'vm-1', Address: '10.0.0.1' },
      Service: { ID: 'api-1', Service: 'api', Address: '', Port: 9000, Tags: ['v1'] },
      Checks: [{ CheckID: 'serfHealth', Status: 'passing' }, { CheckID: 'service:api-1', Status: 'passing' }],
    },
    {
      Node: { Node: 'vm-2', Address: 'fd00::2' },
      Service: { ID: 'api-2', Service: 'api', Port: 9000, Tags: null },
      Checks: [{ CheckID: 'serfHealth', Status: 'critical' }, { CheckID: 'service:api-2', Status: 'passing' }],
    },
  ]
  const agent = await startFakeAgent({ 'GET /v1/health/service/api': request => ({ body: request.query.passing === undefined ? entries : entries.slice(0, 1) }) })
  t.teardown(() => agent.close())
  const all = await runCli(['health', 'api'], { httpAddr: agent.httpAddr })
  t.equal(all.code, 0)
  t.equal(all.stdout, [
    'Node  ServiceID  Address:Port    Status    Tags',
    'vm-1  api-1      10.0.0.1:9000   passing   v1',
    'vm-2  api-2      [fd00::2]:9000  critical',
    '',
  ].join('\n'))
  const passing = await runCli(['health', 'api', '--passing', '--format', 'json'], { httpAddr: agent.httpAddr })
  t.same(JSON.parse(passing.stdout), entries.slice(0, 1))
  t.same(agent.requests.map(request => request.query), [{}, { passing: '1' }])
})
