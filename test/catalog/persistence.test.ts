// Specification of persistence: after a restart the catalog holds exactly what was written (no
// registration lost or duplicated), the version counter and modify index continue above what was
// persisted, and tombstones are garbage-collected only after their TTL.

import t from 'tap'
import { Catalog } from '../../catalog/catalog.ts'
import type { NodeScopedEntry } from '../../catalog/entry.ts'
import { checkEntry, checkRecord, nodeEntry, nodeRecord, serviceEntry, serviceRecord, serviceTombstone, tempDir, testClock } from './fixtures.ts'

const byId = <T extends { ID?: string, CheckID?: string }>(values: T[]): T[] =>
  [...values].sort((a, b) => String(a.ID ?? a.CheckID) < String(b.ID ?? b.CheckID) ? -1 : 1)

t.test('a reopened catalog holds exactly the registrations written before', async t => {
  const path = await tempDir(t)
  const clock = testClock(0)
  const first = await Catalog.open({ path, self: nodeRecord('self'), now: clock.now })
  const issued: number[] = []
  for (let i = 0; i < 40; i++) {
    const entries = await first.registerService(serviceRecord(`svc-${i}`, { Tags: [`t${i % 3}`] }), [checkRecord(`check-${i}`, { Definition: { TTL: `${i}s` } })])
    issued.push(...entries.map(entry => (entry as NodeScopedEntry).version))
  }
  for (let i = 0; i < 40; i += 4) await first.deregisterService(`svc-${i}`)
  await first.updateCheck('check-1', 'critical', 'boom')
  await first.merge([nodeEntry('other', 5), serviceEntry('other', 'api-1', 6), checkEntry('other', 'api-check', 7, { ServiceID: 'api-1', ServiceName: 'api' })])
  await first.putClusterEntry('intention', 'web->db', { Action: 'deny' })
  const services = byId(first.localServices())
  const checks = byId(first.localChecks())
  const indexBefore = first.index
  const nodes = first.nodes()
  const health = first.healthService('api')
  await first.close()

  const second = await Catalog.open({ path, self: nodeRecord('self'), now: clock.now })
  t.teardown(async () => { await second.close() })
  t.same(byId(second.localServices()), services, 'same services, none lost or duplicated')
  t.same(byId(second.localChecks()), checks, 'same checks, with their local definitions')
  t.equal(second.localServices().length, 30)
  t.same(second.nodes(), nodes, 'node records and their indexes survive')
  t.same(second.healthService('api'), health, 'replicated copies survive')
  t.same(second.clusterEntry('intention', 'web->db')?.value, { Action: 'deny' })
  t.ok(second.index >= indexBefore, 'the modify index does not go back')
  const next = await second.registerService(serviceRecord('svc-new'), [])
  t.ok((next[0] as NodeScopedEntry).version > Math.max(...issued), 'the version counter continues above everything persisted')
})

t.test('a write that fails validation leaves nothing on disk', async t => {
  const path = await tempDir(t)
  const first = await Catalog.open({ path, self: nodeRecord('self'), now: () => 0 })
  await t.rejects(first.registerService(serviceRecord('svc-1'), [checkRecord('ok'), checkRecord('bad', { Status: 'nope' as never })]))
  await first.close()
  const second = await Catalog.open({ path, self: nodeRecord('self'), now: () => 0 })
  t.teardown(async () => { await second.close() })
  t.same(second.localServices(), [])
  t.same(second.localChecks(), [])
})

t.test('opening with a changed self record republishes it; unchanged self writes nothing', async t => {
  const path = await tempDir(t)
  const first = await Catalog.open({ path, self: nodeRecord('self'), now: () => 0 })
  const index = first.index
  await first.close()
  const same = await Catalog.open({ path, self: nodeRecord('self'), now: () => 0 })
  t.equal(same.index, index)
  await same.close()
  const moved = await Catalog.open({ path, self: nodeRecord('self', { Address: '192.168.1.9' }), now: () => 0 })
  t.teardown(async () => { await moved.close() })
  t.equal(moved.node('self')!.Node.Address, '192.168.1.9')
  t.ok(moved.index > index)
})

t.test('tombstones are kept for the TTL, then collected; a collected tombstone is not re-applied', async t => {
  const path = await tempDir(t)
  const clock = testClock(1_000)
  const catalog = await Catalog.open({ path, self: nodeRecord('self'), now: clock.now, tombstoneTtlMs: 60_000 })
  t.teardown(async () => { await catalog.close() })
  await catalog.merge([nodeEntry('other', 1), serviceEntry('other', 'api-1', 2)])
  await catalog.merge([serviceTombstone('other', 'api-1', 3)])
  clock.advance(59_000)
  t.equal(await catalog.collectGarbage(), 0, 'too young')
  t.equal(catalog.digest().nodes.other.version, 3)
  clock.advance(1_000)
  t.equal(await catalog.collectGarbage(), 1)
  const afterGc = catalog.digest().nodes.other
  const { applied } = await catalog.merge([serviceTombstone('other', 'api-1', 3)])
  t.same(applied, [], 'an old tombstone arriving again is recognised as already applied')
  t.same(catalog.digest().nodes.other, afterGc)
  t.same(catalog.serviceNodes('api'), [])
})

