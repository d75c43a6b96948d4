// The catalog's sans-I/O core: every rule that decides what the catalog holds, as a state machine
// with the clock passed in (`nowMs`) and no storage, timers or randomness inside. catalog.ts is the
// thin shell that persists and notifies.
//
// Each input (a local write, a merge, a liveness change, garbage collection) returns a plan: the
// batch of store operations to persist, and `apply()`, which changes the in-memory state and says
// what happened (the watch changes with their modify indexes, and the entries this agent wrote,
// to publish). The shell hands the batch to the store (one atomic batch) before it applies the
// plan, so neither the store nor a reader ever sees half a change; a plan whose batch the store
// refuses is dropped unapplied (catalog.ts says what happens when the disk fails later).
// Plans are meant to be applied at once, one at a time, in the order they were made.
//
// Rules (docs/catalog.md): one writer per node, versioned by its own counter; tombstones for
// deletes, dropped after the TTL; copies of our own entries answered with corrections; cluster-wide
// last-writer-wins registers ordered by HLC; membership drives serfHealth (failed), hides nodes
// that left and forgets reaped ones.

import type { Entry, NodeScopedEntry } from './entry.ts'
import { LIMITS, validateCheckRecord, validateClusterKind, validateEntry, validateNodeRecord, validateServiceRecord } from './entry.ts'
import type { CatalogError } from './errors.ts'
import { CapacityError, CheckNotFoundError, ServiceNotFoundError } from './errors.ts'
import { HybridLogicalClock } from './hlc.ts'
import type { CatalogLimits, Item } from './merge.ts'
import { DEFAULT_LIMITS, identity, planMerge } from './merge.ts'
import { OwnEntries } from './own-entries.ts'
import { LocalReads } from './local-reads.ts'
import type { LocalCheck } from './local-reads.ts'
import type { Liveness, Stored } from './state.ts'
import { CatalogState } from './state.ts'
import type { CatalogMeta, StoreBatch } from './store.ts'
import { SyncCursor } from './sync.ts'
import type { CheckRecord, HealthStatus, NodeRecord, ServiceRecord } from '../api/catalog-types.ts'
import type { CatalogChange } from './watch.ts'

export const DEFAULT_TOMBSTONE_TTL_MS = 72 * 3_600_000
/** Garbage collection after a change runs at most this often (and at least 4 times per TTL). */
const MAX_COLLECT_EVERY_MS = 3_600_000

export interface CatalogCoreInit {
  /** This agent's node record (validated by the caller). */
  self: NodeRecord
  /** How long tombstones (and the memory of reaped nodes) are kept; must exceed the longest partition. */
  tombstoneTtlMs?: number
  limits?: Partial<CatalogLimits>
  /** Opened from a salvaged store: newer copies of our own entries from peers are taken back (see `merge`). */
  recovering?: boolean
}

/** What applying a plan did. */
export interface CatalogOutputs<R> {
  result: R
  /** Watch notifications, in order, each with the modify index it produced. */
  changes: CatalogChange[]
  /** Entries this agent wrote (its own and its cluster-wide writes), for replication to fan out. */
  published: Entry[]
}

export interface CatalogPlan<R> {
  /** The store operations to persist, as one atomic batch, before `apply`; absent when none. */
  batch?: StoreBatch
  apply: () => CatalogOutputs<R>
}

export interface MergeResult {
  applied: Entry[]
  rejected: number
  /** The reasons, one per rejected entry (for logs). */
  rejections: CatalogError[]
}

const nothing = <R>(result: R): CatalogPlan<R> => ({ apply: () => ({ result, changes: [], published: [] }) })

export class CatalogCore {
  readonly selfName: string
  readonly state = new CatalogState()
  readonly reads: LocalReads
  /** Paging position of anti-entropy pages sent to peers (sync.ts). */
  readonly cursor = new SyncCursor()
  /** Local modify index (≥ 1): grows by one per applied change. */
  index = 1
  private readonly tombstoneTtlMs: number
  private readonly limits: CatalogLimits
  private readonly collectEveryMs: number
  private nowMs = 0
  private readonly own: OwnEntries
  private readonly clock: HybridLogicalClock
  /** Reaped nodes: copies at or below this version are stale and must not bring them back. */
  private readonly reaped = new Map<string, { version: number, atMs: number }>()
  private readonly leftAtVersion = new Map<string, number>()
  private readonly rejectedByCode = new Map<string, number>()
  private lastCollectMs = 0
  private restoredOwnVersion = 0
  /** While true, newer copies of our own entries are adopted instead of outvoted; the agent ends it after a sync. */
  recovering: boolean
  /** Own entries adopted back from peers while recovering, by kind. */
  readonly adopted = { node: 0, service: 0, check: 0 }
  /** Highest version among them: the digest asks peers for what is above it, page by page. */
  adoptedVersion = 0
  private restoredIndex = 0

