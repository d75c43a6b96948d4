// Properties of catalog replication's inputs, driven through the real Replication over a fake
// libp2p node (its /mesh/sync/1.0.0 stream handler and its gossipsub messages): any bytes a peer
// sends are answered or refused without an exception escaping, and what a batch stores is exactly
// what its valid entries store: an invalid entry next to valid ones leaves no trace.
import t from 'tap'
import type { Test } from 'tap'
import fc from 'fast-check'
import pino from 'pino'
import { Replication, PROTOCOL_SYNC } from '../../agent/sync/replication.ts'
import type { MeshNode } from '../../agent/transport/libp2p.ts'
import { TOPIC_CATALOG } from '../../agent/transport/libp2p.ts'
import type { Catalog } from '../../catalog/catalog.ts'
import { validateEntry } from '../../catalog/entry.ts'
import { checkEntry, memoryCatalog, nodeEntry, serviceEntry, serviceTombstone } from '../catalog/fixtures.ts'
import { anyJson, anyText, assertReached, fuzzParameters } from './fuzz.ts'
import { syncRegressions } from './regressions.ts'

type StreamHandler = (stream: unknown, connection: unknown) => Promise<void>

/** A libp2p node that is only a stream-handler table and a pubsub event target. */
function fakeNode (): { node: MeshNode, handlers: Map<string, StreamHandler>, pubsub: EventTarget } {
  const handlers = new Map<string, StreamHandler>()
  const pubsub = Object.assign(new EventTarget(), { subscribe: () => {}, publish: async () => ({ recipients: [] }) })
  const node = {
    services: { pubsub },
    handle: async (protocol: string, handler: StreamHandler) => { handlers.set(protocol, handler) },
    unhandle: async (protocol: string) => { handlers.delete(protocol) },
  }
  return { node: node as unknown as MeshNode, handlers, pubsub }
}

/** One inbound stream carrying `bytes`: records what the handler sends back, or that it aborted. */
function fakeStream (bytes: Uint8Array) {
  const result: { sent?: Uint8Array, aborted?: Error, closed: boolean } = { closed: false }
  const stream = {
    async * [Symbol.asyncIterator] () { if (bytes.byteLength > 0) yield bytes },
    send: (data: Uint8Array) => { result.sent = data; return true },
    close: async () => { result.closed = true },
    abort: (error: Error) => { result.aborted = error },
  }
  return { stream, result }
}

async function replicationOver (t: Test, catalog: Catalog) {
  const fake = fakeNode()
  const merges: Array<Promise<unknown>> = []
  // The real catalog, with every merge's promise kept so a test can wait for gossip to be applied.
  const watched = new Proxy(catalog, {
    get (target, key, receiver) {
      if (key === 'merge') return (entries: unknown[]) => { const done = target.merge(entries); merges.push(done); return done }
      const value = Reflect.get(target, key, receiver)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
  const replication = new Replication({ syncIntervalMs: 3_600_000 }, { catalog: watched, node: fake.node, log: pino({ level: 'silent' }), peers: () => [], random: () => 0.5 })
  await replication.start()
  t.teardown(() => replication.stop())
  const handler = fake.handlers.get(PROTOCOL_SYNC)
  if (handler === undefined) throw new Error('replication registered no sync handler')
  return { replication, handler, pubsub: fake.pubsub, merges }
}

const nodeName = fc.oneof({ weight: 5, arbitrary: fc.constantFrom('n1', 'n2', 'node-1') }, { weight: 1, arbitrary: anyText(20) })
const version = fc.oneof({ weight: 5, arbitrary: fc.integer({ min: 1, max: 6 }) }, { weight: 1, arbitrary: anyJson(1) })
/** Entries as peers send them: valid ones, and valid ones with one field replaced by anything. */
const entry: fc.Arbitrary<unknown> = fc.oneof(
  fc.tuple(nodeName, version).map(([node, v]) => nodeEntry(node, v as number)),
  fc.tuple(nodeName, fc.constantFrom('web-1', 'api-1', 'x'), version).map(([node, id, v]) => serviceEntry(node, id, v as number)),
  fc.tuple(nodeName, fc.constantFrom('web-1', 'x'), version).map(([node, id, v]) => serviceTombstone(node, id, v as number)),
  fc.tuple(nodeName, fc.constantFrom('c1', 'c2'), version).map(([node, id, v]) => checkEntry(node, id, v as number)),
  fc.record({ scope: fc.constant('cluster'), kind: fc.constantFrom('intention', 'config-entry', 'x'), key: anyText(20), hlc: fc.record({ wallMs: fc.nat(), counter: fc.nat({ max: 3 }), nodeId: nodeName }), deleted: fc.boolean(), value: anyJson(3) }, { requiredKeys: [] }),
  anyJson(3)
).chain(base => fc.oneof(
  { weight: 2, arbitrary: fc.constant(base) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom('node', 'key', 'version', 'deleted', 'value', 'scope', 'kind', 'ID', 'Service', 'Port', 'Tags', 'Meta', 'Status', 'Output'), anyJson(2)).map(([field, value]) => {
    if (typeof base !== 'object' || base === null || Array.isArray(base)) return base
    const copy = structuredClone(base) as Record<string, unknown>
    const record = typeof copy.value === 'object' && copy.value !== null && /^[A-Z]/.test(field) ? copy.value as Record<string, unknown> : copy
    record[field] = value
    return copy
  }) }
))

const syncMessage = fc.oneof(
  fc.array(entry, { maxLength: 6 }).map(entries => ({ v: 1, type: 'push', entries })),
  fc.record({ v: fc.constant(1), type: fc.constant('pull'), digest: fc.oneof(anyJson(3), fc.record({ nodes: fc.dictionary(nodeName, fc.record({ version: version, hash: fc.constantFrom('0000000000000000', 'zz', '') })), cluster: fc.array(fc.constant('0000000000000000'), { maxLength: 256 }) })) }),
  fc.record({ v: anyJson(1), type: anyText(8), entries: anyJson(2), digest: anyJson(2) }, { requiredKeys: [] }),
  anyJson(3)
)
const bytes = fc.oneof(
  { weight: 4, arbitrary: syncMessage.map(message => Buffer.from(JSON.stringify(message) ?? '')) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 100 }) }
)

