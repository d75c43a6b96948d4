// One SPIFFE grammar for the CA, the intentions and the proxy, as tables of exact values.
import t from 'tap'
import { formatAgentSpiffeId, formatServiceSpiffeId, formatSigningSpiffeId, parseServiceSpiffeId, parseSpiffeId } from '../../api/spiffe.ts'

const td = '11111111-2222-3333-4444-555555555555.consul'

t.test('Consul\'s three forms parse into their parts', async (t) => {
  const cases: Array<[string, unknown]> = [
    [`spiffe://${td}/ns/default/dc/dc1/svc/web`, { kind: 'service', trustDomain: td, namespace: 'default', datacenter: 'dc1', service: 'web' }],
    [`spiffe://${td}/ap/part/ns/team-a/dc/eu.west_1/svc/web.v2`, { kind: 'service', trustDomain: td, partition: 'part', namespace: 'team-a', datacenter: 'eu.west_1', service: 'web.v2' }],
    [`spiffe://${td}/agent/client/dc/dc1/id/node-1`, { kind: 'agent', trustDomain: td, datacenter: 'dc1', node: 'node-1' }],
    [`spiffe://${td}`, { kind: 'signing', trustDomain: td }],
    ['spiffe://under_score.consul', { kind: 'signing', trustDomain: 'under_score.consul' }],
  ]
  for (const [uri, expected] of cases) t.same(parseSpiffeId(uri), expected, uri)
})

t.test('anything else is undefined', async (t) => {
  const refused = [
    '', 'web', 'spiffe://', 'http://abc.consul/ns/default/dc/dc1/svc/web', 'https://abc.consul/ns/default/dc/dc1/svc/web',
    'spiffe://UPPER.consul/ns/default/dc/dc1/svc/web', 'spiffe://abc.consul/', 'spiffe://abc.consul/ns',
    `spiffe://${td}/ns/default/svc/web`, `spiffe://${td}/ns/default/dc/dc1/svc/web/extra`, `spiffe://${td}/agent/client/dc/dc1/id/`,
    `spiffe://${td}/ns/default/dc/dc1/svc/we%2Fb`, `spiffe://${td}/ns/default/dc/dc1/svc/..`, `spiffe://${td}/ns/./dc/dc1/svc/web`,
    `spiffe://${td}/ns/default//dc/dc1/svc/web`, `spiffe://${td}/ns/default/dc/dc1/svc/web?x=1`, `spiffe://${td}/ap/p/agent/client/dc/dc1/id/n`,
    `spiffe://${td}/ns/default/dc/dc1/svc/${'a'.repeat(254)}`, `spiffe://${td}/ns/default/dc/dc1/svc/${'a/'.repeat(1100)}a`,
  ]
  for (const uri of refused) t.equal(parseSpiffeId(uri), undefined, uri.slice(0, 80))
})

t.test('parseServiceSpiffeId takes service IDs only, without the kind', async (t) => {
  t.same(parseServiceSpiffeId('spiffe://abc.consul/ns/default/dc/dc1/svc/web'), { trustDomain: 'abc.consul', namespace: 'default', datacenter: 'dc1', service: 'web' })
  t.equal(parseServiceSpiffeId('spiffe://abc.consul/agent/client/dc/dc1/id/node1'), undefined)
  t.equal(parseServiceSpiffeId('spiffe://abc.consul'), undefined)
})

t.test('formatting and parsing agree', async (t) => {
  for (const id of [
    { trustDomain: td, namespace: 'default', datacenter: 'dc1', service: 'web' },
    { trustDomain: td, partition: 'part', namespace: 'default', datacenter: 'dc1', service: 'web' },
  ]) t.same(parseServiceSpiffeId(formatServiceSpiffeId(id)), id)
  t.equal(formatServiceSpiffeId({ trustDomain: 'abc.consul', namespace: 'default', datacenter: 'dc1', service: 'web' }), 'spiffe://abc.consul/ns/default/dc/dc1/svc/web')
  t.equal(formatAgentSpiffeId({ trustDomain: td, datacenter: 'dc1', node: 'n1' }), `spiffe://${td}/agent/client/dc/dc1/id/n1`)
  t.equal(formatSigningSpiffeId(td), `spiffe://${td}`)
})
