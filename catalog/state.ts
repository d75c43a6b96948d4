// The catalog's in-memory state and its indexes: every stored entry (live or tombstone) by node and
// by cluster kind, plus the secondary indexes queries need (instances by service name, sidecars by
// destination, checks by service and by status) and the XOR fingerprints anti-entropy digests are
// made of. Everything here is synchronous and I/O-free; catalog.ts decides what to apply and
// queues it in the store first, so this state only ever holds what LevelDB holds or is syncing.

import type { CheckEntry, ClusterEntry, Entry, NodeEntry, NodeScopedEntry, ServiceEntry } from './entry.ts'
import { entryFingerprint, fnv1a } from './entry.ts'
import { compareHlc } from './hlc.ts'
import type { HealthStatus } from '../api/catalog-types.ts'

export type Liveness = 'alive' | 'failed' | 'left' | 'reaped'

/** An entry as stored: with the local indexes of its creation and last change. */
export interface Stored<E extends Entry = Entry> {
  entry: E
  createIndex: number
  modifyIndex: number
  /** Local clock time the tombstone was applied, for garbage collection. */
  deletedAtMs?: number
  /** Only on this agent's own checks: the definition to re-run after a restart; never replicated. */
  definition?: Record<string, unknown>
}

export const CLUSTER_BUCKETS = 256

export class NodeState {
  readonly name: string
  record: Stored<NodeEntry> | undefined
  readonly services = new Map<string, Stored<ServiceEntry>>()
  readonly checks = new Map<string, Stored<CheckEntry>>()
  /** Live check IDs by ServiceID ('' for node-level checks). */
  readonly checksByService = new Map<string, Set<string>>()
  maxVersion = 0
  /** Highest version of a tombstone garbage-collected here: older tombstones are already applied. */
  collectedVersion = 0
  fingerprint: [number, number] = [0, 0]
  liveness: Liveness = 'alive'
  /** The state generation of this node's last change (its records, checks or liveness). */
  changedAt = 0
  /** Local indexes of the synthesized serfHealth check. */
  serfCreateIndex = 0
  serfModifyIndex = 0

  constructor (name: string) {
    this.name = name
  }

  get entryCount (): number {
    return this.services.size + this.checks.size + (this.record === undefined ? 0 : 1)
  }

  /** Visible to queries: has a node record and has not left. */
  get visible (): boolean {
    return this.record !== undefined && this.liveness !== 'left'
  }

  *entries (): Iterable<Stored<NodeScopedEntry>> {
    if (this.record !== undefined) yield this.record
    yield * this.services.values()
    yield * this.checks.values()
  }
}

export interface ServiceRef { node: string, id: string }

const refKey = (node: string, id: string): string => `${node}\0${id}`

function addRef (index: Map<string, Map<string, ServiceRef>>, name: string, node: string, id: string): void {
  let refs = index.get(name)
  if (refs === undefined) index.set(name, refs = new Map())
  refs.set(refKey(node, id), { node, id })
}

function removeRef (index: Map<string, Map<string, ServiceRef>>, name: string, node: string, id: string): void {
  const refs = index.get(name)
  if (refs === undefined) return
  refs.delete(refKey(node, id))
  if (refs.size === 0) index.delete(name)
}

function xorInto (target: [number, number], fingerprint: [number, number]): void {
  target[0] = (target[0] ^ fingerprint[0]) >>> 0
  target[1] = (target[1] ^ fingerprint[1]) >>> 0
}

export function clusterBucket (kind: string, key: string): number {
  return fnv1a(`${kind}\0${key}`, 0x811c9dc5) % CLUSTER_BUCKETS
}

export class CatalogState {
  readonly nodes = new Map<string, NodeState>()
  /** Live service instances by service name. */
  readonly servicesByName = new Map<string, Map<string, ServiceRef>>()
  /** Live connect-proxy instances by Proxy.DestinationServiceName. */
  readonly proxiesByDestination = new Map<string, Map<string, ServiceRef>>()
  /** Live checks by status. */
  readonly checksByStatus = new Map<HealthStatus, Map<string, ServiceRef>>()
  readonly cluster = new Map<string, Map<string, Stored<ClusterEntry>>>()
  readonly clusterFingerprints: Array<[number, number]> = Array.from({ length: CLUSTER_BUCKETS }, () => [0, 0])
  clusterCount = 0
  /** Grows on every change, so read-side caches know when to rebuild. */
  generation = 0

  nodeState (name: string, create: true): NodeState
  nodeState (name: string, create?: false): NodeState | undefined
  nodeState (name: string, create = false): NodeState | undefined {
    let state = this.nodes.get(name)
    if (state === undefined && create) this.nodes.set(name, state = new NodeState(name))
    return state
  }

  /** The stored entry with the same identity as `entry`, if any. */
  current (entry: Entry): Stored | undefined {
    if (entry.scope === 'cluster') return this.cluster.get(entry.kind)?.get(entry.key)
    const node = this.nodes.get(entry.node)
    if (node === undefined) return undefined
    if (entry.kind === 'node') return node.record
    return entry.kind === 'service' ? node.services.get(entry.key) : node.checks.get(entry.key)
  }

