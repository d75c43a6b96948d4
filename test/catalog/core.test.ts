// Specification of the catalog core (catalog/core.ts) without any store: which entries a merge
// keeps, the exact batches local writes, liveness changes and garbage collection plan, what each
// plan publishes and announces, and that nothing changes in memory until a plan is applied.

import t from 'tap'
import { CatalogCore } from '../../catalog/core.ts'
import type { CatalogPlan } from '../../catalog/core.ts'
import type { ClusterEntry, Entry } from '../../catalog/entry.ts'
import { livenessOnMembershipEvent } from '../../catalog/liveness.ts'
import { checkEntry, checkRecord, nodeEntry, nodeRecord, serviceEntry, serviceRecord, serviceTombstone } from './fixtures.ts'

const cluster = (wallMs: number, counter: number, nodeId: string, value?: string): ClusterEntry =>
  value === undefined
    ? { scope: 'cluster', kind: 'intention', key: 'k', hlc: { wallMs, counter, nodeId }, deleted: true }
    : { scope: 'cluster', kind: 'intention', key: 'k', hlc: { wallMs, counter, nodeId }, deleted: false, value }

function newCore (options: { tombstoneTtlMs?: number } = {}): CatalogCore {
  const core = new CatalogCore({ self: nodeRecord('self'), ...options })
  core.restored({ counter: 0, index: 0 })
  return core
}

const applied = <R>(plan: CatalogPlan<R>): R => plan.apply().result

t.test('merge keeps the newer copy: a table of held entry, incoming entry and the outcome', async t => {
  const rows: Array<{ rule: string, held: Entry[], incoming: Entry, wins: boolean }> = [
    { rule: 'a higher version wins', held: [serviceEntry('n1', 'web-1', 5)], incoming: serviceEntry('n1', 'web-1', 6), wins: true },
    { rule: 'an equal version is ignored', held: [serviceEntry('n1', 'web-1', 5)], incoming: serviceEntry('n1', 'web-1', 5, { Port: 1 }), wins: false },
    { rule: 'a lower version is ignored', held: [serviceEntry('n1', 'web-1', 5)], incoming: serviceEntry('n1', 'web-1', 4), wins: false },
    { rule: 'a newer tombstone deletes', held: [serviceEntry('n1', 'web-1', 5)], incoming: serviceTombstone('n1', 'web-1', 6), wins: true },
    { rule: 'a stale live copy does not resurrect a tombstone', held: [serviceTombstone('n1', 'web-1', 6)], incoming: serviceEntry('n1', 'web-1', 5), wins: false },
    { rule: 'an unknown entry is taken', held: [], incoming: checkEntry('n1', 'c', 1), wins: true },
    { rule: 'HLC: later wall time wins', held: [cluster(100, 5, 'b', 'old')], incoming: cluster(101, 0, 'a', 'new'), wins: true },
    { rule: 'HLC: earlier wall time loses whatever its counter', held: [cluster(100, 0, 'b', 'old')], incoming: cluster(99, 50, 'z', 'new'), wins: false },
    { rule: 'HLC: same wall time, higher counter wins', held: [cluster(100, 0, 'b', 'old')], incoming: cluster(100, 1, 'a', 'new'), wins: true },
    { rule: 'HLC: full tie broken by the higher node id', held: [cluster(100, 1, 'b', 'old')], incoming: cluster(100, 1, 'c', 'new'), wins: true },
    { rule: 'HLC: full tie, lower node id loses', held: [cluster(100, 1, 'b', 'old')], incoming: cluster(100, 1, 'a', 'new'), wins: false },
    { rule: 'HLC: a later tombstone deletes the register', held: [cluster(100, 1, 'b', 'old')], incoming: cluster(100, 2, 'a'), wins: true },
  ]
  for (const row of rows) {
    const core = newCore()
    applied(core.merge(row.held, 0))
    const plan = core.merge([row.incoming], 0)
    t.same(plan.batch?.puts.map(stored => stored.entry) ?? [], row.wins ? [row.incoming] : [], row.rule)
    t.same(applied(plan).applied, row.wins ? [row.incoming] : [], `${row.rule}: applied`)
  }
})

t.test('within one merge the highest copy of each key wins, whatever the order', async t => {
  for (const order of [[3, 9, 5], [9, 3, 5], [5, 3, 9]]) {
    const core = newCore()
    const plan = core.merge(order.map(version => serviceEntry('n1', 'web-1', version)), 0)
    t.same(plan.batch?.puts.map(stored => (stored.entry as { version: number }).version), [9], `order ${order.join(',')}`)
  }
})

t.test('a plan changes nothing until applied; applying stores exactly its batch', async t => {
  const core = newCore()
  const plan = core.registerService(serviceRecord('web-1'), [checkRecord('web-1-ttl', { Definition: { TTL: '10s' } })], {}, 5)
  t.equal(core.index, 1, 'index unchanged')
  t.same(core.reads.localServices(), [], 'nothing visible')
  t.same(plan.batch, {
    puts: [
      { entry: { ...serviceEntry('self', 'web-1', 5000) }, createIndex: 2, modifyIndex: 2 },
      { entry: { ...checkEntry('self', 'web-1-ttl', 5001, { ServiceID: 'web-1', ServiceName: 'web' }) }, createIndex: 2, modifyIndex: 2, definition: { TTL: '10s' } },
    ],
    removals: [],
    meta: { counter: 5001, index: 2 },
  }, 'versions from the clock (ms × 1000), one batch with the new meta')
  const outputs = plan.apply()
  t.equal(core.index, 2)
  t.same(outputs.changes, [{ index: 2, kinds: ['service', 'check'], nodes: ['self'], services: ['web'] }])
  t.same(outputs.published, outputs.result, 'a local write publishes all it wrote')
  t.same(core.reads.localServices().map(service => service.ID), ['web-1'])
})

