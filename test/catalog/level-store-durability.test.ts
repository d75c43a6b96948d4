// Specification of the LevelDB store's durability (catalog/level-store.ts): concurrent writes
// share synced LevelDB writes (group commit) and resolve in order, each only once the
// acknowledged mark covers it; damage is refused at open with StoreDamagedError naming the file —
// a write-ahead log cut to 3/4 included, which LevelDB by itself opens without a word; and
// salvage rebuilds a readable copy. The catalog refuses every write after a failed one.

import t from 'tap'
import { readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Catalog } from '../../catalog/catalog.ts'
import { ACKED_FILE, LevelCatalogStore } from '../../catalog/level-store.ts'
import { MemoryCatalogStore } from '../../catalog/memory-store.ts'
import type { Stored } from '../../catalog/state.ts'
import type { StoreBatch } from '../../catalog/store.ts'
import { nodeRecord, serviceEntry, serviceRecord, tempDir, testClock } from './fixtures.ts'

const batch = (i: number): StoreBatch => ({
  puts: [{ entry: serviceEntry('self', `svc-${i}`, i + 1, { Meta: { pad: 'x'.repeat(200) } }), createIndex: i + 2, modifyIndex: i + 2 }],
  removals: [],
  meta: { counter: i + 1, index: i + 2 },
})

const acked = (path: string): { index: number, counter: number } => JSON.parse(readFileSync(join(path, ACKED_FILE), 'utf8'))

async function loadAll (store: LevelCatalogStore): Promise<{ keys: string[], meta: unknown }> {
  const keys: string[] = []
  const meta = await store.load((stored: Stored) => { keys.push(stored.entry.key) })
  return { keys, meta }
}

/** A store at `path` holding `count` batches, one per service, closed. */
async function filled (path: string, count: number): Promise<void> {
  const store = await LevelCatalogStore.open(path)
  await loadAll(store)
  for (let i = 0; i < count; i++) await store.write(batch(i))
  await store.close()
}

t.test('concurrent writes share synced writes, resolve in order, and the mark catches up once they pause', async t => {
  const path = join(await tempDir(t), 'catalog')
  const store = await LevelCatalogStore.open(path)
  await loadAll(store)
  const order: number[] = []
  await Promise.all(Array.from({ length: 60 }, async (_, i) => {
    await store.write(batch(i))
    order.push(i)
  }))
  t.same(order, Array.from({ length: 60 }, (_, i) => i), 'batches become durable in the order they were written')
  t.equal(store.stats.batches, 60)
  t.ok(store.stats.groups < 60, `60 concurrent batches took ${store.stats.groups} synced writes`)
  await store.close()
  t.same(acked(path), { index: 61, counter: 60 }, 'once writes pause, the mark covers every acknowledged write')
  const again = await LevelCatalogStore.open(path)
  t.equal((await loadAll(again)).keys.length, 60, 'all of them are there after reopening')
  await again.close()
})

t.test('a write-ahead log cut to 3/4 is refused; LevelDB alone would drop its tail without a word', async t => {
  const path = join(await tempDir(t), 'catalog')
  await filled(path, 300)
  const log = readdirSync(path).filter(name => /^\d{6}\.log$/.test(name)).map(name => join(path, name)).sort((a, b) => statSync(b).size - statSync(a).size)[0]
  truncateSync(log, Math.floor(statSync(log).size * 3 / 4))

  const store = await LevelCatalogStore.open(path)
  const error = await loadAll(store).then(() => undefined, (error: unknown) => error)
  await store.close()
  t.match(error, { code: 'MESH_ERR_CATALOG_STORE_DAMAGED', path, file: /^\d{6}\.(log|ldb)/ }, 'refused, naming the store and the log')
  t.match((error as Error).message, /acknowledged writes are missing/)
  t.match((error as Error).message, /changes up to index 301 .* were acknowledged/)

  // What the mark guards against: without it the same directory loads fewer services and no error.
  rmSync(join(path, ACKED_FILE))
  const unguarded = await LevelCatalogStore.open(path)
  const { keys } = await loadAll(unguarded)
  await unguarded.close()
  t.ok(keys.length > 0 && keys.length < 300, `LevelDB by itself kept ${keys.length} of 300 without an error`)
})

t.test('a directory that holds a database is never re-created empty: CURRENT deleted or garbled, MANIFEST garbled', async t => {
  const damages: Array<[string, (path: string) => void, RegExp]> = [
    ['CURRENT deleted', path => { rmSync(join(path, 'CURRENT')) }, /^CURRENT$/],
    ['CURRENT garbled', path => { writeFileSync(join(path, 'CURRENT'), 'garbage') }, /^CURRENT$/],
    ['MANIFEST garbled', path => {
      const manifest = join(path, readdirSync(path).find(name => name.startsWith('MANIFEST-'))!)
      writeFileSync(manifest, readFileSync(manifest).map(byte => byte ^ 0x5a))
    }, /^MANIFEST-\d+/],
  ]
  for (const [name, damage, file] of damages) {
    const path = join(await tempDir(t), 'catalog')
    await filled(path, 20)
    damage(path)
    await t.rejects(LevelCatalogStore.open(path), { code: 'MESH_ERR_CATALOG_STORE_DAMAGED', path, file }, `${name}: refused, naming the file`)
    t.ok(readdirSync(path).includes(ACKED_FILE), `${name}: nothing was re-created`)
  }
})

t.test('salvage rebuilds a readable copy beside the damaged directory, which stays as it was', async t => {
  const dir = await tempDir(t)
  const damaged = join(dir, 'damaged')
  await filled(damaged, 20)
  rmSync(join(damaged, 'CURRENT'))
  const before = readdirSync(damaged).sort()
  const target = join(dir, 'catalog')
  await LevelCatalogStore.salvage(damaged, target)
  t.same(readdirSync(damaged).sort(), before, 'the damaged directory is untouched')
  const store = await LevelCatalogStore.open(target)
  const { keys, meta } = await loadAll(store)
  await store.close()
  t.equal(keys.length, 20, 'every intact record is back')
  t.same(meta, { counter: 20, index: 21 })
  t.same(acked(target), { index: 21, counter: 20 }, 'the copy acknowledges what it holds')
})

t.test('after a write fails to become durable, the catalog refuses every write', async t => {
  class FailingStore extends MemoryCatalogStore {
    fail = false
    override write (batch: StoreBatch): Promise<void> {
      if (this.fail) return Promise.reject(new Error('EIO: i/o error, fsync'))
      return super.write(batch)
    }
  }
  const store = new FailingStore()
  const catalog = await Catalog.open({ store, self: nodeRecord('self'), now: testClock(1000).now })
  t.teardown(async () => await catalog.close())
  await catalog.registerService(serviceRecord('web-1'), [])
  store.fail = true
  await t.rejects(catalog.registerService(serviceRecord('web-2'), []), { code: 'MESH_ERR_CATALOG_STORE_FAILED', message: /EIO/ }, 'the write is not acknowledged')
  store.fail = false
  await t.rejects(catalog.registerService(serviceRecord('web-3'), []), { code: 'MESH_ERR_CATALOG_STORE_FAILED' }, 'later writes are refused though the store works again')
  t.same([...store.contents.records.keys()].filter(key => key.includes('web-3')), [], 'nothing of the refused write reached the store')
})
