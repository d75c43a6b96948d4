// This agent's own entries: it is their single writer, so it alone numbers them. Versions come
// from one counter that only grows, is persisted with every batch and, after a restart, continues
// above the highest version persisted or seen coming back from peers. It also never falls below
// the wall clock (ms × 1000): an agent that lost its data dir still outvotes the copies of its old
// entries that others hold.

import type { CheckEntry, NodeEntry, NodeScopedEntry, ServiceEntry } from './entry.ts'
import type { CheckRecord, NodeRecord, ServiceRecord } from '../api/catalog-types.ts'

export class OwnEntries {
  readonly node: string
  /** Highest version issued or seen for this node. */
  counter = 0
  private readonly now: () => number

  constructor (node: string, now: () => number) {
    this.node = node
    this.now = now
  }

  /** Takes a version seen (persisted, or a copy from a peer) into account. */
  observe (version: number): void {
    if (version > this.counter) this.counter = version
  }

  nextVersion (): number {
    this.counter = Math.max(this.counter + 1, Math.floor(this.now()) * 1000)
    return this.counter
  }

  nodeEntry (value: NodeRecord): NodeEntry {
    return { scope: 'node', kind: 'node', node: this.node, key: this.node, version: this.nextVersion(), deleted: false, value }
  }

  /** A live service entry, or its tombstone when `value` is undefined. */
  serviceEntry (key: string, value: ServiceRecord | undefined): ServiceEntry {
    const entry: ServiceEntry = { scope: 'node', kind: 'service', node: this.node, key, version: this.nextVersion(), deleted: value === undefined }
    if (value !== undefined) entry.value = value
    return entry
  }

  /** A live check entry, or its tombstone when `value` is undefined. */
  checkEntry (key: string, value: CheckRecord | undefined): CheckEntry {
    const entry: CheckEntry = { scope: 'node', kind: 'check', node: this.node, key, version: this.nextVersion(), deleted: value === undefined }
    if (value !== undefined) entry.value = value
    return entry
  }

  /** The same entry under a new, higher version. */
  reversion (entry: NodeScopedEntry): NodeScopedEntry {
    return { ...entry, version: this.nextVersion() } as NodeScopedEntry
  }

  tombstone (kind: NodeScopedEntry['kind'], key: string): NodeScopedEntry {
    return { scope: 'node', kind, node: this.node, key, version: this.nextVersion(), deleted: true } as NodeScopedEntry
  }
}
