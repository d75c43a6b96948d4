// Specification of anti-entropy: digests and size-bounded pages repair whatever gossip lost.
// The convergence test runs several catalogs (real LevelDB) under the deterministic simulator
// (test/sim/engine.ts) with lossy delta gossip, a partition, a crash and restart, and periodic
// push-pull; every registration must reach every catalog and every cluster register must agree.

import t from 'tap'
import type { Test } from 'tap'
import { Catalog } from '../../catalog/catalog.ts'
import type { CatalogDigest } from '../../catalog/sync.ts'
import type { ClusterEntry, Entry } from '../../catalog/entry.ts'
import { compareHlc } from '../../catalog/hlc.ts'
import { SimEngine, mulberry32 } from '../sim/engine.ts'
import { entryBytes } from '../../catalog/entry.ts'
import { nodeEntry, nodeRecord, openCatalog, serviceEntry, serviceRecord, tempDir } from './fixtures.ts'

type Message =
  | { type: 'delta', entries: Entry[] }
  | { type: 'pull', digest: CatalogDigest }
  | { type: 'answer', entries: Entry[], digest: CatalogDigest }
  | { type: 'push', entries: Entry[] }

/** Digests compared independently of the order nodes were first seen in. */
const canonical = (digest: CatalogDigest): string =>
  JSON.stringify([Object.entries(digest.nodes).sort(([a], [b]) => a < b ? -1 : 1), digest.cluster])

const sameDigests = (catalogs: Catalog[]): boolean => {
  const first = canonical(catalogs[0].digest())
  return catalogs.every(catalog => canonical(catalog.digest()) === first)
}

