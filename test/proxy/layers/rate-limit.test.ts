import t from 'tap'
import { RateLimitedError } from '../../../proxy/errors.ts'
import { rateLimitLayer } from '../../../proxy/layers/rate-limit.ts'
import type { RateLimit } from '../../../proxy/snapshot.ts'
import { answer, fakeRequest, scriptedNext } from '../fixtures/layer.ts'
import { ManualClock } from '../../fixtures/manual-clock.ts'

function setup (limits: RateLimit[]) {
  const clock = new ManualClock()
  const next = scriptedNext(answer(200))
  const handler = rateLimitLayer({ limits: { current: limits }, clock })(next)
  const outcome = (overrides = {}) => handler(fakeRequest(overrides)).then((r) => r.statusCode, (e: unknown) => e instanceof RateLimitedError ? 429 : -1)
  return { clock, next, outcome }
}

t.test('a service limit shares one bucket among all callers', async (t) => {
  const { outcome } = setup([{ scope: 'service', requestsPerSecond: 1, burst: 2 }])
  const web = { source: { spiffeId: 'x', service: 'web' } }
  const admin = { source: { spiffeId: 'y', service: 'admin' } }
  t.same([await outcome(web), await outcome(admin), await outcome(web)], [200, 200, 429])
})

t.test('a consumer limit gives every calling service its own bucket', async (t) => {
  const { outcome } = setup([{ scope: 'consumer', requestsPerSecond: 1, burst: 1 }])
  const web = { source: { spiffeId: 'x', service: 'web' } }
  const admin = { source: { spiffeId: 'y', service: 'admin' } }
  t.same([await outcome(web), await outcome(web), await outcome(admin)], [200, 429, 200])
})

t.test('a consumer limit naming one service leaves the others alone', async (t) => {
  const { outcome } = setup([{ scope: 'consumer', consumer: 'batch', requestsPerSecond: 1, burst: 1 }])
  const batch = { source: { spiffeId: 'x', service: 'batch' } }
  t.same([await outcome(batch), await outcome(batch), await outcome(), await outcome()], [200, 429, 200, 200])
})

t.test('a path limit counts only requests under its prefix', async (t) => {
  const { outcome } = setup([{ scope: 'path', pathPrefix: '/search', requestsPerSecond: 1, burst: 1 }])
  t.same([await outcome({ path: '/search?q=a' }), await outcome({ path: '/search?q=b' }), await outcome({ path: '/items' })], [200, 429, 200])
})

t.test('the bucket refills with time and the 429 names the limit', async (t) => {
  const { clock, outcome, next } = setup([{ scope: 'service', requestsPerSecond: 2, burst: 1 }])
  t.equal(await outcome(), 200)
  t.equal(await outcome(), 429)
  clock.advance(500)
  t.equal(await outcome(), 200)
  t.equal(next.calls.length, 2, 'refused requests never reach the app')
  const handler = rateLimitLayer({ limits: { current: [{ scope: 'service', requestsPerSecond: 2, burst: 1 }] }, clock })(next)
  await handler(fakeRequest())
  await t.rejects(handler(fakeRequest()), { code: 'MESH_ERR_PROXY_RATE_LIMITED', statusCode: 429, message: 'rate limit of 2 requests/s exceeded' })
})

t.test('no limits configured: every request passes', async (t) => {
  const clock = new ManualClock()
  const handler = rateLimitLayer({ limits: { current: undefined }, clock })(scriptedNext(answer(200)))
  for (let i = 0; i < 100; i++) t.equal((await handler(fakeRequest())).statusCode, 200)
})
