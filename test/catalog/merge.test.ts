// Specification of the merge rules: per-node entries keep the higher version, tombstones win over
// older copies and never get resurrected by stale ones, cluster registers order by HLC with the
// node id as tie-break, and invalid entries are rejected, counted and change nothing.

import t from 'tap'
import type { ClusterEntry } from '../../catalog/entry.ts'
import { compareHlc, HybridLogicalClock } from '../../catalog/hlc.ts'
import { checkEntry, nodeEntry, openCatalog, serviceEntry, serviceTombstone } from './fixtures.ts'

const cluster = (key: string, wallMs: number, counter: number, nodeId: string, value?: unknown): ClusterEntry =>
  value === undefined
    ? { scope: 'cluster', kind: 'intention', key, hlc: { wallMs, counter, nodeId }, deleted: true }
    : { scope: 'cluster', kind: 'intention', key, hlc: { wallMs, counter, nodeId }, deleted: false, value }

t.test('the higher version wins; equal and lower versions are ignored', async t => {
  const catalog = await openCatalog(t)
  await catalog.merge([nodeEntry('n1', 1), serviceEntry('n1', 'web-1', 5, { Port: 1 })])
  t.same((await catalog.merge([serviceEntry('n1', 'web-1', 4, { Port: 2 })])).applied, [], 'lower ignored')
  t.same((await catalog.merge([serviceEntry('n1', 'web-1', 5, { Port: 3 })])).applied, [], 'equal ignored')
  t.equal(catalog.serviceNodes('web')[0].ServicePort, 1)
  const { applied } = await catalog.merge([serviceEntry('n1', 'web-1', 6, { Port: 4 })])
  t.equal(applied.length, 1)
  t.equal(catalog.serviceNodes('web')[0].ServicePort, 4)
})

t.test('within one merge the highest copy of a key wins whatever the order', async t => {
  const catalog = await openCatalog(t)
  const { applied } = await catalog.merge([nodeEntry('n1', 1), serviceEntry('n1', 'web-1', 9, { Port: 9 }), serviceEntry('n1', 'web-1', 3, { Port: 3 })])
  t.equal(applied.length, 2)
  t.equal(catalog.serviceNodes('web')[0].ServicePort, 9)
})

t.test('a tombstone removes an older copy and a stale copy never resurrects it', async t => {
  const catalog = await openCatalog(t)
  await catalog.merge([nodeEntry('n1', 1), serviceEntry('n1', 'web-1', 2), checkEntry('n1', 'web-check', 3, { ServiceID: 'web-1', ServiceName: 'web' })])
  await catalog.merge([serviceTombstone('n1', 'web-1', 4)])
  t.same(catalog.serviceNodes('web'), [])
  t.same(catalog.services(), {})
  t.same((await catalog.merge([serviceEntry('n1', 'web-1', 2)])).applied, [], 'stale live copy ignored')
  t.same(catalog.serviceNodes('web'), [])
  await catalog.merge([serviceEntry('n1', 'web-1', 7, { Port: 7 })])
  t.equal(catalog.serviceNodes('web')[0].ServicePort, 7, 're-registered by its owner with a higher version')
})

t.test('a tombstone arriving before the entry it deletes still wins', async t => {
  const catalog = await openCatalog(t)
  await catalog.merge([nodeEntry('n1', 1), serviceTombstone('n1', 'web-1', 4)])
  await catalog.merge([serviceEntry('n1', 'web-1', 3)])
  t.same(catalog.serviceNodes('web'), [])
})

t.test('HLC: later wall time wins, then higher counter, then higher node id; concurrent deletes too', async t => {
  const catalog = await openCatalog(t)
  await catalog.merge([cluster('a', 100, 0, 'node-b', 'first')])
  await catalog.merge([cluster('a', 99, 50, 'node-z', 'older wall time')])
  t.equal(catalog.clusterEntry('intention', 'a')?.value, 'first')
  await catalog.merge([cluster('a', 100, 1, 'node-a', 'higher counter')])
  t.equal(catalog.clusterEntry('intention', 'a')?.value, 'higher counter')
  await catalog.merge([cluster('a', 100, 1, 'node-c', 'tie, higher node id')])
  t.equal(catalog.clusterEntry('intention', 'a')?.value, 'tie, higher node id')
  await catalog.merge([cluster('a', 100, 1, 'node-b', 'tie, lower node id')])
  t.equal(catalog.clusterEntry('intention', 'a')?.value, 'tie, higher node id')
  await catalog.merge([cluster('a', 101, 0, 'node-a')])
  t.equal(catalog.clusterEntry('intention', 'a'), undefined, 'a later delete wins')
  await catalog.merge([cluster('a', 100, 9, 'node-z', 'stale put')])
  t.equal(catalog.clusterEntry('intention', 'a'), undefined, 'and an older put does not resurrect it')
})