t.test('expired tombstones are also collected by the next change, without a call to collectGarbage', async t => {
  const path = await tempDir(t)
  const clock = testClock(0)
  const catalog = await Catalog.open({ path, self: nodeRecord('self'), now: clock.now, tombstoneTtlMs: 60_000 })
  t.teardown(async () => { await catalog.close() })
  await catalog.registerService(serviceRecord('web-1'), [])
  await catalog.deregisterService('web-1')
  const emptyDigest = { nodes: {}, cluster: Array(256).fill('0'.repeat(16)) }
  const heldKeys = (): string[] => catalog.missingFor(emptyDigest).map(entry => entry.key)
  clock.advance(14_000)
  await catalog.registerService(serviceRecord('api-1'), [])
  t.ok(heldKeys().includes('web-1'), 'a young tombstone is kept (and synced)')
  clock.advance(47_000)
  await catalog.registerService(serviceRecord('api-2'), [])
  t.notOk(heldKeys().includes('web-1'), 'the write collected the expired tombstone')
  t.equal(await catalog.collectGarbage(), 0, 'nothing left to collect')
})

t.test('cluster entries are LWW registers with CreateIndex/ModifyIndex and tombstones', async t => {
  const clock = testClock(5_000)
  const path = await tempDir(t)
  const catalog = await Catalog.open({ path, self: nodeRecord('self'), now: clock.now })
  t.teardown(async () => { await catalog.close() })
  const [put] = await catalog.putClusterEntry('config-entry', 'proxy-defaults/global', { Config: { protocol: 'http' } })
  t.match(put, { scope: 'cluster', kind: 'config-entry', hlc: { wallMs: 5_000, counter: 0, nodeId: 'id-self' } })
  const [again] = await catalog.putClusterEntry('config-entry', 'proxy-defaults/global', { Config: { protocol: 'grpc' } })
  t.match(again, { hlc: { wallMs: 5_000, counter: 1 } }, 'same millisecond: the counter orders the writes')
  await catalog.putClusterEntry('config-entry', 'a-first', 1)
  const stored = catalog.clusterEntry('config-entry', 'proxy-defaults/global')!
  t.same(stored.value, { Config: { protocol: 'grpc' } })
  t.ok(stored.modifyIndex > stored.createIndex)
  t.same(catalog.clusterEntries('config-entry').map(entry => entry.key), ['a-first', 'proxy-defaults/global'])
  const [tombstone] = await catalog.deleteClusterEntry('config-entry', 'a-first')
  t.equal(tombstone.deleted, true)
  t.same(await catalog.deleteClusterEntry('config-entry', 'a-first'), [], 'deleting twice is a no-op')
  t.equal(catalog.clusterEntry('config-entry', 'a-first'), undefined)
  await t.rejects(catalog.putClusterEntry('service', 'x', 1), { code: 'MESH_ERR_CATALOG_INVALID_ENTRY' }, 'reserved kinds are refused')
  await t.rejects(catalog.putClusterEntry('intention', 'k', 'x'.repeat(300 * 1024)), { code: 'MESH_ERR_CATALOG_INVALID_ENTRY' })
})

t.test('waitForIndex wakes on a change, returns the current index on timeout or abort', async t => {
  const path = await tempDir(t)
  const catalog = await Catalog.open({ path, self: nodeRecord('self'), now: () => 0 })
  t.teardown(async () => { await catalog.close() })
  const start = catalog.index
  t.equal(await catalog.waitForIndex(start - 1, { timeoutMs: 60_000 }), start, 'already past: at once')
  const waiting = catalog.waitForIndex(start, { timeoutMs: 60_000 })
  await catalog.registerService(serviceRecord('web-1'), [])
  t.equal(await waiting, start + 1)
  t.equal(await catalog.waitForIndex(start + 1, { timeoutMs: 1 }), start + 1, 'timeout answers with the current index')
  const controller = new AbortController()
  const aborted = catalog.waitForIndex(start + 1, { timeoutMs: 60_000, signal: controller.signal })
  controller.abort()
  t.equal(await aborted, start + 1)
})

t.test('onChange tells which kinds, nodes and services changed', async t => {
  const path = await tempDir(t)
  const catalog = await Catalog.open({ path, self: nodeRecord('self'), now: () => 0 })
  t.teardown(async () => { await catalog.close() })
  const changes: unknown[] = []
  const stop = catalog.onChange(change => changes.push(change))
  await catalog.registerService(serviceRecord('web-1'), [checkRecord('a')])
  await catalog.deregisterService('web-1')
  await catalog.putClusterEntry('intention', 'x', {})
  stop()
  await catalog.registerService(serviceRecord('api-1'), [])
  t.match(changes, [
    { kinds: ['service', 'check'], nodes: ['self'], services: ['web'] },
    { kinds: ['service', 'check'], nodes: ['self'], services: ['web'] },
    { kinds: ['intention'], nodes: [], services: [] },
  ])
  t.equal(changes.length, 3, 'unsubscribed listeners hear nothing more')
})