async function simulate (t: Test, seed: number): Promise<void> {
  const names = ['a', 'b', 'c', 'd', 'e', 'f']
  const engine = new SimEngine<Message>({ seed, network: { lossProbability: 0.3 } })
  const random = mulberry32(seed ^ 0x9e3779b9)
  let simulatedMs = 0
  const clock = { now: () => simulatedMs, advance: () => {}, set: () => {} }
  const paths = new Map<string, string>()
  const catalogs = new Map<string, Catalog>()
  const up = new Map<string, boolean>()
  for (const name of names) {
    paths.set(name, await tempDir(t))
    catalogs.set(name, await Catalog.open({ path: paths.get(name)!, self: nodeRecord(name), now: clock.now }))
    up.set(name, true)
  }
  t.teardown(async () => { for (const catalog of catalogs.values()) await catalog.close() })
  const inbox = new Map<string, Array<() => Promise<void>>>(names.map(name => [name, []]))
  const enqueue = (name: string, task: () => Promise<void>): void => { inbox.get(name)!.push(task) }
  const pageBytes = 4096

  const gossip = (from: string, entries: Entry[]): void => {
    if (entries.length === 0) return
    for (const to of names) if (to !== from) engine.send(from, to, { type: 'delta', entries }, false)
  }
  /** Plugs a node into the simulated network (again, after a restart) with its sync timer. */
  const start = (name: string): void => {
    const catalog = (): Catalog => catalogs.get(name)!
    engine.addNode(name, {
      onMessage: (from, message) => enqueue(name, async () => {
        if (message.type === 'delta' || message.type === 'push') {
          await catalog().merge(message.entries)
        } else if (message.type === 'pull') {
          engine.send(name, from, { type: 'answer', entries: catalog().missingFor(message.digest, pageBytes), digest: catalog().digest() }, true)
        } else {
          await catalog().merge(message.entries)
          const missing = catalog().missingFor(message.digest, pageBytes)
          if (missing.length > 0) engine.send(name, from, { type: 'push', entries: missing }, true)
        }
      }),
    })
    const syncEvery = (atMs: number): void => engine.setTimer(name, atMs, () => {
      enqueue(name, async () => {
        const peers = names.filter(peer => peer !== name)
        engine.send(name, peers[Math.floor(random() * peers.length)], { type: 'pull', digest: catalog().digest() }, true)
      })
      syncEvery(atMs + 400 + Math.floor(random() * 200))
    })
    syncEvery(engine.nowMs + Math.floor(random() * 400))
  }
  for (const name of names) start(name)

  // Node c crashes at 2.5 s and restarts from its data dir at 3.5 s, republishing its entries.
  engine.schedule(2500, () => {
    engine.crash('c')
    up.set('c', false)
    enqueue('c', async () => { await catalogs.get('c')!.close() })
  })
  engine.schedule(3500, () => {
    enqueue('c', async () => {
      catalogs.set('c', await Catalog.open({ path: paths.get('c')!, self: nodeRecord('c'), now: clock.now }))
      up.set('c', true)
      gossip('c', await catalogs.get('c')!.republishLocal())
    })
    start('c')
  })

  // Workload: each node registers 12 services over 3 s (some during the partition), removes every
  // third, and all write one shared cluster register at once.
  const expected = new Map<string, Set<string>>(names.map(name => [name, new Set()]))
  const clusterWrites: ClusterEntry[] = []
  for (const name of names) {
    for (let i = 0; i < 12; i++) {
      engine.schedule(Math.floor(random() * 3000), () => enqueue(name, async () => {
        if (up.get(name) !== true) return
        gossip(name, await catalogs.get(name)!.registerService(serviceRecord(`${name}-svc-${i}`, { Service: `svc-${i % 4}` }), []))
        expected.get(name)!.add(`${name}-svc-${i}`)
      }))
      if (i % 3 === 0) {
        engine.schedule(3200 + Math.floor(random() * 800), () => enqueue(name, async () => {
          if (up.get(name) !== true || !expected.get(name)!.has(`${name}-svc-${i}`)) return
          gossip(name, await catalogs.get(name)!.deregisterService(`${name}-svc-${i}`))
          expected.get(name)!.delete(`${name}-svc-${i}`)
        }))
      }
    }
    engine.schedule(2000, () => enqueue(name, async () => {
      if (up.get(name) !== true) return
      const entries = await catalogs.get(name)!.putClusterEntry('config-entry', 'shared', { writer: name })
      clusterWrites.push(entries[0] as ClusterEntry)
      gossip(name, entries)
    }))
  }
  engine.schedule(1000, () => engine.partition([['a', 'b', 'c'], ['d', 'e', 'f']]))
  engine.schedule(6000, () => engine.heal())

  let convergedAtMs: number | undefined
  for (let stepEndMs = 50; stepEndMs <= 60_000; stepEndMs += 50) {
    engine.runUntil(stepEndMs)
    simulatedMs = stepEndMs
    for (const name of names) {
      const tasks = inbox.get(name)!
      while (tasks.length > 0) await tasks.shift()!()
    }
    if (stepEndMs > 6000 && sameDigests([...catalogs.values()])) { convergedAtMs = stepEndMs; break }
  }
  const all = [...catalogs.values()]
  t.ok(convergedAtMs !== undefined, `seed ${seed}: converged (at ${convergedAtMs} ms simulated; lost ${engine.stats.lost} datagrams)`)
  for (const [owner, ids] of expected) {
    for (const catalog of all) {
      const seen = catalog.nodes().length === names.length && Object.keys(catalog.node(owner)!.Services).sort()
      t.same(seen, [...ids].sort(), `seed ${seed}: ${catalog.self.Node} holds exactly ${owner}'s registrations`)
    }
  }
  const winner = clusterWrites.reduce((best, entry) => compareHlc(entry.hlc, best.hlc) > 0 ? entry : best)
  for (const catalog of all) t.same(catalog.clusterEntry('config-entry', 'shared')?.value, winner.value, `seed ${seed}: the register agrees`)
}

for (const seed of [1, 2, 3]) {
  t.test(`catalogs converge under loss, a partition and a restart (seed ${seed})`, async t => { await simulate(t, seed) })
}

