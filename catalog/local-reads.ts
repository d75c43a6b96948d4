// Reads the catalog answers outside the Consul query shapes (queries.ts): this agent's own
// services, checks and node record, cluster-wide registers by kind and key, and the datacenters
// seen. Synchronous reads of the in-memory state; tombstones are never returned.

import type { CheckEntry } from './entry.ts'
import type { CatalogState, Stored } from './state.ts'
import type { CheckRecord, NodeRecord, ServiceRecord } from '../api/catalog-types.ts'

/** A check as this agent keeps it: the replicated record plus the definition to re-run it. */
export interface LocalCheck extends CheckRecord { Definition?: Record<string, unknown> }

export interface ClusterValue { value: unknown, createIndex: number, modifyIndex: number }

export class LocalReads {
  private readonly state: CatalogState
  private readonly selfName: string
  private readonly initialSelf: NodeRecord

  constructor (state: CatalogState, self: NodeRecord) {
    this.state = state
    this.selfName = self.Node
    this.initialSelf = self
  }

  /** This agent's node record as currently published (the configured one until first written). */
  get self (): NodeRecord {
    return this.state.nodeState(this.selfName)?.record?.entry.value ?? this.initialSelf
  }

  localServices (): ServiceRecord[] {
    const result: ServiceRecord[] = []
    for (const stored of this.state.nodeState(this.selfName)?.services.values() ?? []) if (!stored.entry.deleted) result.push(stored.entry.value!)
    return result
  }

  localService (id: string): ServiceRecord | undefined {
    const stored = this.state.nodeState(this.selfName)?.services.get(id)
    return stored === undefined || stored.entry.deleted ? undefined : stored.entry.value
  }

  localChecks (): LocalCheck[] {
    const result: LocalCheck[] = []
    for (const stored of this.state.nodeState(this.selfName)?.checks.values() ?? []) if (!stored.entry.deleted) result.push(toLocalCheck(stored))
    return result
  }

  localCheck (id: string): LocalCheck | undefined {
    const stored = this.state.nodeState(this.selfName)?.checks.get(id)
    return stored === undefined || stored.entry.deleted ? undefined : toLocalCheck(stored)
  }

  clusterEntry (kind: string, key: string): ClusterValue | undefined {
    const stored = this.state.cluster.get(kind)?.get(key)
    if (stored === undefined || stored.entry.deleted) return undefined
    return { value: stored.entry.value, createIndex: stored.createIndex, modifyIndex: stored.modifyIndex }
  }

  /** Live entries of one kind, sorted by key. */
  clusterEntries (kind: string): Array<{ key: string } & ClusterValue> {
    const result: Array<{ key: string } & ClusterValue> = []
    for (const [key, stored] of this.state.cluster.get(kind) ?? []) {
      if (!stored.entry.deleted) result.push({ key, value: stored.entry.value, createIndex: stored.createIndex, modifyIndex: stored.modifyIndex })
    }
    return result.sort((a, b) => a.key < b.key ? -1 : a.key > b.key ? 1 : 0)
  }

  /** This agent's datacenter first, then the others named by visible node records, sorted. */
  datacenters (): string[] {
    const own = this.self.Datacenter
    const others = new Set<string>()
    for (const node of this.state.nodes.values()) {
      const dc = node.record?.entry.value?.Datacenter
      if (node.visible && dc !== undefined && dc !== own) others.add(dc)
    }
    return [own, ...[...others].sort()]
  }
}

function toLocalCheck (stored: Stored<CheckEntry>): LocalCheck {
  return stored.definition === undefined ? { ...stored.entry.value! } : { ...stored.entry.value!, Definition: stored.definition }
}
