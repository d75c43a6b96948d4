// The answer cache's bounds: entries keyed by exact question bytes, and a restart (not growth) past
// the entry or byte budget, so clients sending endless name or case variants cannot grow memory.

import t from 'tap'
import { AnswerCache, variantKey } from '../../../agent/dns/cache.ts'
import type { CachedQuestion } from '../../../agent/dns/cache.ts'

const entry = (): CachedQuestion => ({ prepared: { rcode: 0, answers: [], extra: [], authority: [] }, variants: new Map() })
const packet = (name: string): Buffer => Buffer.concat([Buffer.alloc(12), Buffer.from(name, 'latin1')])

t.test('hits only on the exact question bytes, case included', async (t) => {
  const cache = new AnswerCache(10, 1 << 20)
  const web = entry()
  const bytes = packet('web')
  cache.set(bytes, 12, bytes.length, web)
  t.equal(cache.get(packet('web'), 12, 15), web)
  t.equal(cache.get(packet('Web'), 12, 15), undefined)
  t.equal(cache.get(packet('webx'), 12, 16), undefined)
})

t.test('past maxEntries the cache starts over', async (t) => {
  const cache = new AnswerCache(2, 1 << 20)
  for (const name of ['a', 'b']) cache.set(packet(name), 12, 13, entry())
  t.ok(cache.get(packet('a'), 12, 13))
  cache.set(packet('c'), 12, 13, entry())
  t.equal(cache.get(packet('a'), 12, 13), undefined, 'older entries dropped')
  t.ok(cache.get(packet('c'), 12, 13), 'the new one kept')
})

t.test('past maxBytes of encoded answers the cache starts over', async (t) => {
  const cache = new AnswerCache(100, 1000)
  cache.set(packet('a'), 12, 13, entry())
  cache.account(600)
  t.ok(cache.get(packet('a'), 12, 13))
  cache.account(600)
  t.equal(cache.get(packet('a'), 12, 13), undefined)
})

t.test('variant keys differ by size, OPT flavour and transport', async (t) => {
  const keys = new Set<number>()
  for (const size of [512, 1232, 4096, 65535]) for (const opt of [0, 1, 2]) for (const tcp of [false, true]) keys.add(variantKey(size, opt, tcp))
  t.equal(keys.size, 4 * 3 * 2)
})