  /** Whether `entry` supersedes what is stored (per-node version, or HLC for cluster entries). */
  isNewer (entry: Entry): boolean {
    const existing = this.current(entry)
    if (entry.scope === 'cluster') {
      return existing === undefined || compareHlc(entry.hlc, (existing.entry as ClusterEntry).hlc) > 0
    }
    if (existing === undefined) {
      const node = this.nodes.get(entry.node)
      return !(entry.deleted && node !== undefined && entry.version <= node.collectedVersion)
    }
    return entry.version > (existing.entry as NodeScopedEntry).version
  }

  /** Replaces whatever is stored under the entry's identity and keeps every index in step. */
  put (stored: Stored): void {
    this.generation++
    const entry = stored.entry
    const previous = this.current(entry)
    if (previous !== undefined) this.unindex(previous)
    if (entry.scope === 'cluster') {
      let byKey = this.cluster.get(entry.kind)
      if (byKey === undefined) this.cluster.set(entry.kind, byKey = new Map())
      if (previous === undefined) this.clusterCount++
      byKey.set(entry.key, stored as Stored<ClusterEntry>)
      xorInto(this.clusterFingerprints[clusterBucket(entry.kind, entry.key)], entryFingerprint(entry))
      return
    }
    const node = this.nodeState(entry.node, true)
    node.changedAt = this.generation
    if (entry.kind === 'node') {
      node.record = stored as Stored<NodeEntry>
      if (node.serfCreateIndex === 0) node.serfCreateIndex = node.serfModifyIndex = stored.createIndex
    } else if (entry.kind === 'service') {
      node.services.set(entry.key, stored as Stored<ServiceEntry>)
      if (!entry.deleted && entry.value !== undefined) {
        addRef(this.servicesByName, entry.value.Service, node.name, entry.key)
        const destination = entry.value.Proxy?.DestinationServiceName
        if (entry.value.Kind === 'connect-proxy' && destination !== undefined) addRef(this.proxiesByDestination, destination, node.name, entry.key)
      }
    } else {
      node.checks.set(entry.key, stored as Stored<CheckEntry>)
      if (!entry.deleted && entry.value !== undefined) {
        let ids = node.checksByService.get(entry.value.ServiceID)
        if (ids === undefined) node.checksByService.set(entry.value.ServiceID, ids = new Set())
        ids.add(entry.key)
        addRef(this.checksByStatus, entry.value.Status, node.name, entry.key)
      }
    }
    if (entry.version > node.maxVersion) node.maxVersion = entry.version
    xorInto(node.fingerprint, entryFingerprint(entry))
  }

  /** Forgets a stored entry entirely (tombstone garbage collection). */
  remove (stored: Stored): void {
    const entry = stored.entry
    if (this.current(entry) !== stored) return
    this.generation++
    this.unindex(stored)
    if (entry.scope === 'cluster') {
      const byKey = this.cluster.get(entry.kind)
      byKey?.delete(entry.key)
      if (byKey?.size === 0) this.cluster.delete(entry.kind)
      this.clusterCount--
      return
    }
    const node = this.nodes.get(entry.node)
    if (node === undefined) return
    node.changedAt = this.generation
    if (entry.kind === 'node') node.record = undefined
    else if (entry.kind === 'service') node.services.delete(entry.key)
    else node.checks.delete(entry.key)
    if (entry.deleted && entry.version > node.collectedVersion) node.collectedVersion = entry.version
  }

  /** Records a change to a node that is not an entry (its liveness). */
  touch (node: NodeState): void {
    node.changedAt = ++this.generation
  }

  /** Forgets a node and everything it wrote (membership reaped it). */
  dropNode (name: string): NodeState | undefined {
    const node = this.nodes.get(name)
    if (node === undefined) return undefined
    this.generation++
    for (const stored of [...node.entries()]) this.unindex(stored)
    this.nodes.delete(name)
    return node
  }

  private unindex (stored: Stored): void {
    const entry = stored.entry
    if (entry.scope === 'cluster') {
      xorInto(this.clusterFingerprints[clusterBucket(entry.kind, entry.key)], entryFingerprint(entry))
      return
    }
    const node = this.nodes.get(entry.node)
    if (node === undefined) return
    xorInto(node.fingerprint, entryFingerprint(entry))
    if (entry.kind === 'service' && entry.value !== undefined) {
      removeRef(this.servicesByName, entry.value.Service, node.name, entry.key)
      const destination = entry.value.Proxy?.DestinationServiceName
      if (destination !== undefined) removeRef(this.proxiesByDestination, destination, node.name, entry.key)
    } else if (entry.kind === 'check' && entry.value !== undefined) {
      const ids = node.checksByService.get(entry.value.ServiceID)
      ids?.delete(entry.key)
      if (ids?.size === 0) node.checksByService.delete(entry.value.ServiceID)
      removeRef(this.checksByStatus, entry.value.Status, node.name, entry.key)
    }
  }
}
