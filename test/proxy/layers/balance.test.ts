import t from 'tap'
import type { Http1Pool } from '../../../proxy/client.ts'
import { EndpointPool } from '../../../proxy/endpoint-pool.ts'
import { ConnectFailedError, RequestDeniedError } from '../../../proxy/errors.ts'
import { balanceLayer } from '../../../proxy/layers/balance.ts'
import type { ProxyRequest } from '../../../proxy/handler.ts'
import { answer, fakeRequest, scriptedNext } from '../fixtures/layer.ts'
import { ManualClock } from '../../fixtures/manual-clock.ts'

function setup (ids: string[]) {
  const clock = new ManualClock()
  const pool = new EndpointPool<Http1Pool>(ids.map((id, i) => ({ id, address: '127.0.0.1', port: 2000 + i, spiffeId: 'spiffe://td/ns/default/dc/dc1/svc/api', weight: 1 })), {
    createPool: () => ({}) as Http1Pool,
    retirePool: () => {},
    random: Math.random
  })
  return { clock, pool, layer: balanceLayer({ pool, clock }) }
}

t.test('each try gets a target on an endpoint and its outcome is recorded', async (t) => {
  const { layer, pool, clock } = setup(['a'])
  let seen: ProxyRequest | null = null
  const handler = layer((request) => {
    seen = request
    t.equal(pool.endpoints[0]!.outstanding, 1, 'counted as outstanding while in progress')
    clock.advance(7)
    return Promise.resolve(answer(200))
  })
  await handler(fakeRequest())
  t.equal(seen!.target!.endpointId, 'a')
  t.equal(seen!.target!.dispatcher, pool.endpoints[0]!.lease.pool, 'through the endpoint\'s connection pool')
  t.equal(pool.endpoints[0]!.outstanding, 0)
  t.ok(pool.endpoints[0]!.latencyEwmaMs > 1, 'latency went into the EWMA')
})

t.test('5xx answers and retryable failures count towards ejection; other errors do not', async (t) => {
  const { layer, pool } = setup(['a', 'b'])
  const a = pool.endpoints[0]!
  const onlyA = () => { pool.endpoints[1]!.ejectedUntilMs = Infinity }
  onlyA()
  await layer(scriptedNext(answer(502)))(fakeRequest())
  await t.rejects(layer(scriptedNext(new ConnectFailedError('x')))(fakeRequest()))
  t.equal(a.consecutiveFailures, 2)
  await t.rejects(layer(scriptedNext(new RequestDeniedError('x')))(fakeRequest()))
  t.equal(a.consecutiveFailures, 0, 'a non-endpoint failure is not the endpoint\'s fault')
})

t.test('a retry avoids the endpoint of the previous try', async (t) => {
  const { layer } = setup(['a', 'b'])
  const request = fakeRequest()
  const next = scriptedNext(answer(200))
  await layer(next)(request)
  const first = request.target!.endpointId
  request.attempt = 2
  await layer(next)(request)
  t.not(request.target!.endpointId, first)
})

t.test('no eligible endpoint: a 503 error saying so', async (t) => {
  const { layer } = setup([])
  await t.rejects(layer(scriptedNext(answer(200)))(fakeRequest()), { code: 'MESH_ERR_PROXY_NO_HEALTHY_ENDPOINT', statusCode: 503, message: 'no healthy endpoint for api' })
  await t.rejects(layer(scriptedNext(answer(200)))(fakeRequest({ subset: 'v2' })), { message: 'no healthy endpoint for api in subset v2' })
})
