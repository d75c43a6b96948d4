// Specification of this agent's own writes: what each returns to gossip, how checks follow their
// service, NotFound errors, and that every write is validated and atomic.

import t from 'tap'
import { checkRecord, openCatalog, serviceRecord } from './fixtures.ts'
import type { NodeScopedEntry } from '../../catalog/entry.ts'

const versions = (entries: unknown[]): number[] => (entries as NodeScopedEntry[]).map(entry => entry.version)

t.test('registerService returns the service and its checks as entries with growing versions', async t => {
  const catalog = await openCatalog(t)
  const entries = await catalog.registerService(serviceRecord('web-1', { Tags: ['v1'] }), [checkRecord('web-http', { Definition: { HTTP: 'http://x' } })])
  t.same(entries.map(entry => [entry.kind, entry.key, entry.deleted]), [['service', 'web-1', false], ['check', 'web-http', false]])
  const [a, b] = versions(entries)
  t.ok(b > a, 'each entry gets its own version')
  const check = catalog.localCheck('web-http')!
  t.equal(check.ServiceID, 'web-1', 'the check is bound to its service')
  t.equal(check.ServiceName, 'web')
  t.same(check.ServiceTags, ['v1'])
  t.same(check.Definition, { HTTP: 'http://x' }, 'the local definition is kept')
  t.equal((entries[1] as NodeScopedEntry).value !== undefined && 'Definition' in (entries[1] as NodeScopedEntry).value!, false, 'definitions are never replicated')
  t.same(catalog.localServices().map(service => service.ID), ['web-1'])
})

t.test('re-registering keeps other checks (retagged) unless replaceExistingChecks drops them', async t => {
  const catalog = await openCatalog(t)
  await catalog.registerService(serviceRecord('web-1'), [checkRecord('a'), checkRecord('b')])
  const retagged = await catalog.registerService(serviceRecord('web-1', { Tags: ['v2'] }), [checkRecord('a')])
  t.same(retagged.map(entry => entry.key), ['web-1', 'a', 'b'], 'check b is re-issued with the new tags')
  t.same(catalog.localCheck('b')!.ServiceTags, ['v2'])
  const replaced = await catalog.registerService(serviceRecord('web-1', { Tags: ['v2'] }), [checkRecord('a')], { replaceExistingChecks: true })
  t.same(replaced.map(entry => [entry.key, entry.deleted]), [['web-1', false], ['a', false], ['b', true]])
  t.equal(catalog.localCheck('b'), undefined)
})

t.test('deregisterService removes the service and its checks; unknown IDs are NotFound', async t => {
  const catalog = await openCatalog(t)
  await catalog.registerService(serviceRecord('web-1'), [checkRecord('a')])
  await catalog.registerCheck(checkRecord('node-check'))
  const removed = await catalog.deregisterService('web-1')
  t.same(removed.map(entry => [entry.kind, entry.key, entry.deleted]), [['service', 'web-1', true], ['check', 'a', true]])
  t.same(catalog.localChecks().map(check => check.CheckID), ['node-check'], 'node-level checks stay')
  await t.rejects(catalog.deregisterService('web-1'), { code: 'MESH_ERR_CATALOG_SERVICE_NOT_FOUND' })
  await t.rejects(catalog.deregisterCheck('nope'), { code: 'MESH_ERR_CATALOG_CHECK_NOT_FOUND' })
  await t.rejects(catalog.updateCheck('nope', 'passing', ''), { code: 'MESH_ERR_CATALOG_CHECK_NOT_FOUND' })
  await t.rejects(catalog.registerCheck(checkRecord('c', { ServiceID: 'ghost' })), { code: 'MESH_ERR_CATALOG_SERVICE_NOT_FOUND' })
})

t.test('updateCheck writes only real changes and keeps CreateIndex', async t => {
  const catalog = await openCatalog(t)
  await catalog.registerService(serviceRecord('web-1'), [checkRecord('a', { Status: 'critical' })])
  const [created] = catalog.checksForService('web')
  t.same(await catalog.updateCheck('a', 'critical', ''), [], 'same status and output: nothing to gossip')
  const index = catalog.index
  const update = await catalog.updateCheck('a', 'passing', 'HTTP 200')
  t.equal(update.length, 1)
  t.equal(catalog.index, index + 1, 'one change, one index bump')
  const [updated] = catalog.checksForService('web')
  t.equal(updated.Status, 'passing')
  t.equal(updated.Output, 'HTTP 200')
  t.equal(updated.CreateIndex, created.CreateIndex)
  t.equal(updated.ModifyIndex, index + 1)
  t.equal(catalog.localCheck('a')!.ServiceName, 'web', 'binding survives updates')
})