t.test('a dropped plan (its batch failed to persist) leaves the state as it was', async t => {
  const core = newCore()
  core.putClusterEntry('intention', 'a', { x: 1 }, 10)
  t.equal(core.reads.clusterEntry('intention', 'a'), undefined)
  t.equal(core.index, 1)
  applied(core.putClusterEntry('intention', 'a', { x: 2 }, 10))
  t.same(core.reads.clusterEntry('intention', 'a'), { value: { x: 2 }, createIndex: 2, modifyIndex: 2 })
})

t.test('merge publishes only the corrections of our own entries, never what peers sent', async t => {
  const core = newCore()
  applied(core.registerService(serviceRecord('web-1'), [], {}, 1))
  const outputs = core.merge([serviceEntry('n1', 'api-1', 3), serviceEntry('self', 'web-1', 9_999_999, { Port: 1 }), serviceEntry('self', 'ghost-1', 7)], 2).apply()
  t.same(outputs.result.applied.map(entry => [entry.scope === 'node' && entry.node, entry.key, entry.deleted]), [['n1', 'api-1', false], ['self', 'web-1', false], ['self', 'ghost-1', true]])
  t.same(outputs.published.map(entry => [entry.key, entry.scope === 'node' && entry.version, entry.deleted]), [['web-1', 10_000_000, false], ['ghost-1', 10_000_001, true]],
    'our entry re-issued above the copy seen, and a tombstone for one we never had')
})

t.test('membership events map to liveness: failure, leave and reap; suspicion changes nothing', async t => {
  t.same((['join', 'update', 'suspect', 'alive', 'fail', 'leave', 'reap'] as const).map(livenessOnMembershipEvent),
    ['alive', 'alive', undefined, 'alive', 'failed', 'left', 'reaped'])
})

t.test('liveness: a failed node turns critical, a left one is hidden, a reaped one is removed from the store', async t => {
  const core = newCore()
  applied(core.merge([nodeEntry('n1', 1), serviceEntry('n1', 'web-1', 2)], 0))
  const serf = (): string | undefined => core.state.nodeState('n1')?.liveness
  const failed = core.setNodeLiveness('n1', 'failed', 0)
  t.equal(failed.batch, undefined, 'liveness is not persisted')
  t.same(failed.apply().changes, [{ index: 3, kinds: ['node', 'check'], nodes: ['n1'], services: ['web'] }])
  t.equal(serf(), 'failed')
  t.same(core.setNodeLiveness('n1', 'failed', 0).apply().changes, [], 'the same liveness again changes nothing')
  applied(core.setNodeLiveness('n1', 'left', 0))
  t.equal(core.state.nodeState('n1')?.visible, false)
  t.same(core.merge([serviceEntry('n1', 'web-1', 2)], 0).apply().changes, [], 'a copy it already had changes nothing')
  t.equal(core.state.nodeState('n1')?.visible, false)
  const reaped = core.setNodeLiveness('n1', 'reaped', 5)
  t.same(reaped.batch, { puts: [], removals: [nodeEntry('n1', 1), serviceEntry('n1', 'web-1', 2)], meta: { counter: 0, index: 5 } })
  t.same(reaped.apply().changes, [{ index: 5, kinds: ['node', 'service', 'check'], nodes: ['n1'], services: ['web'] }])
  t.equal(core.state.nodeState('n1'), undefined)
  t.equal(core.merge([serviceEntry('n1', 'web-1', 2)], 6).batch, undefined, 'copies up to its last version are refused')
  t.same(core.merge([serviceEntry('n1', 'web-1', 3)], 6).batch?.puts.length, 1, 'a newer write from it is accepted')
  t.same(core.setNodeLiveness('self', 'failed', 0).apply().changes, [], 'our own liveness is not membership\'s to change')
})

t.test('garbage collection: tombstones go once the TTL has passed, not a millisecond before', async t => {
  const rows = [{ atMs: 1999, collected: 0 }, { atMs: 2000, collected: 1 }]
  for (const row of rows) {
    const core = newCore({ tombstoneTtlMs: 1000 })
    applied(core.registerService(serviceRecord('web-1'), [], {}, 500))
    applied(core.deregisterService('web-1', 1000))
    const plan = core.collectGarbage(row.atMs)
    t.equal(plan.batch?.removals.length ?? 0, row.collected, `at ${row.atMs} ms`)
    t.equal(applied(plan), row.collected)
  }
  const core = newCore({ tombstoneTtlMs: 1000 })
  applied(core.collectGarbage(0))
  t.same([core.collectionDue(249), core.collectionDue(250)], [false, true], 'due after a quarter of the TTL')
})

t.test('local writes that change nothing plan nothing', async t => {
  const core = newCore()
  applied(core.publishSelf(nodeRecord('self'), 1))
  applied(core.registerCheck(checkRecord('c1'), 1))
  t.equal(core.publishSelf(nodeRecord('self'), 2).batch, undefined, 'same self record')
  t.equal(core.updateSelf({}, 2).batch, undefined, 'empty patch')
  t.equal(core.updateCheck('c1', 'passing', '', undefined, 2).batch, undefined, 'same status and output')
  t.equal(core.deleteClusterEntry('intention', 'none', 2).batch, undefined, 'deleting what is not there')
})
