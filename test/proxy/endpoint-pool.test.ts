import t from 'tap'
import { EndpointPool } from '../../proxy/endpoint-pool.ts'
import type { Endpoint } from '../../proxy/snapshot.ts'
import { randomSequence } from './fixtures/layer.ts'

function ep (id: string, extra: Partial<Endpoint> = {}): Endpoint {
  return { id, address: '127.0.0.1', port: 1000 + id.length, spiffeId: 'spiffe://td/ns/default/dc/dc1/svc/api', weight: 1, ...extra }
}

function pool (endpoints: Endpoint[], random = Math.random) {
  const retired: string[] = []
  const ejected: string[] = []
  let made = 0
  const p = new EndpointPool<string>(endpoints, {
    createPool: (endpoint) => `${endpoint.id}#${++made}`,
    retirePool: (name) => { retired.push(name) },
    random,
    onEjection: (endpoint) => { ejected.push(endpoint.id) }
  })
  return { p, retired, ejected }
}

t.test('P2C takes the endpoint with fewer outstanding requests', async (t) => {
  const { p } = pool([ep('a'), ep('b')])
  const a = p.endpoints[0]!
  p.begin(a)
  p.begin(a)
  for (let i = 0; i < 10; i++) t.equal(p.pick(null, null, 0)?.endpoint.id, 'b')
})

t.test('P2C takes the endpoint with the lower latency EWMA when load is equal', async (t) => {
  const { p } = pool([ep('a'), ep('b')])
  const [a, b] = p.endpoints
  p.end(a!, p.begin(a!), 50, 'success', 0)
  p.end(b!, p.begin(b!), 2, 'success', 0)
  t.equal(p.pick(null, null, 0)?.endpoint.id, 'b')
})

t.test('with many endpoints each pick samples two of them', async (t) => {
  const { p } = pool(['a', 'b', 'c', 'd'].map((id) => ep(id)), randomSequence(0.99, 0.99))
  t.equal(p.pick(null, null, 0)?.endpoint.id, 'a', 'draws that keep the first two slots compare a and b; equal cost keeps the first')
  const seen = new Set<string>()
  const { p: spread } = pool(['a', 'b', 'c', 'd'].map((id) => ep(id)), randomSequence(0, 0.3, 0.6, 0.1, 0.9, 0.4))
  for (let i = 0; i < 12; i++) {
    const state = spread.pick(null, null, 0)!
    seen.add(state.endpoint.id)
    spread.begin(state)
  }
  t.ok(seen.size >= 3, `load spreads over the endpoints (${[...seen].join(',')})`)
})

t.test('a retry avoids the endpoint that just failed unless it is the only one', async (t) => {
  const { p } = pool([ep('a'), ep('b')])
  for (let i = 0; i < 5; i++) t.equal(p.pick(null, 'a', 0)?.endpoint.id, 'b')
  const { p: single } = pool([ep('a')])
  t.equal(single.pick(null, 'a', 0)?.endpoint.id, 'a')
})

t.test('subsets restrict the choice; an empty subset has no endpoint', async (t) => {
  const { p } = pool([ep('a', { subset: 'v1' }), ep('b', { subset: 'v2' })])
  t.equal(p.pick('v2', null, 0)?.endpoint.id, 'b')
  t.equal(p.pick('v3', null, 0), null)
})

t.test('5 consecutive failures eject for 30 s, then 60 s the second time', async (t) => {
  const { p, ejected } = pool([ep('a'), ep('b'), ep('c')])
  const a = p.endpoints[0]!
  for (let i = 0; i < 4; i++) p.end(a, p.begin(a), 1, 'error-status', 0)
  p.end(a, p.begin(a), 1, 'success', 0)
  for (let i = 0; i < 4; i++) p.end(a, p.begin(a), 1, 'error-status', 0)
  t.same(ejected, [], 'a success in between resets the count')
  p.end(a, p.begin(a), 1, 'error-status', 0)
  t.same(ejected, ['a'])
  t.equal(a.ejectedUntilMs, 30_000)
  for (let i = 0; i < 20; i++) t.not(p.pick(null, null, 1000)?.endpoint.id, 'a')
  t.equal(p.pick(null, null, 30_000) !== null, true)
  for (let i = 0; i < 5; i++) p.end(a, p.begin(a), 1, 'error-status', 30_000)
  t.equal(a.ejectedUntilMs, 30_000 + 60_000, 'ejection time grows with the times ejected')
})

t.test('never more than half of the endpoints are ejected', async (t) => {
  const { p, ejected } = pool([ep('a'), ep('b'), ep('c'), ep('d')])
  for (const state of p.endpoints) for (let i = 0; i < 5; i++) p.end(state, p.begin(state), 1, 'error-status', 0)
  t.same(ejected, ['a', 'b'])
  const { p: single, ejected: none } = pool([ep('a')])
  for (let i = 0; i < 10; i++) single.end(single.endpoints[0]!, single.begin(single.endpoints[0]!), 1, 'error-status', 0)
  t.same(none, [], 'a lone endpoint is never ejected')
})

t.test('a removed endpoint drains: not picked, its pool retired after the last request', async (t) => {
  const { p, retired } = pool([ep('a'), ep('b')])
  const a = p.endpoints[0]!
  const lease = p.begin(a)
  p.update([ep('b')])
  t.equal(p.drainingCount, 1)
  t.same(retired, [], 'still in use')
  for (let i = 0; i < 5; i++) t.equal(p.pick(null, null, 0)?.endpoint.id, 'b')
  p.end(a, lease, 1, 'success', 0)
  t.same(retired, ['a#1'])
  t.equal(p.drainingCount, 0)
})

t.test('kept endpoints keep their state; a changed address gets a new pool', async (t) => {
  const { p, retired } = pool([ep('a'), ep('b')])
  const b = p.endpoints[1]!
  p.end(b, p.begin(b), 1, 'error-status', 0)
  p.update([ep('a', { port: 9 }), ep('b', { weight: 5 }), ep('c')])
  t.equal(p.endpoints[1], b, 'same state object')
  t.equal(b.consecutiveFailures, 1)
  t.equal(b.endpoint.weight, 5)
  t.same(retired, ['a#1'], 'a moved: its idle pool is retired at once')
  t.same(p.endpoints.map((s) => s.lease.pool), ['a#3', 'b#2', 'c#4'])
})

t.test('new TLS material replaces every pool; busy ones retire when their requests end', async (t) => {
  const { p, retired } = pool([ep('a'), ep('b')])
  const a = p.endpoints[0]!
  const lease = p.begin(a)
  p.replacePools()
  t.same(retired, ['b#2'])
  t.same(p.endpoints.map((s) => s.lease.pool), ['a#3', 'b#4'])
  p.end(a, lease, 1, 'success', 0)
  t.same(retired, ['b#2', 'a#1'])
  t.equal(a.outstanding, 0)
})

t.test('a fast connection failure does not make an endpoint look fast', async (t) => {
  const { p } = pool([ep('a'), ep('b')])
  const [a, b] = p.endpoints
  p.end(a!, p.begin(a!), 0.1, 'connection-failure', 0)
  p.end(b!, p.begin(b!), 20, 'success', 0)
  t.equal(p.pick(null, null, 0)?.endpoint.id, 'b')
})
