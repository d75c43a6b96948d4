// LevelDB persistence of the catalog: one sublevel per entry kind (node, service, check, cluster)
// plus `meta` for the version counter and the modify index. Every change is one atomic batch, so a
// crash never leaves half a registration on disk; loading reads each sublevel in bulk with
// `nextv` pages instead of one read per key.

import { Level } from 'level'
import type { AbstractSublevel } from 'abstract-level'
import type { Entry } from './entry.ts'
import type { Stored } from './state.ts'

type Database = Level<string, unknown>
type Sublevel = AbstractSublevel<Database, string | Buffer | Uint8Array, string, unknown>
type Operation = { type: 'put', sublevel: Sublevel, key: string, value: unknown } | { type: 'del', sublevel: Sublevel, key: string }

export interface CatalogMeta {
  /** Highest version this agent has issued for its own entries. */
  counter: number
  /** Local modify index after the last change. */
  index: number
}

const LOAD_PAGE = 1000

export class CatalogStore {
  private readonly db: Database
  private readonly kinds: { node: Sublevel, service: Sublevel, check: Sublevel, cluster: Sublevel }
  private readonly meta: Sublevel

  private constructor (db: Database) {
    this.db = db
    const sublevel = (name: string): Sublevel => db.sublevel<string, unknown>(name, { valueEncoding: 'json' })
    this.kinds = { node: sublevel('node'), service: sublevel('service'), check: sublevel('check'), cluster: sublevel('cluster') }
    this.meta = sublevel('meta')
  }

  static async open (path: string): Promise<CatalogStore> {
    const db = new Level<string, unknown>(path, { valueEncoding: 'json' })
    await db.open()
    return new CatalogStore(db)
  }

  /** Streams every stored entry to `onStored`, then returns the persisted meta (zeros when new). */
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

  /** Writes entries and removals and the new meta in one atomic batch. */
  async write (puts: Stored[], removals: Entry[], meta: CatalogMeta): Promise<void> {
    const operations: Operation[] = []
    for (const stored of puts) operations.push({ type: 'put', sublevel: this.sublevelOf(stored.entry), key: keyOf(stored.entry), value: stored })
    for (const entry of removals) operations.push({ type: 'del', sublevel: this.sublevelOf(entry), key: keyOf(entry) })
    operations.push({ type: 'put', sublevel: this.meta, key: 'meta', value: meta })
    await this.db.batch(operations)
  }

  async close (): Promise<void> {
    await this.db.close()
  }

  private sublevelOf (entry: Entry): Sublevel {
    return entry.scope === 'cluster' ? this.kinds.cluster : this.kinds[entry.kind]
  }
}

function keyOf (entry: Entry): string {
  return entry.scope === 'cluster' ? `${entry.kind}\0${entry.key}` : `${entry.node}\0${entry.key}`
}
