// Specification of Lifeguard suspicion timeouts: the exact formula and the confirmation bookkeeping.
import t from 'tap'
import { Suspicion, remainingSuspicionTimeMs } from '../../../agent/membership/suspicion.ts'

t.test('remainingSuspicionTimeMs matches memberlist for k = 3, min 2 s, max 30 s', async t => {
  // [confirmations, elapsedMs, expectedMs]: memberlist's own table (suspicion_test.go).
  const table: Array<[number, number, number]> = [
    [0, 0, 30_000],
    [1, 2000, 14_000],
    [2, 3000, 4810],
    [3, 4000, -2000],
    [4, 5000, -3000],
    [5, 10_000, -8000]
  ]
  for (const [confirmations, elapsedMs, expectedMs] of table) {
    t.equal(remainingSuspicionTimeMs(confirmations, 3, elapsedMs, 2000, 30_000), expectedMs, `n=${confirmations} elapsed=${elapsedMs}`)
  }
})

t.test('remainingSuspicionTimeMs with the LAN preset at 50 members (min 1274 ms, max 7644 ms, k = 3)', async t => {
  const table: Array<[number, number]> = [[0, 7644], [1, 4459], [2, 2595], [3, 1274]]
  for (const [confirmations, expectedMs] of table) {
    t.equal(remainingSuspicionTimeMs(confirmations, 3, 0, 1274, 7644), expectedMs, `n=${confirmations}`)
  }
})

t.test('with k = 0 the minimum applies at once', async t => {
  t.equal(remainingSuspicionTimeMs(0, 0, 0, 1000, 6000), 1000)
  t.equal(remainingSuspicionTimeMs(0, 0, 400, 1000, 6000), 600)
})

t.test('a Suspicion counts each confirming member once, never its originator, and stops at k', async t => {
  const suspicion = new Suspicion({ from: 'a', k: 2, minMs: 1000, maxMs: 6000, startMs: 10_000 })
  t.equal(suspicion.deadlineMs(), 16_000, 'no confirmation: the maximum')
  t.notOk(suspicion.confirm('a'), 'the originator does not confirm itself')
  t.ok(suspicion.confirm('b'))
  t.notOk(suspicion.confirm('b'), 'a repeated confirmation does not count')
  t.equal(suspicion.confirmations(), 1)
  t.equal(suspicion.deadlineMs(), 10_000 + remainingSuspicionTimeMs(1, 2, 0, 1000, 6000))
  t.ok(suspicion.confirm('c'))
  t.equal(suspicion.deadlineMs(), 11_000, 'k confirmations: the minimum')
  t.notOk(suspicion.confirm('d'), 'beyond k nothing changes, so nothing to re-gossip')
})

t.test('a Suspicion with k = 0 expires at the minimum', async t => {
  const suspicion = new Suspicion({ from: 'a', k: 0, minMs: 1500, maxMs: 9000, startMs: 0 })
  t.equal(suspicion.deadlineMs(), 1500)
  t.notOk(suspicion.confirm('b'))
})
