import t from 'tap'
import { TokenBucket } from '../../proxy/token-bucket.ts'

t.test('a full bucket lets `burst` requests through at once, then refuses', async (t) => {
  const bucket = new TokenBucket(10, 3, 0)
  t.same([bucket.tryTake(0), bucket.tryTake(0), bucket.tryTake(0), bucket.tryTake(0)], [true, true, true, false])
})

t.test('tokens come back at the configured rate', async (t) => {
  const bucket = new TokenBucket(10, 1, 0)
  t.ok(bucket.tryTake(0))
  t.notOk(bucket.tryTake(99), 'one token takes 100 ms at 10/s')
  t.ok(bucket.tryTake(100))
  t.notOk(bucket.tryTake(100))
})

t.test('an idle period refills no more than the burst', async (t) => {
  const bucket = new TokenBucket(100, 2, 0)
  t.ok(bucket.tryTake(0))
  t.ok(bucket.tryTake(0))
  const after = [bucket.tryTake(60_000), bucket.tryTake(60_000), bucket.tryTake(60_000)]
  t.same(after, [true, true, false])
})
