import t from 'tap'
import { AnswerCache } from '../../../agent/http/answer-cache.ts'

t.test('an answer is returned only for the index it was stored at', async t => {
  const cache = new AnswerCache()
  const body = cache.store('q', 7, [{ a: 1 }])
  t.equal(body.toString(), '[{"a":1}]')
  t.equal(cache.get('q', 7), body)
  t.equal(cache.get('q', 8), undefined, 'the catalog moved on: stale')
  t.equal(cache.get('other', 7), undefined)
  t.same([cache.hits, cache.misses], [1, 2])
  cache.store('q', 8, [])
  t.equal(cache.size, 1, 'storing again replaces the older answer')
  t.equal(cache.totalBytes, 2)
})

t.test('bounded in entries and in bytes; the least recently used answers go first', async t => {
  const cache = new AnswerCache({ maxEntries: 3, maxBytes: 1000 })
  for (const key of ['a', 'b', 'c']) cache.store(key, 1, key)
  cache.get('a', 1)
  cache.store('d', 1, 'd')
  t.equal(cache.size, 3)
  t.equal(cache.get('b', 1), undefined, 'b was the least recently used')
  t.ok(cache.get('a', 1) !== undefined && cache.get('c', 1) !== undefined && cache.get('d', 1) !== undefined)

  const bytes = new AnswerCache({ maxEntries: 100, maxBytes: 100 })
  for (let i = 0; i < 10; i++) bytes.store(`k${i}`, 1, 'x'.repeat(28)) // 30 bytes serialized
  t.equal(bytes.size, 3)
  t.ok(bytes.totalBytes <= 100)
  t.ok(bytes.get('k9', 1) !== undefined && bytes.get('k6', 1) === undefined)
})

t.test('an answer larger than maxEntryBytes is served but not kept', async t => {
  const cache = new AnswerCache({ maxEntryBytes: 10 })
  const body = cache.store('big', 1, 'x'.repeat(50))
  t.equal(body.length, 52)
  t.equal(cache.size, 0)
  t.equal(cache.totalBytes, 0)
})