t.test('local cluster writes order after every timestamp seen, even with a lagging clock', async t => {
  const catalog = await openCatalog(t)
  await catalog.merge([cluster('a', 1_000_000, 7, 'node-fast', 'remote')])
  const [local] = await catalog.putClusterEntry('intention', 'a', 'local') as ClusterEntry[]
  t.ok(compareHlc(local.hlc, { wallMs: 1_000_000, counter: 7, nodeId: 'node-fast' }) > 0)
  t.equal(catalog.clusterEntry('intention', 'a')?.value, 'local')
})

t.test('the hybrid logical clock is monotonic when the physical clock stalls or goes back', async t => {
  let nowMs = 10
  const clock = new HybridLogicalClock('n', () => nowMs)
  const a = clock.tick()
  nowMs = 5
  const b = clock.tick()
  nowMs = 10
  const c = clock.tick()
  nowMs = 11
  const d = clock.tick()
  t.same([a, b, c, d].map(h => [h.wallMs, h.counter]), [[10, 0], [10, 1], [10, 2], [11, 0]])
  clock.observe({ wallMs: 50, counter: 3, nodeId: 'm' })
  t.same(clock.tick(), { wallMs: 50, counter: 4, nodeId: 'n' })
  t.ok(compareHlc({ wallMs: 1, counter: 0, nodeId: 'a' }, { wallMs: 1, counter: 0, nodeId: 'b' }) < 0)
  t.equal(compareHlc({ wallMs: 1, counter: 2, nodeId: 'a' }, { wallMs: 1, counter: 2, nodeId: 'a' }), 0)
})

function deeplyNested (depth: number): unknown {
  let value: unknown = 1
  for (let i = 0; i < depth; i++) value = [value]
  return value
}

const invalid: Array<[string, unknown]> = [
  ['not an object', 'hello'],
  ['null', null],
  ['unknown scope', { ...serviceEntry('n1', 'x-1', 1), scope: 'galaxy' }],
  ['unknown kind', { ...serviceEntry('n1', 'x-1', 1), kind: 'widget' }],
  ['version zero', serviceEntry('n1', 'x-1', 0)],
  ['fractional version', serviceEntry('n1', 'x-1', 1.5)],
  ['string version', { ...serviceEntry('n1', 'x-1', 1), version: '2' }],
  ['key differs from service ID', { ...serviceEntry('n1', 'x-1', 1), key: 'y' }],
  ['live entry without value', { ...serviceEntry('n1', 'x-1', 1), value: undefined }],
  ['tombstone with value', { ...serviceEntry('n1', 'x-1', 1), deleted: true }],
  ['missing deleted flag', { ...serviceEntry('n1', 'x-1', 1), deleted: undefined }],
  ['port out of range', serviceEntry('n1', 'x-1', 1, { Port: 99999 })],
  ['tags not strings', serviceEntry('n1', 'x-1', 1, { Tags: [1 as never] })],
  ['too many tags', serviceEntry('n1', 'x-1', 1, { Tags: Array.from({ length: 65 }, (_, i) => `t${i}`) })],
  ['huge meta value', serviceEntry('n1', 'x-1', 1, { Meta: { k: 'v'.repeat(513) } })],
  ['control characters in a name', serviceEntry('n1', 'x-1', 1, { Service: 'bad\u0000name' })],
  ['a lone surrogate in a service ID', serviceEntry('n1', 'x-\ud800', 1)],
  ['a lone surrogate in a check ID', checkEntry('n1', 'c\udfff', 1)],
  ['bad check status', checkEntry('n1', 'c', 1, { Status: 'sick' as never })],
  ['huge check output', checkEntry('n1', 'c', 1, { Output: 'x'.repeat(20_000) })],
  ['node record naming another node', { ...nodeEntry('n1', 1), value: { ...nodeEntry('n2', 1).value } }],
  ['deleted node entry', { scope: 'node', kind: 'node', node: 'n1', key: 'n1', version: 3, deleted: true }],
  ['proxy without destination', serviceEntry('n1', 'x-1', 1, { Kind: 'connect-proxy' })],
  ['cluster entry with a reserved kind', { ...cluster('k', 1, 0, 'n'), kind: 'service' }],
  ['cluster entry without hlc', { ...cluster('k', 1, 0, 'n', 1), hlc: undefined }],
  ['cluster entry with negative wall time', cluster('k', -1, 0, 'n', 1)],
  ['oversized cluster value', cluster('k', 1, 0, 'n', 'x'.repeat(300 * 1024))],
  ['cluster value nested too deep to serialize', cluster('k', 1, 0, 'n', deeplyNested(50_000))],
]

