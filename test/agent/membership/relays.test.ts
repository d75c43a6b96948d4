// Specification of the relay table for indirect probes: lookup by sequence, expiry, bound.
import t from 'tap'
import { RelayTable } from '../../../agent/membership/relays.ts'

t.test('a relay is found once by its sequence number', async t => {
  const relays = new RelayTable(10)
  t.ok(relays.add(5, { originSeq: 1, originAddr: 'a:1', expiresAtMs: 300 }))
  t.same(relays.take(5), { originSeq: 1, originAddr: 'a:1', expiresAtMs: 300 })
  t.equal(relays.take(5), undefined)
})

t.test('expired relays are removed and returned, the earliest expiry is the next deadline', async t => {
  const relays = new RelayTable(10)
  relays.add(1, { originSeq: 11, originAddr: 'a:1', expiresAtMs: 300 })
  relays.add(2, { originSeq: 12, originAddr: 'b:1', expiresAtMs: 200 })
  t.equal(relays.earliestExpiryMs(), 200)
  t.same(relays.expire(250).map(relay => relay.originSeq), [12])
  t.equal(relays.size(), 1)
  t.equal(relays.earliestExpiryMs(), 300)
  t.same(relays.expire(300).map(relay => relay.originSeq), [11])
  t.equal(relays.earliestExpiryMs(), Number.POSITIVE_INFINITY)
})

t.test('beyond maxPending, requests are refused (bounded memory)', async t => {
  const relays = new RelayTable(2)
  t.ok(relays.add(1, { originSeq: 1, originAddr: 'a:1', expiresAtMs: 1 }))
  t.ok(relays.add(2, { originSeq: 2, originAddr: 'a:1', expiresAtMs: 1 }))
  t.notOk(relays.add(3, { originSeq: 3, originAddr: 'a:1', expiresAtMs: 1 }))
  t.equal(relays.size(), 2)
})