  constructor (init: CatalogCoreInit) {
    this.selfName = init.self.Node
    this.tombstoneTtlMs = init.tombstoneTtlMs ?? DEFAULT_TOMBSTONE_TTL_MS
    this.limits = { ...DEFAULT_LIMITS, ...init.limits }
    this.collectEveryMs = Math.min(MAX_COLLECT_EVERY_MS, this.tombstoneTtlMs / 4)
    this.own = new OwnEntries(init.self.Node, () => this.nowMs)
    this.clock = new HybridLogicalClock(init.self.ID === '' ? init.self.Node : init.self.ID, () => this.nowMs)
    this.reads = new LocalReads(this.state, init.self)
    this.recovering = init.recovering === true
  }

  // ---- restoring from the store ----

  /** Takes one persisted entry back (at open, before any other input). */
  restore (stored: Stored): void {
    this.state.put(stored)
    this.restoredIndex = Math.max(this.restoredIndex, stored.modifyIndex)
    if (stored.entry.scope === 'cluster') this.clock.observe(stored.entry.hlc)
    else if (stored.entry.node === this.selfName) this.restoredOwnVersion = Math.max(this.restoredOwnVersion, stored.entry.version)
  }

  /** Ends restoring: the counter continues above anything persisted, and so does the index. */
  restored (meta: CatalogMeta): void {
    this.own.observe(Math.max(meta.counter, this.restoredOwnVersion))
    this.index = Math.max(1, meta.index, this.restoredIndex)
  }

  /** Publishes this agent's node record if it differs from the one held (at open). */
  publishSelf (self: NodeRecord, nowMs: number): CatalogPlan<Entry[]> {
    this.nowMs = nowMs
    const current = this.state.nodeState(this.selfName)?.record?.entry.value
    const wanted = validateNodeRecord(self, this.selfName)
    if (current !== undefined && JSON.stringify(current) === JSON.stringify(wanted)) return nothing([])
    return this.commit([{ entry: this.own.nodeEntry(wanted) }])
  }

  // ---- local writes (this agent's own node) ----

  registerService (service: ServiceRecord, checks: LocalCheck[], options: { replaceExistingChecks?: boolean }, nowMs: number): CatalogPlan<Entry[]> {
    return this.registerServices([{ service, checks }], options, nowMs)
  }

  /**
   * Registers several services (distinct IDs, e.g. a service and its sidecar) with their checks as
   * one batch: every record is validated before anything is planned, so a refusal writes nothing.
   */
  registerServices (registrations: Array<{ service: ServiceRecord, checks: LocalCheck[] }>, options: { replaceExistingChecks?: boolean }, nowMs: number): CatalogPlan<Entry[]> {
    this.nowMs = nowMs
    const validated = registrations.map(({ service, checks }) => {
      const record = validateServiceRecord(service)
      return { record, checks: checks.map(check => ({ value: validateCheckRecord({ ...check, ServiceID: record.ID, ServiceName: record.Service, ServiceTags: record.Tags }), definition: check.Definition })) }
    })
    const own = this.state.nodeState(this.selfName, true)
    const items: Item[] = []
    for (const { record, checks } of validated) {
      items.push({ entry: this.own.serviceEntry(record.ID, record) })
      const given = new Set<string>()
      for (const { value, definition } of checks) {
        given.add(value.CheckID)
        items.push({ entry: this.own.checkEntry(value.CheckID, value), definition })
      }
      for (const checkId of own.checksByService.get(record.ID) ?? []) {
        if (given.has(checkId)) continue
        const stored = own.checks.get(checkId)!
        if (options.replaceExistingChecks === true) {
          items.push({ entry: this.own.checkEntry(checkId, undefined) })
        } else {
          const value = { ...stored.entry.value!, ServiceName: record.Service, ServiceTags: record.Tags }
          if (JSON.stringify(value) !== JSON.stringify(stored.entry.value)) items.push({ entry: this.own.checkEntry(checkId, value), definition: stored.definition })
        }
      }
    }
    const added = items.filter(item => this.state.current(item.entry) === undefined).length
    if (own.entryCount + added > this.limits.entriesPerNode) throw new CapacityError(`node "${this.selfName}"`, this.limits.entriesPerNode)
    return this.commit(items)
  }

