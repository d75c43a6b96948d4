// Specification of the transmit-limited broadcast queue: invalidation, limits, byte budget, order.
import t from 'tap'
import { BroadcastQueue } from '../../../agent/membership/broadcast-queue.ts'

t.test('a newer broadcast about the same key replaces the queued one', async t => {
  const queue = new BroadcastQueue<string>({ retransmitMult: 1 })
  queue.enqueue('a', 'a@1', 10)
  queue.enqueue('a', 'a@2', 10)
  t.equal(queue.size(), 1)
  t.same(queue.take(1000, 0, 9), ['a@2'])
})

t.test('each broadcast is sent retransmitMult × ceil(log10(N + 1)) times, then dropped', async t => {
  const queue = new BroadcastQueue<string>({ retransmitMult: 2 })
  queue.enqueue('a', 'news', 10)
  const sends = []
  for (let i = 0; i < 10; i++) sends.push(...queue.take(1000, 0, 50))
  t.equal(sends.length, 4, 'N = 50: 2 × ceil(log10 51) = 4')
  t.equal(queue.size(), 0)
})

t.test('take fills the byte budget, skipping entries that do not fit in favour of smaller ones', async t => {
  const queue = new BroadcastQueue<string>({ retransmitMult: 4 })
  queue.enqueue('big', 'big', 600)
  queue.enqueue('mid', 'mid', 300)
  queue.enqueue('small', 'small', 100)
  t.same(queue.take(450, 1, 10), ['mid', 'small'], 'big (601 bytes) does not fit; mid and small (402) do')
  t.same(queue.take(700, 1, 10), ['big'], 'least-sent first: big has 0 transmissions, the others 1')
})

t.test('least-sent broadcasts go first, so fresh news overtakes news already spread', async t => {
  const queue = new BroadcastQueue<string>({ retransmitMult: 4 })
  queue.enqueue('old', 'old', 100)
  t.same(queue.take(150, 0, 10), ['old'])
  queue.enqueue('new', 'new', 100)
  t.same(queue.take(150, 0, 10), ['new'])
  t.same(queue.take(150, 0, 10), ['old'], 'equal transmissions: insertion order')
})