t.test('missingFor pages stay within maxBytes and paging in ascending versions converges', async t => {
  const source = await openCatalog(t, 'source')
  const sink = await openCatalog(t, 'sink')
  for (let i = 0; i < 300; i++) await source.registerService(serviceRecord(`svc-${i}`, { Meta: { pad: 'x'.repeat(100) } }), [])
  let pages = 0
  for (;;) {
    const page = source.missingFor(sink.digest(), 8192)
    if (page.length === 0) break
    t.ok(page.reduce((sum, entry) => sum + entryBytes(entry), 0) <= 8192)
    await sink.merge(page)
    pages++
  }
  t.ok(pages > 5 && pages < 40, `took ${pages} pages`)
  t.equal(Object.keys(sink.node('source')!.Services).length, 300)
  t.same(sink.digest().nodes.source, source.digest().nodes.source)
})

t.test('a delta lost in the middle is repaired though the receiver already has the newest version', async t => {
  const holder = await openCatalog(t, 'holder')
  const gappy = await openCatalog(t, 'gappy')
  const entries = [nodeEntry('n1', 1), serviceEntry('n1', 'x-1', 2), serviceEntry('n1', 'y-1', 3), serviceEntry('n1', 'z-1', 4)]
  await holder.merge(entries)
  await gappy.merge([entries[0], entries[1], entries[3]])
  t.equal(gappy.digest().nodes.n1.version, 4, 'same maximum version on both sides')
  t.not(gappy.digest().nodes.n1.hash, holder.digest().nodes.n1.hash)
  await gappy.merge(holder.missingFor(gappy.digest(), 1024))
  t.same(Object.keys(gappy.node('n1')!.Services).sort(), ['x-1', 'y-1', 'z-1'])
  t.same(holder.missingFor(gappy.digest()), [], 'nothing more once fingerprints agree')
})

t.test('a whole-node resend larger than a page resumes where the last page stopped', async t => {
  const holder = await openCatalog(t, 'holder')
  const gappy = await openCatalog(t, 'gappy')
  const entries = [nodeEntry('n1', 1), ...Array.from({ length: 40 }, (_, i) => serviceEntry('n1', `s-${i}`, i + 2, { Meta: { pad: 'p'.repeat(200) } }))]
  await holder.merge(entries)
  await gappy.merge(entries.filter((_, i) => i !== 35))
  let rounds = 0
  while (gappy.digest().nodes.n1.hash !== holder.digest().nodes.n1.hash && rounds < 20) {
    const page = holder.missingFor(gappy.digest(), 2048)
    t.ok(page.length > 0 && page.length < 40, 'each page is a part of the node')
    await gappy.merge(page)
    rounds++
  }
  t.ok(rounds <= 10, `repaired in ${rounds} rounds`)
  t.same(gappy.digest().nodes.n1, holder.digest().nodes.n1)
})

t.test('an entry larger than the page still goes out, alone, so sync cannot stall on it', async t => {
  const holder = await openCatalog(t, 'holder')
  const empty = await openCatalog(t, 'empty')
  await holder.putClusterEntry('ca-root', 'root', { pem: 'x'.repeat(10_000) })
  const page = holder.missingFor(empty.digest(), 1024)
  t.same(page.map(entry => entry.key), ['root'])
})

t.test('malformed digests are refused with a typed error', async t => {
  const catalog = await openCatalog(t)
  const bad: unknown[] = [null, {}, { nodes: {}, cluster: [] }, { nodes: [], cluster: Array(256).fill('0'.repeat(16)) },
    { nodes: { x: { version: -1, hash: '0'.repeat(16) } }, cluster: Array(256).fill('0'.repeat(16)) },
    { nodes: { x: { version: 1, hash: 'zz' } }, cluster: Array(256).fill('0'.repeat(16)) }]
  for (const digest of bad) t.throws(() => catalog.missingFor(digest as never), { code: 'MESH_ERR_CATALOG_INVALID_DIGEST' })
})