  deregisterService (serviceId: string, nowMs: number): CatalogPlan<Entry[]> {
    this.nowMs = nowMs
    if (this.reads.localService(serviceId) === undefined) throw new ServiceNotFoundError(serviceId)
    const own = this.state.nodeState(this.selfName, true)
    const items: Item[] = [{ entry: this.own.serviceEntry(serviceId, undefined) }]
    for (const checkId of own.checksByService.get(serviceId) ?? []) items.push({ entry: this.own.checkEntry(checkId, undefined) })
    return this.commit(items)
  }

  registerCheck (check: LocalCheck, nowMs: number): CatalogPlan<Entry[]> {
    this.nowMs = nowMs
    let value = validateCheckRecord(check)
    if (value.ServiceID !== '') {
      const service = this.reads.localService(value.ServiceID)
      if (service === undefined) throw new ServiceNotFoundError(value.ServiceID)
      value = { ...value, ServiceName: service.Service, ServiceTags: service.Tags }
    }
    const own = this.state.nodeState(this.selfName, true)
    if (!own.checks.has(value.CheckID) && own.entryCount + 1 > this.limits.entriesPerNode) throw new CapacityError(`node "${this.selfName}"`, this.limits.entriesPerNode)
    return this.commit([{ entry: this.own.checkEntry(value.CheckID, value), definition: check.Definition }])
  }

  deregisterCheck (checkId: string, nowMs: number): CatalogPlan<Entry[]> {
    this.nowMs = nowMs
    if (this.reads.localCheck(checkId) === undefined) throw new CheckNotFoundError(checkId)
    return this.commit([{ entry: this.own.checkEntry(checkId, undefined) }])
  }

  /** Records a check result; plans nothing when nothing changed. */
  updateCheck (checkId: string, status: HealthStatus, output: string, notes: string | undefined, nowMs: number): CatalogPlan<Entry[]> {
    this.nowMs = nowMs
    const stored = this.state.nodeState(this.selfName)?.checks.get(checkId)
    if (stored === undefined || stored.entry.deleted) throw new CheckNotFoundError(checkId)
    const current = stored.entry.value!
    // Oversized output is cut (as Consul does) rather than refused: the status must still land.
    const value = validateCheckRecord({ ...current, Status: status, Output: output.slice(0, LIMITS.outputChars), Notes: notes ?? current.Notes })
    if (value.Status === current.Status && value.Output === current.Output && value.Notes === current.Notes) return nothing([])
    return this.commit([{ entry: this.own.checkEntry(checkId, value), definition: stored.definition }])
  }

  updateSelf (patch: { Address?: string, Meta?: Record<string, string>, TaggedAddresses?: Record<string, string> }, nowMs: number): CatalogPlan<Entry[]> {
    this.nowMs = nowMs
    const current = this.reads.self
    const record = validateNodeRecord({ ...current, ...patch }, this.selfName)
    if (JSON.stringify(record) === JSON.stringify(current)) return nothing([])
    return this.commit([{ entry: this.own.nodeEntry(record) }])
  }

  /** Re-versions every own entry (tombstones too) above anything seen, so stale copies lose everywhere. */
  republishLocal (nowMs: number): CatalogPlan<Entry[]> {
    this.nowMs = nowMs
    const own = this.state.nodeState(this.selfName)
    if (own === undefined) return nothing([])
    const items: Item[] = []
    for (const stored of own.entries()) {
      items.push({ entry: this.own.reversion(stored.entry), definition: stored.definition, deletedAtMs: stored.deletedAtMs })
    }
    return this.commit(items)
  }

  // ---- cluster-wide registers ----

  putClusterEntry (kind: string, key: string, value: unknown, nowMs: number): CatalogPlan<Entry[]> {
    this.nowMs = nowMs
    const entry = validateEntry({ scope: 'cluster', kind: validateClusterKind(kind), key, hlc: this.clock.tick(), deleted: false, value })
    if (this.state.current(entry) === undefined && this.state.clusterCount + 1 > this.limits.clusterEntries) throw new CapacityError('the cluster', this.limits.clusterEntries)
    return this.commit([{ entry }])
  }

  deleteClusterEntry (kind: string, key: string, nowMs: number): CatalogPlan<Entry[]> {
    this.nowMs = nowMs
    const existing = this.state.cluster.get(kind)?.get(key)
    if (existing === undefined || existing.entry.deleted) return nothing([])
    return this.commit([{ entry: { scope: 'cluster', kind, key, hlc: this.clock.tick(), deleted: true } }])
  }

