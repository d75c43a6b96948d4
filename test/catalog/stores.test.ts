// Specification of the store contract (catalog/store.ts), run against both implementations: the
// LevelDB store the agent uses and the in-memory one tests and the simulator use. A batch lands
// whole or not at all, loading returns what was written in keyspace-then-key order with the meta,
// a batch that cannot be encoded and a write to a closed store are refused at once. The in-memory store's contents outlive it, like a data dir.

import t from 'tap'
import type { Test } from 'tap'
import { LevelCatalogStore } from '../../catalog/level-store.ts'
import { MemoryCatalogStore } from '../../catalog/memory-store.ts'
import type { Stored } from '../../catalog/state.ts'
import type { CatalogStore } from '../../catalog/store.ts'
import { checkEntry, nodeEntry, serviceEntry, tempDir } from './fixtures.ts'

const stored = (entry: Stored['entry'], index: number): Stored => ({ entry, createIndex: index, modifyIndex: index })

const kinds: Array<{ name: string, open: (t: Test) => Promise<{ store: CatalogStore, reopen: () => Promise<CatalogStore> }> }> = [
  {
    name: 'LevelDB',
    open: async t => {
      const path = await tempDir(t)
      return { store: await LevelCatalogStore.open(path), reopen: async () => await LevelCatalogStore.open(path) }
    },
  },
  {
    name: 'in-memory',
    open: async () => {
      const store = new MemoryCatalogStore()
      return { store, reopen: async () => new MemoryCatalogStore(store.contents) }
    },
  },
]

async function loadAll (store: CatalogStore): Promise<{ entries: Stored[], meta: unknown }> {
  const entries: Stored[] = []
  const meta = await store.load(entry => { entries.push(entry) })
  return { entries, meta }
}

for (const kind of kinds) {
  t.test(`${kind.name}: batches land whole, load returns them in keyspace order with the meta`, async t => {
    const { store, reopen } = await kind.open(t)
    t.same(await loadAll(store), { entries: [], meta: { counter: 0, index: 0 } }, 'a new store is empty')
    await store.write({ puts: [stored(serviceEntry('b', 'web-1', 3), 2), stored(checkEntry('a', 'c', 2), 2), stored(nodeEntry('b', 1), 2), stored(serviceEntry('a', 'web-1', 4), 2)], removals: [], meta: { counter: 7, index: 2 } })
    await store.write({ puts: [], removals: [checkEntry('a', 'c', 2)], meta: { counter: 7, index: 3 } })
    t.throws(() => store.write({ puts: [stored(serviceEntry('a', 'bad-1', 5), 4), { entry: serviceEntry('a', 'x-1', 6), createIndex: 4, modifyIndex: 4, definition: { n: 1n } as never }], removals: [serviceEntry('b', 'web-1', 3)], meta: { counter: 9, index: 4 } }),
      'a value that cannot be encoded fails the batch at once')
    await store.close()
    const again = await reopen()
    t.same(await loadAll(again), {
      entries: [stored(nodeEntry('b', 1), 2), stored(serviceEntry('a', 'web-1', 4), 2), stored(serviceEntry('b', 'web-1', 3), 2)],
      meta: { counter: 7, index: 3 },
    }, 'node, then service keyspace, each by node and key; nothing of the failed batch')
    await again.close()
    t.throws(() => again.write({ puts: [], removals: [], meta: { counter: 0, index: 0 } }), { code: 'MESH_ERR_CATALOG_CLOSED' }, 'a closed store refuses writes')
  })
}
