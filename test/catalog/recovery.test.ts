// Specification of recovering (catalog/catalog.ts, `recovering`): a catalog opened from a salvaged
// store takes back the copies of its own entries that peers hold, newer ones over what survived;
// its digest asks for them (its own node left out, then its highest adopted version, so paging
// goes on); new writes win over the adopted copies; and after finishRecovery a copy that differs
// is outvoted again, as always. Without recovering the same copies are answered with tombstones.

import t from 'tap'
import type { Test } from 'tap'
import { Catalog } from '../../catalog/catalog.ts'
import type { Entry, NodeScopedEntry } from '../../catalog/entry.ts'
import { MemoryCatalogStore } from '../../catalog/memory-store.ts'
import { memoryCatalog, nodeRecord, serviceEntry, serviceRecord, testClock } from './fixtures.ts'

/** Catalog `self` as a peer holds it after `self` registered web-0..web-4 and updated web-0. */
async function peerHoldingSelf (t: Test, clock: ReturnType<typeof testClock>): Promise<{ peer: Catalog, original: Catalog }> {
  const original = await memoryCatalog(t, 'self', { clock })
  for (let i = 0; i < 5; i++) await original.registerService(serviceRecord(`web-${i}`), [])
  await original.registerService(serviceRecord('web-0', { Port: 9999 }), [])
  const peer = await memoryCatalog(t, 'peer', { clock })
  await peer.merge(original.missingFor(peer.digest()))
  return { peer, original }
}

const ports = (catalog: Catalog): Record<string, number> => Object.fromEntries(catalog.localServices().map(service => [service.ID, service.Port]))

t.test('recovering: own records come back from a peer, newer copies over what survived', async t => {
  const clock = testClock(1000)
  const { peer, original } = await peerHoldingSelf(t, clock)
  // What survived the damage: web-0 as it was before its update, and web-1.
  const held = original.missingFor({ nodes: {}, cluster: peer.digest().cluster }).filter((entry): entry is NodeScopedEntry => entry.scope === 'node' && entry.kind === 'service')
  const web1 = held.find(entry => entry.key === 'web-1')!
  const salvaged = new MemoryCatalogStore()
  salvaged.contents.records.set('service/self\0web-0', JSON.stringify({ entry: serviceEntry('self', 'web-0', web1.version - 1), createIndex: 2, modifyIndex: 2 }))
  salvaged.contents.records.set('service/self\0web-1', JSON.stringify({ entry: web1, createIndex: 3, modifyIndex: 3 }))

  clock.advance(1000)
  const recovering = await Catalog.open({ store: salvaged, self: nodeRecord('self'), now: clock.now, recovering: true })
  t.teardown(async () => await recovering.close())
  t.ok(recovering.recovering)
  t.notOk('self' in recovering.digest().nodes, 'the digest leaves our node out, so the peer sends all it holds of it')
  const sent = peer.missingFor(recovering.digest())
  t.ok(sent.filter(entry => entry.scope === 'node' && entry.node === 'self' && entry.kind === 'service').length >= 5, 'the peer sends every service of ours')
  await recovering.merge(sent)
  t.same(ports(recovering), { 'web-0': 9999, 'web-1': 8080, 'web-2': 8080, 'web-3': 8080, 'web-4': 8080 }, 'all five are back, web-0 as last updated')
  t.same(recovering.adopted, { node: 0, service: 4, check: 0 }, 'web-0 (newer) and web-2..4 (lost) were taken back; web-1 was intact')
  t.equal(recovering.digest().nodes.self?.version, Math.max(...sent.filter((entry): entry is NodeScopedEntry => entry.scope === 'node' && entry.node === 'self' && entry.kind === 'service').map(entry => entry.version)), 'then the digest asks for what is above the highest adopted version')

  const [rewritten] = await recovering.registerService(serviceRecord('web-2', { Port: 7000 }), []) as NodeScopedEntry[]
  const adoptedVersions = sent.filter((entry): entry is NodeScopedEntry => entry.scope === 'node' && entry.node === 'self').map(entry => entry.version)
  t.ok(rewritten.version > Math.max(...adoptedVersions), 'a new write is versioned above every adopted copy')

  recovering.finishRecovery()
  t.notOk(recovering.recovering)
  const stale: Entry = { ...serviceEntry('self', 'web-9', rewritten.version + 10) }
  const { applied } = await recovering.merge([stale])
  t.match(applied, [{ key: 'web-9', deleted: true }], 'after recovery an unknown copy of ours is outvoted with a tombstone again')
  t.equal(recovering.localService('web-9'), undefined)
})

t.test('not recovering: copies of our own entries we do not hold are answered with tombstones', async t => {
  const clock = testClock(1000)
  const { peer } = await peerHoldingSelf(t, clock)
  clock.advance(1000)
  const fresh = await memoryCatalog(t, 'self', { clock })
  const { applied } = await fresh.merge(peer.missingFor(fresh.digest()))
  t.same(fresh.localServices(), [], 'nothing is taken back')
  t.ok(applied.filter(entry => entry.kind === 'service').every(entry => entry.deleted), 'each copy is outvoted by a tombstone')
})