  // ---- replication ----

  /**
   * Validates untrusted entries and plans the ones that win. Invalid entries are skipped and
   * counted; stale ones are ignored. Copies of this agent's own entries that do not match what it
   * holds are answered with re-versioned corrections, which are `applied` and published so they spread.
   * While recovering, a copy newer than what we hold (or of an entry we no longer hold at all) is
   * what the store lost: it is taken back as it is, and the counter continues above it.
   */
  merge (entries: unknown, nowMs: number): CatalogPlan<MergeResult> {
    this.nowMs = nowMs
    const plan = planMerge(entries, { state: this.state, selfNode: this.selfName, reaped: this.reaped, limits: this.limits, observe: hlc => { this.clock.observe(hlc) } })
    for (const error of plan.rejections) this.rejectedByCode.set(error.code, (this.rejectedByCode.get(error.code) ?? 0) + 1)
    const { winners, ownCopies } = plan
    for (const copy of ownCopies) this.own.observe(copy.version)
    const adopting = new Set<string>()
    for (const copy of ownCopies) {
      if (this.recovering) this.adoptOwn(copy, winners, adopting)
      else this.correctOwn(copy, winners)
    }
    const commit = this.commit([...winners.values()])
    return {
      batch: commit.batch,
      apply: () => {
        const { result: applied, changes } = commit.apply()
        for (const entry of applied) {
          if (entry.scope !== 'node' || !adopting.has(identity(entry))) continue
          this.adopted[entry.kind]++
          this.adoptedVersion = Math.max(this.adoptedVersion, entry.version)
        }
        for (const entry of applied) {
          if (entry.scope !== 'node' || entry.deleted) continue
          const leftAt = this.leftAtVersion.get(entry.node)
          if (leftAt !== undefined && entry.version > leftAt) {
            const change = this.setLiveness(entry.node, 'alive')
            if (change !== undefined) changes.push(change)
          }
        }
        const published = applied.filter(entry => entry.scope === 'node' && entry.node === this.selfName)
        return { result: { applied, rejected: plan.rejections.length, rejections: plan.rejections }, changes, published }
      },
    }
  }

  /** Counts of entries rejected by merge, by error code (for metrics). */
  rejectedCounts (): Record<string, number> {
    return Object.fromEntries(this.rejectedByCode)
  }

  // ---- membership ----

  /** Membership's view of a node: drives serfHealth, hides nodes that left, forgets reaped ones. */
  setNodeLiveness (node: string, liveness: Liveness, nowMs: number): CatalogPlan<void> {
    this.nowMs = nowMs
    if (node === this.selfName) return nothing(undefined)
    if (liveness !== 'reaped') {
      return {
        apply: () => {
          if (liveness === 'alive') this.reaped.delete(node)
          const change = this.setLiveness(node, liveness)
          return { result: undefined, changes: change === undefined ? [] : [change], published: [] }
        },
      }
    }
    const state = this.state.nodeState(node)
    if (state === undefined) return nothing(undefined)
    const entries = [...state.entries()].map(stored => stored.entry)
    const index = this.index + 1
    return {
      batch: { puts: [], removals: entries, meta: { counter: this.own.counter, index } },
      apply: () => {
        this.state.dropNode(node)
        this.leftAtVersion.delete(node)
        this.cursor.resumeAfter.delete(node)
        this.reaped.set(node, { version: state.maxVersion, atMs: nowMs })
        this.index = index
        return { result: undefined, changes: [{ index, kinds: ['node', 'service', 'check'], nodes: [node], services: serviceNames(entries) }], published: [] }
      },
    }
  }

  // ---- garbage collection ----

  /** Whether a change at `nowMs` should be followed by a collection (a quarter TTL, at most an hour, since the last). */
  collectionDue (nowMs: number): boolean {
    return nowMs - this.lastCollectMs >= this.collectEveryMs
  }

