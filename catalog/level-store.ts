// The catalog's LevelDB store (what the agent uses): one sublevel per entry kind (node, service,
// check, cluster) plus `meta` for the version counter and the modify index. Every change is one
// atomic batch, so a crash never leaves half a registration on disk; loading reads each sublevel
// in bulk with `nextv` pages instead of one read per key.

import { Level } from 'level'
import type { AbstractSublevel } from 'abstract-level'
import type { Stored } from './state.ts'
import type { CatalogMeta, CatalogStore, StoreBatch } from './store.ts'
import { storeKeyOf } from './store.ts'

type Database = Level<string, unknown>
type Sublevel = AbstractSublevel<Database, string | Buffer | Uint8Array, string, unknown>
type Operation = { type: 'put', sublevel: Sublevel, key: string, value: unknown } | { type: 'del', sublevel: Sublevel, key: string }

const LOAD_PAGE = 1000

export class LevelCatalogStore implements CatalogStore {
  private readonly db: Database
  private readonly kinds: { node: Sublevel, service: Sublevel, check: Sublevel, cluster: Sublevel }
  private readonly meta: Sublevel

  private constructor (db: Database) {
    this.db = db
    const sublevel = (name: string): Sublevel => db.sublevel<string, unknown>(name, { valueEncoding: 'json' })
    this.kinds = { node: sublevel('node'), service: sublevel('service'), check: sublevel('check'), cluster: sublevel('cluster') }
    this.meta = sublevel('meta')
  }

  static async open (path: string): Promise<LevelCatalogStore> {
    const db = new Level<string, unknown>(path, { valueEncoding: 'json' })
    await db.open()
    return new LevelCatalogStore(db)
  }

  async load (onStored: (stored: Stored) => void): Promise<CatalogMeta> {
    for (const sublevel of Object.values(this.kinds)) {
      const iterator = sublevel.iterator()
      try {
        for (;;) {
          const page = await iterator.nextv(LOAD_PAGE)
          if (page.length === 0) break
          for (const [, stored] of page) onStored(stored as Stored)
        }
      } finally {
        await iterator.close()
      }
    }
    const meta = await this.meta.get('meta') as unknown as CatalogMeta | undefined
    return { counter: meta?.counter ?? 0, index: meta?.index ?? 0 }
  }

  async write ({ puts, removals, meta }: StoreBatch): Promise<void> {
    const operations: Operation[] = []
    for (const stored of puts) {
      const { keyspace, key } = storeKeyOf(stored.entry)
      operations.push({ type: 'put', sublevel: this.kinds[keyspace], key, value: stored })
    }
    for (const entry of removals) {
      const { keyspace, key } = storeKeyOf(entry)
      operations.push({ type: 'del', sublevel: this.kinds[keyspace], key })
    }
    operations.push({ type: 'put', sublevel: this.meta, key: 'meta', value: meta })
    await this.db.batch(operations)
  }

  async close (): Promise<void> {
    await this.db.close()
  }
}
