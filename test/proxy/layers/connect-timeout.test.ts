import t from 'tap'
import { connectTimeoutLayer } from '../../../proxy/layers/connect-timeout.ts'
import type { ProxyRequest, ProxyResponse } from '../../../proxy/handler.ts'
import { answer, fakeRequest, flush } from '../fixtures/layer.ts'
import { ManualClock } from '../../fixtures/manual-clock.ts'

t.test('no connection within the timeout: a retryable connect-timeout error and the attempt is cancelled', async (t) => {
  const clock = new ManualClock()
  const request = fakeRequest()
  let cancelled: Error | null = null
  const next = (r: ProxyRequest) => {
    r.abort = (reason) => { cancelled = reason }
    return new Promise<ProxyResponse>(() => {})
  }
  const pending = connectTimeoutLayer({ timeoutMs: { current: 50 }, clock })(next)(request)
  clock.advance(50)
  await t.rejects(pending, { code: 'MESH_ERR_PROXY_CONNECT_TIMEOUT', retryable: true })
  t.ok(cancelled)
})

t.test('once connected, a slow answer is not a connect timeout', async (t) => {
  const clock = new ManualClock()
  let respond!: (response: ProxyResponse) => void
  const next = (r: ProxyRequest) => new Promise<ProxyResponse>((resolve) => {
    r.onConnected?.()
    respond = resolve
  })
  const pending = connectTimeoutLayer({ timeoutMs: { current: 50 }, clock })(next)(fakeRequest())
  await flush()
  clock.advance(1000)
  respond(answer(200))
  t.equal((await pending).statusCode, 200)
  t.equal(clock.pendingTimers, 0)
})
