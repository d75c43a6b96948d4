import t from 'tap'
import { traceLayer } from '../../../proxy/layers/trace.ts'
import { IdSource, SpanRing, formatTraceparent, parseTraceparent } from '../../../proxy/traces.ts'
import { answer, fakeRequest, scriptedNext } from '../fixtures/layer.ts'
import { ManualClock } from '../../fixtures/manual-clock.ts'

function setup (capacity = 8) {
  const clock = new ManualClock()
  const ring = new SpanRing(capacity)
  const next = scriptedNext(answer(200))
  return { clock, ring, next, handler: traceLayer({ ring, ids: new IdSource(), clock, epochNow: () => 1_700_000_000_000 })(next) }
}

t.test('an incoming traceparent is continued with a new span id for this hop', async (t) => {
  const { handler, next, ring } = setup()
  const incoming = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'
  await handler(fakeRequest({ headers: { traceparent: incoming } }))
  const sent = parseTraceparent(next.calls[0]!.addHeaders!.traceparent)!
  t.equal(sent.traceId, '0af7651916cd43dd8448eb211c80319c', 'same trace')
  t.not(sent.parentSpanId, 'b7ad6b7169203331', 'downstream sees this hop\'s span as its parent')
  const [span] = ring.list()
  t.match(span, { traceId: '0af7651916cd43dd8448eb211c80319c', parentSpanId: 'b7ad6b7169203331', spanId: sent.parentSpanId, statusCode: 200, name: 'inbound api', source: 'web', startEpochMs: 1_700_000_000_000 })
})

t.test('without a (valid) traceparent a new trace starts', async (t) => {
  const { handler, next, ring } = setup()
  await handler(fakeRequest())
  await handler(fakeRequest({ headers: { traceparent: '00-00000000000000000000000000000000-b7ad6b7169203331-01' } }))
  const [a, b] = next.calls.map((r) => parseTraceparent(r.addHeaders!.traceparent)!)
  t.match(a!.traceId, /^[0-9a-f]{32}$/)
  t.not(a!.traceId, b!.traceId)
  t.same(ring.list().map((s) => s.parentSpanId), [null, null])
})

t.test('failed requests are recorded with their status; the ring keeps the newest spans', async (t) => {
  const { clock, ring } = setup(2)
  const failing = traceLayer({ ring, ids: new IdSource(), clock })(() => Promise.reject(Object.assign(new Error('x'), { statusCode: 504 })))
  await t.rejects(failing(fakeRequest({ path: '/1' })))
  await t.rejects(failing(fakeRequest({ path: '/2' })))
  await t.rejects(failing(fakeRequest({ path: '/3' })))
  t.same(ring.list().map((s) => [s.path, s.statusCode]), [['/2', 504], ['/3', 504]])
})

t.test('traceparent formatting round-trips', async (t) => {
  const context = { traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), parentSpanId: null, sampled: false }
  t.equal(formatTraceparent(context), `00-${'a'.repeat(32)}-${'b'.repeat(16)}-00`)
  t.same(parseTraceparent(formatTraceparent(context)), { traceId: 'a'.repeat(32), parentSpanId: 'b'.repeat(16), sampled: false })
})