t.test('invalid entries are rejected one by one, counted by code, and change nothing', async t => {
  const catalog = await openCatalog(t)
  await catalog.merge([nodeEntry('n1', 1)])
  const index = catalog.index
  const digest = JSON.stringify(catalog.digest())
  for (const [name, entry] of invalid) {
    const result = await catalog.merge([entry])
    t.same(result, { applied: [], rejected: 1 }, name)
  }
  t.equal(catalog.index, index, 'no index bump')
  t.equal(JSON.stringify(catalog.digest()), digest, 'no state change')
  t.same(catalog.rejectedCounts(), { MESH_ERR_CATALOG_INVALID_ENTRY: invalid.length })
})

t.test('valid entries in a batch with invalid ones are applied; unknown fields are dropped', async t => {
  const catalog = await openCatalog(t)
  const smuggled = { ...serviceEntry('n1', 'web-1', 2), value: { ...serviceEntry('n1', 'web-1', 2).value, Evil: 'x'.repeat(1000) } }
  const result = await catalog.merge([nodeEntry('n1', 1), 42, smuggled, serviceEntry('n1', 'web-1', 3, { Port: 99999 })])
  t.equal(result.rejected, 2)
  t.equal(result.applied.length, 2)
  t.notOk('Evil' in catalog.node('n1')!.Services['web-1'])
})

t.test('a stale or foreign copy of this agent\'s own entries is outvoted, never applied', async t => {
  const catalog = await openCatalog(t, 'self')
  const [mine] = await catalog.registerService({ ...serviceEntry('self', 'web-1', 1).value! }, [])
  const mineVersion = (mine as { version: number }).version
  const { applied } = await catalog.merge([
    serviceEntry('self', 'web-1', mineVersion + 100, { Port: 1 }),
    serviceEntry('self', 'ghost-1', mineVersion + 200),
  ])
  t.equal(catalog.localService('web-1')!.Port, 8080, 'our own record is the truth')
  t.equal(catalog.localService('ghost-1'), undefined)
  t.same(applied.map(entry => [entry.key, entry.deleted]), [['web-1', false], ['ghost-1', true]], 'corrections to spread')
  t.ok(applied.every(entry => (entry as { version: number }).version > mineVersion + 200), 'corrections outvote the copies seen')
})

t.test('a list that is not an array is rejected without throwing', async t => {
  const catalog = await openCatalog(t)
  t.same(await catalog.merge('nope' as never), { applied: [], rejected: 1 })
})

t.test('a peer cannot make the catalog hold more than its limits; the surplus is counted', async t => {
  const catalog = await openCatalog(t, 'self', { limits: { entriesPerNode: 3, nodes: 3, clusterEntries: 2, entriesPerMerge: 10 } })
  const flood = [nodeEntry('n1', 1), ...Array.from({ length: 5 }, (_, i) => serviceEntry('n1', `s-${i}`, i + 2))]
  const result = await catalog.merge(flood)
  t.equal(result.applied.length, 3, 'record + 2 services fit')
  t.equal(result.rejected, 3)
  t.same((await catalog.merge([serviceEntry('n1', 's-0', 50, { Port: 1 })])).applied.length, 1, 'updating an existing key is always possible')
  await catalog.merge([nodeEntry('n2', 1), nodeEntry('n3', 1)])
  t.equal(catalog.nodes().length, 3, 'self, n1, n2: the node limit holds')
  await catalog.merge([cluster('a', 1, 0, 'x', 1), cluster('b', 1, 0, 'x', 1), cluster('c', 1, 0, 'x', 1)])
  t.equal(catalog.clusterEntries('intention').length, 2)
  const big = await catalog.merge(Array.from({ length: 12 }, (_, i) => cluster('a', 2, i, 'x', i)))
  t.equal(big.rejected, 2, 'entries beyond one merge\'s limit are rejected')
  t.same(catalog.rejectedCounts(), { MESH_ERR_CATALOG_CAPACITY: 7 })
  await t.rejects(catalog.putClusterEntry('intention', 'z', 1), { code: 'MESH_ERR_CATALOG_CAPACITY' })
})

t.test('names like __proto__ from the network are ordinary keys everywhere', async t => {
  const catalog = await openCatalog(t)
  await catalog.merge([nodeEntry('__proto__', 1), serviceEntry('__proto__', '__proto__', 2, { Service: '__proto__' })])
  t.same(Object.keys(catalog.digest().nodes).sort(), ['__proto__', 'self'])
  t.same(Object.keys(catalog.services()), ['__proto__'])
  t.same(Object.keys(catalog.node('__proto__')!.Services), ['__proto__'])
  t.same(JSON.parse(JSON.stringify(catalog.digest())).nodes.__proto__, catalog.digest().nodes.__proto__)
})

t.test('closing twice at once is fine; writes after close are refused', async t => {
  const catalog = await openCatalog(t)
  await Promise.all([catalog.close(), catalog.close()])
  await t.rejects(catalog.registerCheck({ CheckID: 'x', Name: 'x', Status: 'passing', Notes: '', Output: '', ServiceID: '', ServiceName: '', ServiceTags: [], Type: 'ttl' }), { code: 'MESH_ERR_CATALOG_CLOSED' })
})
