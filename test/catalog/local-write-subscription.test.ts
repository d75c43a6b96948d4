// Specification of onLocalWrite, the subscription replication fans deltas out from: it hears every
// entry this agent writes, only once the batch is stored, and nothing merged from peers.

import t from 'tap'
import type { Entry } from '../../catalog/entry.ts'
import { MemoryCatalogStore } from '../../catalog/memory-store.ts'
import { checkRecord, memoryCatalog, nodeEntry, serviceEntry, serviceRecord } from './fixtures.ts'

t.test('every local write reaches the subscriber, after its batch is stored, with exactly what the write returned', async t => {
  const store = new MemoryCatalogStore()
  const catalog = await memoryCatalog(t, 'self', { store })
  const heard: Entry[][] = []
  const storedWhenHeard: boolean[] = []
  catalog.onLocalWrite(entries => {
    heard.push(entries)
    storedWhenHeard.push(entries.every(entry => [...store.contents.records.values()].some(json => json.includes(JSON.stringify(entry)))))
  })
  const writes = [
    await catalog.registerService(serviceRecord('web-1'), [checkRecord('web-ttl')]),
    await catalog.updateCheck('web-ttl', 'critical', 'expired'),
    await catalog.putClusterEntry('intention', 'a', { Action: 'allow' }),
    await catalog.deleteClusterEntry('intention', 'a'),
    await catalog.updateSelf({ Meta: { rack: 'r1' } }),
    await catalog.republishLocal(),
    await catalog.deregisterService('web-1'),
  ]
  t.same(heard, writes)
  t.same(storedWhenHeard, writes.map(() => true), 'each batch was in the store when the subscriber heard it')
  t.same(await catalog.updateSelf({ Meta: { rack: 'r1' } }), [])
  await t.rejects(catalog.deregisterService('web-1'))
  t.equal(heard.length, writes.length, 'a write that changed nothing, or failed, is not heard')
})

t.test('merges publish only the corrections of our own entries; unsubscribing stops the calls', async t => {
  const catalog = await memoryCatalog(t, 'self')
  const heard: Entry[][] = []
  const unsubscribe = catalog.onLocalWrite(entries => { heard.push(entries) })
  await catalog.merge([nodeEntry('n1', 1), serviceEntry('n1', 'api-1', 2)])
  t.same(heard, [], 'peers\' entries are not ours to publish')
  const { applied } = await catalog.merge([serviceEntry('self', 'ghost-1', 9_999_999)])
  t.same(heard, [applied], 'the correction of a stale copy of ours is')
  unsubscribe()
  await catalog.registerService(serviceRecord('web-1'), [])
  t.equal(heard.length, 1)
})

t.test('a subscriber that throws does not fail the write or starve the others', async t => {
  const catalog = await memoryCatalog(t, 'self')
  let calls = 0
  catalog.onLocalWrite(() => { throw new Error('boom') })
  catalog.onLocalWrite(() => { calls++ })
  const entries = await catalog.registerService(serviceRecord('web-1'), [])
  t.equal(entries.length, 1)
  t.equal(calls, 1)
})
