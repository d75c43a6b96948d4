import t from 'tap'
import { RateLimitedError } from '../../../proxy/errors.ts'
import { respondLayer } from '../../../proxy/layers/respond.ts'
import { answer, fakeRequest, scriptedNext } from '../fixtures/layer.ts'

t.test('a typed error becomes its status, code header and message body', async (t) => {
  const response = await respondLayer()(scriptedNext(new RateLimitedError('too fast')))(fakeRequest())
  t.equal(response.statusCode, 429)
  t.equal(response.headers['x-mesh-error'], 'MESH_ERR_PROXY_RATE_LIMITED')
  t.equal(response.body, 'too fast\n')
})

t.test('an unexpected error is a 500 with the internal code, reported once', async (t) => {
  const seen: unknown[] = []
  const response = await respondLayer({ onUnexpected: (error) => { seen.push(error) } })(scriptedNext(new TypeError('bug')))(fakeRequest())
  t.equal(response.statusCode, 500)
  t.equal(response.headers['x-mesh-error'], 'MESH_ERR_PROXY_INTERNAL')
  t.equal(seen.length, 1)
})

t.test('answers pass through untouched', async (t) => {
  const ok = answer(201)
  t.equal(await respondLayer()(scriptedNext(ok))(fakeRequest()), ok)
})
