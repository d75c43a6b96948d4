import t from 'tap'
import { identityHeadersLayer } from '../../../proxy/layers/identity-headers.ts'
import { answer, fakeRequest, scriptedNext } from '../fixtures/layer.ts'

t.test('the app learns the caller in Envoy\'s XFCC format and in x-mesh-source', async (t) => {
  const next = scriptedNext(answer(200))
  await identityHeadersLayer({ current: 'spiffe://td.consul/ns/default/dc/dc1/svc/api' })(next)(fakeRequest())
  t.same(next.calls[0]!.addHeaders, {
    'x-forwarded-client-cert': 'By=spiffe://td.consul/ns/default/dc/dc1/svc/api;URI=spiffe://td.consul/ns/default/dc/dc1/svc/web',
    'x-mesh-source': 'web'
  })
})
