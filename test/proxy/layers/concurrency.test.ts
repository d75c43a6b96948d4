import t from 'tap'
import { concurrencyLayer } from '../../../proxy/layers/concurrency.ts'
import type { ProxyResponse } from '../../../proxy/handler.ts'
import { answer, fakeRequest, flush } from '../fixtures/layer.ts'

function gatedNext () {
  const gates: Array<(response: ProxyResponse) => void> = []
  const next = () => new Promise<ProxyResponse>((resolve) => { gates.push(resolve) })
  return { next, gates }
}

t.test('beyond the concurrent limit requests wait, beyond the pending limit they get 503', async (t) => {
  const { next, gates } = gatedNext()
  const handler = concurrencyLayer({ limits: { current: { maxConcurrentRequests: 2, maxPendingRequests: 1 } } })(next)
  const first = handler(fakeRequest())
  const second = handler(fakeRequest())
  const third = handler(fakeRequest())
  await flush()
  t.equal(gates.length, 2, 'two run, the third waits')
  await t.rejects(handler(fakeRequest()), { code: 'MESH_ERR_PROXY_OVERLOADED', statusCode: 503, message: /2 requests in progress and 1 pending/ })
  gates[0]!(answer(200))
  t.equal((await first).statusCode, 200)
  await flush()
  t.equal(gates.length, 3, 'the waiting request took the freed slot')
  gates[1]!(answer(200))
  gates[2]!(answer(201))
  t.same([(await second).statusCode, (await third).statusCode], [200, 201])
})

t.test('a failing request frees its slot too', async (t) => {
  let fail = true
  const handler = concurrencyLayer({ limits: { current: { maxConcurrentRequests: 1, maxPendingRequests: 0 } } })(() => fail ? Promise.reject(new Error('boom')) : Promise.resolve(answer(200)))
  await t.rejects(handler(fakeRequest()))
  fail = false
  t.equal((await handler(fakeRequest())).statusCode, 200)
})

t.test('without limits nothing is refused', async (t) => {
  const { next, gates } = gatedNext()
  const handler = concurrencyLayer({ limits: { current: undefined } })(next)
  const all = Array.from({ length: 50 }, () => handler(fakeRequest()))
  await flush()
  t.equal(gates.length, 50)
  for (const gate of gates) gate(answer(200))
  await Promise.all(all)
})
