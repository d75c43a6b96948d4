// An in-memory catalog store for tests and the deterministic simulator: the same contract as the
// LevelDB store (one atomic batch per change, load in keyspace-then-key order) with no disk.
// Records are kept serialized, as LevelDB's JSON encoding keeps them, so nothing the catalog holds
// in memory aliases what is "on disk", and a restart sees exactly what was written. The contents
// outlive the store object: a simulated restart opens a new store over the same contents, as a
// restarted agent opens its data directory again.

import { CatalogClosedError } from './errors.ts'
import type { Stored } from './state.ts'
import type { CatalogMeta, CatalogStore, StoreBatch } from './store.ts'
import { storeKeyOf } from './store.ts'

/** What survives a restart: serialized records by keyspace and key, and the meta. */
export interface MemoryStoreContents {
  records: Map<string, string>
  meta: CatalogMeta | undefined
}

const KEYSPACES = ['node', 'service', 'check', 'cluster'] as const

export class MemoryCatalogStore implements CatalogStore {
  readonly contents: MemoryStoreContents
  private closed = false

  constructor (contents: MemoryStoreContents = { records: new Map(), meta: undefined }) {
    this.contents = contents
  }

  async load (onStored: (stored: Stored) => void): Promise<CatalogMeta> {
    this.assertOpen()
    const rank = (id: string): number => KEYSPACES.indexOf(id.slice(0, id.indexOf('/')) as typeof KEYSPACES[number])
    const ids = [...this.contents.records.keys()].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0))
    for (const id of ids) onStored(JSON.parse(this.contents.records.get(id)!) as Stored)
    const meta = this.contents.meta
    return { counter: meta?.counter ?? 0, index: meta?.index ?? 0 }
  }

  /** Stores the batch at once (so a restart sees it); throws at once, storing nothing, when a value cannot be encoded. */
  write ({ puts, removals, meta }: StoreBatch): Promise<void> {
    this.assertOpen()
    // Serialize everything before touching the contents, so a value that cannot be encoded
    // fails the whole batch, as LevelDB's would.
    const encoded = puts.map(stored => [idOf(stored.entry), JSON.stringify(stored)] as const)
    const removed = removals.map(idOf)
    for (const [id, json] of encoded) this.contents.records.set(id, json)
    for (const id of removed) this.contents.records.delete(id)
    this.contents.meta = { counter: meta.counter, index: meta.index }
    return Promise.resolve()
  }

  async close (): Promise<void> {
    this.closed = true
  }

  private assertOpen (): void {
    if (this.closed) throw new CatalogClosedError()
  }
}

function idOf (entry: Stored['entry']): string {
  const { keyspace, key } = storeKeyOf(entry)
  return `${keyspace}/${key}`
}
