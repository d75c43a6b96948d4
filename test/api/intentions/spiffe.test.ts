// The authorize endpoint's ClientCertURI: a service SPIFFE ID (api/spiffe.ts's grammar), or one of
// Consul's two messages.
import t from 'tap'
import { parseServiceSpiffeId } from '../../../api/spiffe.ts'
import { requireServiceSpiffeId } from '../../../api/intentions/validate.ts'

t.test('parses service SPIFFE IDs with and without a partition', async (t) => {
  t.same(requireServiceSpiffeId('spiffe://abc.consul/ns/default/dc/dc1/svc/web'), { trustDomain: 'abc.consul', namespace: 'default', datacenter: 'dc1', service: 'web' }, 'no /ap/: the default partition')
  t.equal(requireServiceSpiffeId('spiffe://abc.consul/ap/part/ns/default/dc/dc1/svc/web').partition, 'part')
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