t.test('invalid local records are refused and change nothing', async t => {
  const catalog = await openCatalog(t)
  const index = catalog.index
  const digest = JSON.stringify(catalog.digest())
  await t.rejects(catalog.registerService(serviceRecord('web-1', { Port: 70000 }), []), { code: 'MESH_ERR_CATALOG_INVALID_ENTRY' })
  await t.rejects(catalog.registerService(serviceRecord('web-1'), [checkRecord('a', { Status: 'sick' as never })]), { code: 'MESH_ERR_CATALOG_INVALID_ENTRY' })
  await t.rejects(catalog.registerService(serviceRecord('web-1', { Meta: { k: 'x'.repeat(600) } }), []), { code: 'MESH_ERR_CATALOG_INVALID_ENTRY' })
  await t.rejects(catalog.updateSelf({ Address: 'x'.repeat(300) }), { code: 'MESH_ERR_CATALOG_INVALID_ENTRY' })
  t.equal(catalog.index, index)
  t.equal(JSON.stringify(catalog.digest()), digest)
  t.same(catalog.localServices(), [])
})

t.test('updateSelf republishes the node record only when it changes', async t => {
  const catalog = await openCatalog(t)
  const entries = await catalog.updateSelf({ Meta: { rack: 'r1' } })
  t.equal(entries.length, 1)
  t.same(catalog.node('self')!.Node.Meta, { rack: 'r1' })
  t.same(catalog.self.Meta, { rack: 'r1' }, 'self follows the published record')
  t.same(await catalog.updateSelf({ Meta: { rack: 'r1' } }), [])
})

t.test('republishLocal re-versions every own entry, tombstones included, above everything before', async t => {
  const catalog = await openCatalog(t)
  const first = await catalog.registerService(serviceRecord('web-1'), [checkRecord('a')])
  const gone = await catalog.deregisterService('web-1')
  const before = Math.max(...versions([...first, ...gone]))
  const republished = await catalog.republishLocal()
  t.same(republished.map(entry => [entry.kind, entry.key, entry.deleted]).sort(), [['check', 'a', true], ['node', 'self', false], ['service', 'web-1', true]])
  t.ok(Math.min(...versions(republished)) > before)
})

t.test('mutations run one at a time: concurrent registrations all land', async t => {
  const catalog = await openCatalog(t)
  const index = catalog.index
  await Promise.all(Array.from({ length: 20 }, (_, i) => catalog.registerService(serviceRecord(`svc-${i}`), [checkRecord(`check-${i}`)])))
  t.equal(catalog.localServices().length, 20)
  t.equal(catalog.localChecks().length, 20)
  t.equal(catalog.index, index + 20)
})

t.test('updateCheck cuts oversized output instead of refusing the status', async t => {
  const catalog = await openCatalog(t)
  await catalog.registerCheck(checkRecord('big'))
  await catalog.updateCheck('big', 'critical', 'x'.repeat(100_000))
  t.equal(catalog.localCheck('big')!.Status, 'critical')
  t.equal(catalog.localCheck('big')!.Output.length, 16 * 1024)
})

t.test('registerServices writes a service and its sidecar as one change, or nothing when one is refused', async t => {
  const catalog = await openCatalog(t)
  const index = catalog.index
  const sidecar = serviceRecord('web-sidecar-proxy', { Kind: 'connect-proxy', Proxy: { DestinationServiceName: 'web' } })
  await t.rejects(catalog.registerServices([{ service: serviceRecord('web-1'), checks: [] }, { service: { ...sidecar, Port: 70000 }, checks: [] }]), { code: 'MESH_ERR_CATALOG_INVALID_ENTRY' })
  t.same([catalog.index, catalog.localServices()], [index, []], 'the valid first one was not written either')
  const entries = await catalog.registerServices([{ service: serviceRecord('web-1'), checks: [checkRecord('web-ttl')] }, { service: sidecar, checks: [] }])
  t.same(entries.map(entry => entry.key), ['web-1', 'web-ttl', 'web-sidecar-proxy'])
  t.equal(catalog.index, index + 1, 'one change')
})