  /** Drops tombstones and reaped-node memories older than the TTL; the result is how many tombstones went. */
  collectGarbage (nowMs: number): CatalogPlan<number> {
    this.nowMs = nowMs
    this.lastCollectMs = nowMs
    const cutoffMs = nowMs - this.tombstoneTtlMs
    const expired: Stored[] = []
    const consider = (stored: Stored): void => {
      if (stored.entry.deleted && stored.deletedAtMs !== undefined && stored.deletedAtMs <= cutoffMs) expired.push(stored)
    }
    for (const node of this.state.nodes.values()) for (const stored of node.entries()) consider(stored)
    for (const byKey of this.state.cluster.values()) for (const stored of byKey.values()) consider(stored)
    for (const [node, memory] of this.reaped) if (memory.atMs <= cutoffMs) this.reaped.delete(node)
    if (expired.length === 0) return nothing(0)
    return {
      batch: { puts: [], removals: expired.map(stored => stored.entry), meta: { counter: this.own.counter, index: this.index } },
      apply: () => {
        for (const stored of expired) this.state.remove(stored)
        return { result: expired.length, changes: [], published: [] }
      },
    }
  }

  // ---- internals ----

  /** Plans items as one batch; applying puts them in memory and reports one change. */
  private commit (items: Item[]): CatalogPlan<Entry[]> {
    if (items.length === 0) return nothing([])
    const index = this.index + 1
    const stored: Stored[] = items.map(({ entry, definition, deletedAtMs }) => {
      const previous = this.state.current(entry)
      const keepCreate = previous !== undefined && !previous.entry.deleted && !entry.deleted
      const result: Stored = { entry, createIndex: keepCreate ? previous.createIndex : index, modifyIndex: index }
      if (entry.deleted) result.deletedAtMs = deletedAtMs ?? this.nowMs
      if (definition !== undefined) result.definition = definition
      return result
    })
    return {
      batch: { puts: stored, removals: [], meta: { counter: this.own.counter, index } },
      apply: () => {
        const previousEntries = items.map(({ entry }) => this.state.current(entry)?.entry)
        for (const record of stored) this.state.put(record)
        this.index = index
        const entries = items.map(item => item.entry)
        const change: CatalogChange = {
          index,
          kinds: [...new Set(entries.map(entry => entry.kind))],
          nodes: [...new Set(entries.flatMap(entry => entry.scope === 'node' ? [entry.node] : []))],
          services: serviceNames([...entries, ...previousEntries.filter(entry => entry !== undefined)]),
        }
        return { result: entries, changes: [change], published: entries }
      },
    }
  }

  /** Applies a liveness change in memory; returns the change it made, if any. */
  private setLiveness (node: string, liveness: Exclude<Liveness, 'reaped'>): CatalogChange | undefined {
    const state = this.state.nodeState(node, true)
    if (liveness === 'left') this.leftAtVersion.set(node, state.maxVersion)
    else this.leftAtVersion.delete(node)
    if (state.liveness === liveness) return undefined
    state.liveness = liveness
    this.state.touch(state)
    state.serfModifyIndex = ++this.index
    const entries = [...state.entries()].map(stored => stored.entry)
    return { index: this.index, kinds: ['node', 'check'], nodes: [node], services: serviceNames(entries) }
  }

  /** Recovering: a copy of our own entry newer than ours (or than nothing) is what we lost; take it back. */
  private adoptOwn (entry: NodeScopedEntry, winners: Map<string, Item>, adopting: Set<string>): void {
    const mine = this.state.current(entry)
    if (mine !== undefined && entry.version <= (mine.entry as NodeScopedEntry).version) return
    const id = identity(entry)
    const pending = winners.get(id)
    if (pending !== undefined && (pending.entry as NodeScopedEntry).version >= entry.version) return
    winners.set(id, { entry, definition: mine?.definition })
    adopting.add(id)
  }

  /** A copy of one of our own entries came back: if it differs from ours, outvote it. */
  private correctOwn (entry: NodeScopedEntry, winners: Map<string, Item>): void {
    const mine = this.state.current(entry) as Stored<NodeScopedEntry> | undefined
    if (mine !== undefined && entry.version <= mine.entry.version) return
    const id = identity(entry)
    if (winners.has(id)) return
    const corrected = mine !== undefined ? this.own.reversion(mine.entry) : this.own.tombstone(entry.kind, entry.key)
    winners.set(id, { entry: corrected, definition: mine?.definition, deletedAtMs: mine?.deletedAtMs })
  }
}

function serviceNames (entries: Entry[]): string[] {
  const names = new Set<string>()
  for (const entry of entries) {
    if (entry.kind === 'service' && entry.scope === 'node' && entry.value !== undefined) names.add((entry.value as ServiceRecord).Service)
    if (entry.kind === 'check' && entry.scope === 'node' && entry.value !== undefined && (entry.value as CheckRecord).ServiceName !== '') names.add((entry.value as CheckRecord).ServiceName)
  }
  return [...names]
}
