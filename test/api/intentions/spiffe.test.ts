import t from 'tap'
import { parseServiceSpiffeId, requireServiceSpiffeId } from '../../../api/intentions/spiffe.ts'

t.test('parses service SPIFFE IDs with and without a partition', async (t) => {
  t.same(parseServiceSpiffeId('spiffe://abc.consul/ns/default/dc/dc1/svc/web'), { trustDomain: 'abc.consul', partition: 'default', namespace: 'default', datacenter: 'dc1', service: 'web' })
  t.equal(parseServiceSpiffeId('spiffe://abc.consul/ap/part/ns/default/dc/dc1/svc/web')?.partition, 'part')
})

t.test('refuses anything else with Consul\'s two messages', async (t) => {
  for (const uri of ['', 'web', 'http://abc/ns/default/dc/dc1/svc/web', 'spiffe://']) {
    t.equal(parseServiceSpiffeId(uri), undefined, uri)
    t.throws(() => requireServiceSpiffeId(uri), { message: 'ClientCertURI not a valid Connect identifier', code: 'MESH_ERR_INTENTIONS_SPIFFE_ID' }, uri)
  }
  for (const uri of ['spiffe://abc.consul/agent/client/dc/dc1/id/node1', 'spiffe://abc.consul/ns/default/dc/dc1/svc/web/extra']) {
    t.throws(() => requireServiceSpiffeId(uri), { message: 'ClientCertURI not a valid Service identifier' }, uri)
  }
})