t.test('a sync request of any bytes is answered or refused, and a refused one changes nothing', async t => {
  const catalog = await memoryCatalog(t, 'node-1')
  const { handler } = await replicationOver(t, catalog)
  let answered = 0
  let refused = 0
  await fc.assert(fc.asyncProperty(bytes, async data => {
    const { stream, result } = fakeStream(data)
    const before = JSON.stringify(catalog.digest())
    await handler(stream, { remotePeer: { toString: () => 'peer' } })
    if (result.sent === undefined && result.aborted === undefined) throw new Error('neither answered nor refused')
    if (result.sent !== undefined) {
      answered++
      JSON.parse(Buffer.from(result.sent).toString('utf8'))
    } else {
      refused++
      if (JSON.stringify(catalog.digest()) !== before) throw new Error(`refused (${result.aborted?.message}) but the catalog changed`)
    }
  }), fuzzParameters(300, syncRegressions.map(message => [Buffer.from(JSON.stringify(message))] as [Uint8Array])))
  assertReached(t, answered > 0 && refused > 0, `${answered} answered, ${refused} refused`)
})

t.test('a batch with invalid entries stores what its valid entries alone store', async t => {
  let mixed = 0
  await fc.assert(fc.asyncProperty(fc.array(entry, { minLength: 1, maxLength: 8 }), async entries => {
    // Two fresh catalogs per input, closed at its end (memoryCatalog closes through `teardown`).
    const cleanups: Array<() => unknown> = []
    const sub = { teardown: (fn: () => unknown) => { cleanups.push(fn) } } as unknown as Test
    try {
      const all = await memoryCatalog(sub, 'node-1')
      const validOnly = await memoryCatalog(sub, 'node-1')
      const valid = entries.filter(candidate => { try { validateEntry(candidate); return true } catch { return false } })
      if (valid.length > 0 && valid.length < entries.length) mixed++
      const result = await all.merge(entries)
      await validOnly.merge(valid)
      if (result.applied.length + result.rejected > entries.length) throw new Error('more outcomes than entries')
      if (JSON.stringify(all.digest()) !== JSON.stringify(validOnly.digest())) throw new Error('the invalid entries changed what was stored')
    } finally {
      for (const cleanup of cleanups) await cleanup()
    }
  }), fuzzParameters(200))
  assertReached(t, mixed > 10, `${mixed} batches mixed valid and invalid entries`)
})

t.test('gossip of any bytes is applied or counted as rejected, never an unhandled rejection', async t => {
  const catalog = await memoryCatalog(t, 'node-1')
  const { replication, pubsub, merges } = await replicationOver(t, catalog)
  const unhandled: unknown[] = []
  const onUnhandled = (reason: unknown): void => { unhandled.push(reason) }
  process.on('unhandledRejection', onUnhandled)
  t.teardown(() => { process.off('unhandledRejection', onUnhandled) })
  await fc.assert(fc.asyncProperty(bytes, async data => {
    pubsub.dispatchEvent(new CustomEvent('message', { detail: { topic: TOPIC_CATALOG, data } }))
    await Promise.allSettled(merges.splice(0))
  }), fuzzParameters(300))
  // An unhandled rejection is reported on a later turn: let one pass.
  await new Promise(resolve => setImmediate(resolve))
  t.same(unhandled, [], 'no unhandled rejection')
  assertReached(t, replication.stats.rejected > 0 && replication.stats.received > 0, `received ${replication.stats.received}, rejected ${replication.stats.rejected}`)
})
