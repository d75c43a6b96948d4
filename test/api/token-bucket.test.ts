import t from 'tap'
import { TokenBucket } from '../../api/token-bucket.ts'

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

t.test('a refusal says how long until the next token', async (t) => {
  const bucket = new TokenBucket(50, 50, 1000)
  for (let index = 0; index < 50; index++) t.equal(bucket.take(1000), 0)
  t.equal(bucket.take(1000), 20, 'one token every 20 ms at 50/s')
  t.equal(bucket.take(1010), 10, 'half a token has come back')
  t.equal(bucket.take(1020), 0)
})

t.test('time going backwards refills nothing', async (t) => {
  const bucket = new TokenBucket(10, 1, 1000)
  t.equal(bucket.take(1000), 0)
  t.equal(bucket.take(500), 100)
  t.equal(bucket.take(1100), 0)
})
