import t from 'tap'
import { Readable } from 'node:stream'
import { requestTimeoutLayer } from '../../../proxy/layers/request-timeout.ts'
import type { ProxyResponse } from '../../../proxy/handler.ts'
import { answer, fakeRequest, flush } from '../fixtures/layer.ts'
import { ManualClock } from '../../fixtures/manual-clock.ts'

t.test('no headers within the timeout: the exchange is cancelled and the caller gets a 504 error', async (t) => {
  const clock = new ManualClock()
  let resolveLate!: (response: ProxyResponse) => void
  const request = fakeRequest()
  const aborted: Error[] = []
  request.abort = (reason) => { aborted.push(reason) }
  const pending = requestTimeoutLayer({ timeoutMs: { current: 100 }, clock })(() => new Promise((resolve) => { resolveLate = resolve }))(request)
  clock.advance(99)
  await flush()
  clock.advance(1)
  await t.rejects(pending, { code: 'MESH_ERR_PROXY_REQUEST_TIMEOUT', statusCode: 504, message: 'no response from api within 100 ms' })
  t.equal(aborted.length, 1, 'the upstream exchange was cancelled')
  const lateBody = Readable.from(['late'])
  resolveLate({ statusCode: 200, headers: {}, body: lateBody })
  await flush()
  t.ok(lateBody.destroyed, 'a late response body is discarded')
})

t.test('a response in time passes and clears the timer', async (t) => {
  const clock = new ManualClock()
  const response = await requestTimeoutLayer({ timeoutMs: { current: 100 }, clock })(() => Promise.resolve(answer(200)))(fakeRequest())
  t.equal(response.statusCode, 200)
  t.equal(clock.pendingTimers, 0)
})

t.test('a failure in time passes through unchanged', async (t) => {
  const clock = new ManualClock()
  await t.rejects(requestTimeoutLayer({ timeoutMs: { current: 100 }, clock })(() => Promise.reject(new Error('refused')))(fakeRequest()), { message: 'refused' })
  t.equal(clock.pendingTimers, 0)
})

t.test('a timeout of 0 means none', async (t) => {
  const clock = new ManualClock()
  t.equal((await requestTimeoutLayer({ timeoutMs: { current: 0 }, clock })(() => Promise.resolve(answer(200)))(fakeRequest())).statusCode, 200)
  t.equal(clock.pendingTimers, 0)
})
