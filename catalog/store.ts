// What the catalog needs from storage, and nothing more: load everything once at open, write one
// atomic batch per change (durable when its promise resolves), close. Two implementations: LevelDB for the agent (level-store.ts) and
// an in-memory one for tests and the simulator (memory-store.ts). The catalog core decides every
// batch (core.ts), so a store holds no rules of its own.

import type { Entry } from './entry.ts'
import type { Stored } from './state.ts'

export interface CatalogMeta {
  /** Highest version this agent has issued for its own entries. */
  counter: number
  /** Local modify index after the last change. */
  index: number
}

/** One change: entries to put, entries to remove and the new meta, stored all or nothing. */
export interface StoreBatch {
  puts: Stored[]
  removals: Entry[]
  meta: CatalogMeta
}

export interface CatalogStore {
  /** Streams every stored entry to `onStored`, then returns the persisted meta (zeros when new). */
  load (onStored: (stored: Stored) => void): Promise<CatalogMeta>
  /**
   * Persists the batch atomically: after a crash either all of it is stored or none. The batch is
   * encoded before `write` returns: one that cannot be encoded throws at once and nothing of it
   * is queued. The promise resolves once the batch is durable (on disk, for LevelDB); batches
   * become durable in the order they were written, so a store may write several queued ones at
   * once (group commit). A rejected promise means the store failed and accepts no more writes.
   */
  write (batch: StoreBatch): Promise<void>
  close (): Promise<void>
}

/** Where an entry lives in a store: its kind's keyspace and its key there. */
export function storeKeyOf (entry: Entry): { keyspace: 'node' | 'service' | 'check' | 'cluster', key: string } {
  return entry.scope === 'cluster'
    ? { keyspace: 'cluster', key: `${entry.kind}\0${entry.key}` }
    : { keyspace: entry.kind, key: `${entry.node}\0${entry.key}` }
}
