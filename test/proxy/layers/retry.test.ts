import t from 'tap'
import { Readable } from 'node:stream'
import { ConnectFailedError, RequestDeniedError, UpstreamResetError } from '../../../proxy/errors.ts'
import { retryLayer } from '../../../proxy/layers/retry.ts'
import { RetryBudget } from '../../../proxy/retry-budget.ts'
import { answer, fakeRequest, scriptedNext } from '../fixtures/layer.ts'
import { ManualClock } from '../../fixtures/manual-clock.ts'

function setup (budget = new RetryBudget(0)) {
  const clock = new ManualClock()
  const reasons: string[] = []
  return { clock, reasons, layer: retryLayer({ budget, clock, onRetry: (reason) => { reasons.push(reason) } }) }
}

t.test('a connect failure is retried and the retry\'s answer returned', async (t) => {
  const { layer, reasons } = setup()
  const next = scriptedNext(new ConnectFailedError('refused'), answer(200))
  t.equal((await layer(next)(fakeRequest())).statusCode, 200)
  t.same(next.calls.map((r) => r.attempt), [2, 2], 'the same context, now on attempt 2')
  t.same(reasons, ['MESH_ERR_PROXY_CONNECT_FAILED'])
})

t.test('a reset and a 503 are retried for an idempotent request; the 503 body is drained', async (t) => {
  const { layer, reasons } = setup()
  const body = Readable.from(['busy'])
  const next = scriptedNext(new UpstreamResetError('reset'), { statusCode: 503, headers: {}, body }, answer(200))
  t.equal((await layer(next)(fakeRequest())).statusCode, 200)
  t.same(reasons, ['MESH_ERR_PROXY_UPSTREAM_RESET', '503'])
  t.equal(body.readableFlowing, true, 'the discarded body was resumed so its connection is freed')
})

t.test('at most three tries; the last outcome is returned', async (t) => {
  const { layer } = setup()
  const next = scriptedNext(answer(503))
  t.equal((await layer(next)(fakeRequest())).statusCode, 503)
  t.equal(next.calls.length, 3)
})

t.test('POST and requests with a body are never retried', async (t) => {
  const { layer } = setup()
  const post = scriptedNext(new UpstreamResetError('reset'), answer(200))
  await t.rejects(layer(post)(fakeRequest({ method: 'POST' })), { code: 'MESH_ERR_PROXY_UPSTREAM_RESET' })
  t.equal(post.calls.length, 1)
  const withBody = scriptedNext(answer(503), answer(200))
  t.equal((await layer(withBody)(fakeRequest({ method: 'PUT', body: Readable.from(['x']) }))).statusCode, 503)
  t.equal(withBody.calls.length, 1)
})

t.test('other errors and other statuses are not retried', async (t) => {
  const { layer } = setup()
  const denied = scriptedNext(new RequestDeniedError('no'), answer(200))
  await t.rejects(layer(denied)(fakeRequest()), { code: 'MESH_ERR_PROXY_REQUEST_DENIED' })
  const failed = scriptedNext(answer(500), answer(200))
  t.equal((await layer(failed)(fakeRequest())).statusCode, 500)
  t.equal(denied.calls.length + failed.calls.length, 2)
})

t.test('an exhausted budget stops retries', async (t) => {
  const { layer, reasons } = setup(new RetryBudget(0, { ratio: 0, minRetriesPerSecond: 0.2, windowMs: 10_000 }))
  const next = scriptedNext(answer(503))
  await layer(next)(fakeRequest())
  await layer(next)(fakeRequest())
  t.equal(reasons.length, 2, 'the budget held 2 retries (0.2/s × 10 s)')
  t.equal(next.calls.length, 4, 'first request: 3 tries (2 retries); second: no retry left')
})
