import t from 'tap'
import { RequestDeniedError } from '../../../proxy/errors.ts'
import { authorizeLayer } from '../../../proxy/layers/authorize.ts'
import type { AuthorizeRequest, Authorizer } from '../../../api/authorizer.ts'
import { answer, fakeRequest, scriptedNext } from '../fixtures/layer.ts'

t.test('an allowed request reaches next with the caller, method, path and headers checked', async (t) => {
  const seen: AuthorizeRequest[] = []
  const authorizer: Authorizer = (request) => { seen.push(request); return { allowed: true, reason: 'ok' } }
  const next = scriptedNext(answer(200))
  const response = await authorizeLayer({ authorizer: { current: authorizer } })(next)(fakeRequest({ method: 'POST', path: '/orders', headers: { 'x-a': '1' } }))
  t.equal(response.statusCode, 200)
  t.equal(next.calls.length, 1)
  t.same(seen[0], { sourceSpiffeId: 'spiffe://td.consul/ns/default/dc/dc1/svc/web', sourceService: 'web', http: { method: 'POST', path: '/orders', headers: { 'x-a': '1' } } })
})

t.test('a denied request never reaches next and fails with the intention\'s reason', async (t) => {
  const denials: string[] = []
  const next = scriptedNext(answer(200))
  const layer = authorizeLayer({ authorizer: { current: () => ({ allowed: false, reason: 'intention web => api deny' }) }, onDeny: (source) => { denials.push(source) } })
  await t.rejects(layer(next)(fakeRequest()), { code: 'MESH_ERR_PROXY_REQUEST_DENIED', statusCode: 403, message: /intention web => api deny/ })
  t.equal(next.calls.length, 0)
  t.same(denials, ['web'])
})

t.test('swapping the authorizer applies to the next request', async (t) => {
  const cell = { current: (() => ({ allowed: true, reason: '' })) as Authorizer }
  const handler = authorizeLayer({ authorizer: cell })(scriptedNext(answer(200)))
  t.equal((await handler(fakeRequest())).statusCode, 200)
  cell.current = () => ({ allowed: false, reason: 'now denied' })
  await t.rejects(handler(fakeRequest()), RequestDeniedError)
})
