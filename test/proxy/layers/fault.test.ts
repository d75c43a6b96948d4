import t from 'tap'
import { FaultAbortError } from '../../../proxy/errors.ts'
import { faultLayer } from '../../../proxy/layers/fault.ts'
import type { FaultInjection } from '../../../proxy/snapshot.ts'
import { answer, fakeRequest, flush, randomSequence, scriptedNext } from '../fixtures/layer.ts'
import { ManualClock } from '../../fixtures/manual-clock.ts'

function setup (faults: FaultInjection[], ...draws: number[]) {
  const clock = new ManualClock()
  const next = scriptedNext(answer(200))
  const handler = faultLayer({ faults: { current: faults }, clock, random: randomSequence(...draws) })(next)
  return { clock, next, handler }
}

t.test('an abort draw under the percentage fails with the configured status', async (t) => {
  const { handler, next } = setup([{ abortStatusCode: 503, abortPercent: 10 }], 0.05)
  await t.rejects(handler(fakeRequest()), { code: 'MESH_ERR_PROXY_FAULT_ABORT', statusCode: 503 })
  t.equal(next.calls.length, 0)
})

t.test('an abort draw over the percentage passes the request', async (t) => {
  const { handler } = setup([{ abortStatusCode: 503, abortPercent: 10 }], 0.5)
  t.equal((await handler(fakeRequest())).statusCode, 200)
})

t.test('a delay holds the request for delayMs, then passes it on', async (t) => {
  const { handler, clock, next } = setup([{ delayMs: 250, delayPercent: 100 }], 0)
  const pending = handler(fakeRequest())
  await flush()
  t.equal(next.calls.length, 0, 'not forwarded before the delay')
  clock.advance(249)
  await flush()
  t.equal(next.calls.length, 0)
  clock.advance(1)
  t.equal((await pending).statusCode, 200)
})

t.test('a rule with a path prefix leaves other paths alone', async (t) => {
  const { handler } = setup([{ pathPrefix: '/slow', abortStatusCode: 500 }], 0)
  t.equal((await handler(fakeRequest({ path: '/fast' }))).statusCode, 200)
  await t.rejects(handler(fakeRequest({ path: '/slow/x' })), FaultAbortError)
})
