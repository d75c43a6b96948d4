// The replicated service catalog: this agent's own registrations (it is their single writer),
// copies of every other node's, and cluster-wide last-writer-wins registers, persisted in LevelDB
// and indexed in memory. This file orchestrates: it versions local writes, decides which incoming
// entries win, persists each change as one batch before applying it in memory, tracks membership
// (liveness), and drives the modify index, blocking waits and change listeners. Validation lives
// in entry.ts, indexes in state.ts, Consul-shaped reads in queries.ts, anti-entropy in sync.ts.

import type { Logger } from 'pino'
import pino from 'pino'
import type { CheckEntry, Entry, NodeScopedEntry } from './entry.ts'
import { LIMITS, validateCheckRecord, validateClusterKind, validateEntry, validateNodeRecord, validateServiceRecord } from './entry.ts'
import { CapacityError, CatalogClosedError, CheckNotFoundError, ServiceNotFoundError } from './errors.ts'
import { HybridLogicalClock } from './hlc.ts'
import type { HealthCheckResult, HealthServiceResult, NodeResult, NodeServicesResult, ServiceNodeResult } from '../api/catalog-types.ts'
import { CatalogQueries } from './queries.ts'
import type { Liveness, Stored } from './state.ts'
import { CatalogState } from './state.ts'
import { CatalogStore } from './store.ts'
import type { CatalogDigest } from './sync.ts'
import { DEFAULT_SYNC_PAGE_BYTES, SyncCursor, makeDigest, missingFor, validateDigest } from './sync.ts'
import type { CheckRecord, HealthStatus, NodeRecord, ServiceRecord } from '../api/catalog-types.ts'
import { OwnEntries } from './own-entries.ts'
import { WatchHub } from './watch.ts'
import type { CatalogLimits, Item } from './merge.ts'
import { DEFAULT_LIMITS, identity, planMerge } from './merge.ts'
import type { CatalogChange } from './watch.ts'

export type { CatalogChange } from './watch.ts'
export type { CatalogDigest } from './sync.ts'
export type { Entry } from './entry.ts'
export type { CatalogLimits } from './merge.ts'
export { DEFAULT_LIMITS } from './merge.ts'

/** A check as this agent keeps it: the replicated record plus the definition to re-run it. */
export interface LocalCheck extends CheckRecord { Definition?: Record<string, unknown> }

export interface CatalogInit {
  path: string
  self: NodeRecord
  log?: Logger
  now?: () => number
  /** How long tombstones (and the memory of reaped nodes) are kept; must exceed the longest partition. */
  tombstoneTtlMs?: number
  limits?: Partial<CatalogLimits>
}

export const DEFAULT_TOMBSTONE_TTL_MS = 72 * 3_600_000


export class Catalog {
  private readonly selfName: string
  private readonly initialSelf: NodeRecord
  private readonly store: CatalogStore
  private readonly state = new CatalogState()
  private readonly queries = new CatalogQueries(this.state)
  private readonly watch = new WatchHub()
  private readonly log: Logger
  private readonly now: () => number
  private readonly tombstoneTtlMs: number
  private readonly limits: CatalogLimits
  private readonly clock: HybridLogicalClock
  private readonly own: OwnEntries
  private readonly cursor = new SyncCursor()
  /** Reaped nodes: copies at or below this version are stale and must not bring them back. */
  private readonly reaped = new Map<string, { version: number, atMs: number }>()
  private readonly leftAtVersion = new Map<string, number>()
  private readonly rejectedByCode = new Map<string, number>()
  private queue: Promise<unknown> = Promise.resolve()
  private closed = false
  private closing: Promise<void> | undefined
  private lastCollectMs = 0
  private readonly collectEveryMs: number

  private constructor (init: CatalogInit, store: CatalogStore) {
    this.selfName = init.self.Node
    this.initialSelf = init.self
    this.store = store
    this.log = (init.log ?? pino({ level: 'silent' })).child({ component: 'mesh:catalog' })
    this.now = init.now ?? Date.now
    this.tombstoneTtlMs = init.tombstoneTtlMs ?? DEFAULT_TOMBSTONE_TTL_MS
    this.limits = { ...DEFAULT_LIMITS, ...init.limits }
    this.collectEveryMs = Math.min(3_600_000, this.tombstoneTtlMs / 4)
    this.own = new OwnEntries(init.self.Node, this.now)
    this.clock = new HybridLogicalClock(init.self.ID === '' ? init.self.Node : init.self.ID, this.now)
  }

  static async open (init: CatalogInit): Promise<Catalog> {
    validateNodeRecord(init.self, init.self.Node)
    const store = await CatalogStore.open(init.path)
    const catalog = new Catalog(init, store)
    try {
      await catalog.load()
    } catch (error) {
      await store.close()
      throw error
    }
    return catalog
  }

  private async load (): Promise<void> {
    let ownVersion = 0
    let index = 0
    const meta = await this.store.load(stored => {
      this.state.put(stored)
      index = Math.max(index, stored.modifyIndex)
      if (stored.entry.scope === 'cluster') this.clock.observe(stored.entry.hlc)
      else if (stored.entry.node === this.selfName) ownVersion = Math.max(ownVersion, stored.entry.version)
    })
    this.own.observe(Math.max(meta.counter, ownVersion))
    this.watch.index = Math.max(1, meta.index, index)
    await this.collectExpired()
    const current = this.state.nodeState(this.selfName)?.record?.entry.value
    const wanted = validateNodeRecord(this.initialSelf, this.selfName)
    if (current === undefined || JSON.stringify(current) !== JSON.stringify(wanted)) {
      await this.commit([{ entry: this.own.nodeEntry(wanted) }])
    }
    this.log.debug({ nodes: this.state.nodes.size, index: this.watch.index }, 'catalog loaded')
  }

  /** This agent's node record as currently published (updateSelf changes it). */
  get self (): NodeRecord {
    return this.state.nodeState(this.selfName)?.record?.entry.value ?? this.initialSelf
  }

  get index (): number { return this.watch.index }

  async close (): Promise<void> {
    this.closing ??= (async () => {
      await this.exclusive(async () => { this.closed = true })
      this.watch.close()
      await this.store.close()
    })()
    await this.closing
  }

  // ---- local writes (this agent's own node) ----

  async registerService (service: ServiceRecord, checks: LocalCheck[], options: { replaceExistingChecks?: boolean } = {}): Promise<Entry[]> {
    return await this.exclusive(async () => {
      const record = validateServiceRecord(service)
      const items: Item[] = [{ entry: this.own.serviceEntry(record.ID, record) }]
      const given = new Set<string>()
      for (const check of checks) {
        const value = validateCheckRecord({ ...check, ServiceID: record.ID, ServiceName: record.Service, ServiceTags: record.Tags })
        given.add(value.CheckID)
        items.push({ entry: this.own.checkEntry(value.CheckID, value), definition: check.Definition })
      }
      const own = this.state.nodeState(this.selfName, true)
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
      const added = items.filter(item => this.state.current(item.entry) === undefined).length
      if (own.entryCount + added > this.limits.entriesPerNode) throw new CapacityError(`node "${this.selfName}"`, this.limits.entriesPerNode)
      return await this.commit(items)
    })
  }

  async deregisterService (serviceId: string): Promise<Entry[]> {
    return await this.exclusive(async () => {
      if (this.localService(serviceId) === undefined) throw new ServiceNotFoundError(serviceId)
      const own = this.state.nodeState(this.selfName, true)
      const items: Item[] = [{ entry: this.own.serviceEntry(serviceId, undefined) }]
      for (const checkId of own.checksByService.get(serviceId) ?? []) items.push({ entry: this.own.checkEntry(checkId, undefined) })
      return await this.commit(items)
    })
  }

  async registerCheck (check: LocalCheck): Promise<Entry[]> {
    return await this.exclusive(async () => {
      let value = validateCheckRecord(check)
      if (value.ServiceID !== '') {
        const service = this.localService(value.ServiceID)
        if (service === undefined) throw new ServiceNotFoundError(value.ServiceID)
        value = { ...value, ServiceName: service.Service, ServiceTags: service.Tags }
      }
      const own = this.state.nodeState(this.selfName, true)
      if (!own.checks.has(value.CheckID) && own.entryCount + 1 > this.limits.entriesPerNode) throw new CapacityError(`node "${this.selfName}"`, this.limits.entriesPerNode)
      return await this.commit([{ entry: this.own.checkEntry(value.CheckID, value), definition: check.Definition }])
    })
  }

  async deregisterCheck (checkId: string): Promise<Entry[]> {
    return await this.exclusive(async () => {
      if (this.localCheck(checkId) === undefined) throw new CheckNotFoundError(checkId)
      return await this.commit([{ entry: this.own.checkEntry(checkId, undefined) }])
    })
  }

  /** Records a check result; returns [] (and writes nothing) when nothing changed. */
  async updateCheck (checkId: string, status: HealthStatus, output: string, notes?: string): Promise<Entry[]> {
    return await this.exclusive(async () => {
      const stored = this.state.nodeState(this.selfName)?.checks.get(checkId)
      if (stored === undefined || stored.entry.deleted) throw new CheckNotFoundError(checkId)
      const current = stored.entry.value!
      // Oversized output is cut (as Consul does) rather than refused: the status must still land.
      const value = validateCheckRecord({ ...current, Status: status, Output: output.slice(0, LIMITS.outputChars), Notes: notes ?? current.Notes })
      if (value.Status === current.Status && value.Output === current.Output && value.Notes === current.Notes) return []
      return await this.commit([{ entry: this.own.checkEntry(checkId, value), definition: stored.definition }])
    })
  }

  async updateSelf (patch: { Address?: string, Meta?: Record<string, string>, TaggedAddresses?: Record<string, string> }): Promise<Entry[]> {
    return await this.exclusive(async () => {
      const current = this.state.nodeState(this.selfName)!.record!.entry.value!
      const record = validateNodeRecord({ ...current, ...patch }, this.selfName)
      if (JSON.stringify(record) === JSON.stringify(current)) return []
      return await this.commit([{ entry: this.own.nodeEntry(record) }])
    })
  }

  /** Re-versions every own entry (tombstones too) above anything seen, so stale copies lose everywhere. */
  async republishLocal (): Promise<Entry[]> {
    return await this.exclusive(async () => {
      const own = this.state.nodeState(this.selfName)
      if (own === undefined) return []
      const items: Item[] = []
      for (const stored of own.entries()) {
        items.push({ entry: this.own.reversion(stored.entry), definition: stored.definition, deletedAtMs: stored.deletedAtMs })
      }
      return await this.commit(items)
    })
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

  // ---- replication ----

  /**
   * Validates untrusted entries and applies the ones that win, in one batch. Invalid entries are
   * skipped and counted (`rejected`); stale ones are ignored. Copies of this agent's own entries
   * that do not match what it holds are answered with re-versioned corrections, which are part of
   * `applied` so they spread.
   */
  async merge (entries: unknown[]): Promise<{ applied: Entry[], rejected: number }> {
    return await this.exclusive(async () => {
      const plan = planMerge(entries, { state: this.state, selfNode: this.selfName, reaped: this.reaped, limits: this.limits, observe: hlc => { this.clock.observe(hlc) } })
      for (const error of plan.rejections) {
        this.rejectedByCode.set(error.code, (this.rejectedByCode.get(error.code) ?? 0) + 1)
        this.log.debug({ code: error.code, err: error.message }, 'rejected catalog entry')
      }
      const { winners, ownCopies } = plan
      for (const copy of ownCopies) this.own.observe(copy.version)
      for (const copy of ownCopies) this.correctOwn(copy, winners)
      const applied = await this.commit([...winners.values()])
      for (const entry of applied) {
        if (entry.scope !== 'node' || entry.deleted) continue
        const leftAt = this.leftAtVersion.get(entry.node)
        if (leftAt !== undefined && entry.version > leftAt) this.setLiveness(entry.node, 'alive')
      }
      return { applied, rejected: plan.rejections.length }
    })
  }

  digest (): CatalogDigest {
    return makeDigest(this.state)
  }

  /** Entries `digest`'s owner lacks, at most `maxBytes` serialized; throws InvalidDigestError. */
  missingFor (digest: CatalogDigest, maxBytes = DEFAULT_SYNC_PAGE_BYTES): Entry[] {
    return missingFor(this.state, validateDigest(digest), maxBytes, this.cursor)
  }

  /** Membership's view of a node: drives serfHealth, hides nodes that left, forgets reaped ones. */
  async setNodeLiveness (node: string, liveness: Liveness): Promise<void> {
    await this.exclusive(async () => {
      if (node === this.selfName) return
      if (liveness !== 'reaped') {
        if (liveness === 'alive') this.reaped.delete(node)
        this.setLiveness(node, liveness)
        return
      }
      const state = this.state.nodeState(node)
      if (state === undefined) return
      const entries = [...state.entries()].map(stored => stored.entry)
      await this.store.write([], entries, { counter: this.own.counter, index: this.watch.index + 1 })
      this.state.dropNode(node)
      this.leftAtVersion.delete(node)
      this.cursor.resumeAfter.delete(node)
      this.reaped.set(node, { version: state.maxVersion, atMs: this.now() })
      this.watch.bump({ kinds: ['node', 'service', 'check'], nodes: [node], services: serviceNames(entries) })
    })
  }

  /**
   * Drops tombstones and reaped-node memories older than the TTL; returns how many tombstones went.
   * Also runs by itself after a change once `tombstoneTtlMs / 4` (at most an hour) has passed.
   */
  async collectGarbage (): Promise<number> {
    return await this.exclusive(async () => await this.collectExpired())
  }

  private async collectExpired (): Promise<number> {
    const nowMs = this.now()
    this.lastCollectMs = nowMs
    const cutoffMs = nowMs - this.tombstoneTtlMs
    const expired: Stored[] = []
    const consider = (stored: Stored): void => {
      if (stored.entry.deleted && stored.deletedAtMs !== undefined && stored.deletedAtMs <= cutoffMs) expired.push(stored)
    }
    for (const node of this.state.nodes.values()) for (const stored of node.entries()) consider(stored)
    for (const byKey of this.state.cluster.values()) for (const stored of byKey.values()) consider(stored)
    for (const [node, memory] of this.reaped) if (memory.atMs <= cutoffMs) this.reaped.delete(node)
    if (expired.length === 0) return 0
    await this.store.write([], expired.map(stored => stored.entry), { counter: this.own.counter, index: this.watch.index })
    for (const stored of expired) this.state.remove(stored)
    this.log.debug({ tombstones: expired.length }, 'collected expired tombstones')
    return expired.length
  }

  // ---- cluster-wide registers ----

  async putClusterEntry (kind: string, key: string, value: unknown): Promise<Entry[]> {
    return await this.exclusive(async () => {
      const entry = validateEntry({ scope: 'cluster', kind: validateClusterKind(kind), key, hlc: this.clock.tick(), deleted: false, value })
      if (this.state.current(entry) === undefined && this.state.clusterCount + 1 > this.limits.clusterEntries) throw new CapacityError('the cluster', this.limits.clusterEntries)
      return await this.commit([{ entry }])
    })
  }

  async deleteClusterEntry (kind: string, key: string): Promise<Entry[]> {
    return await this.exclusive(async () => {
      const existing = this.state.cluster.get(kind)?.get(key)
      if (existing === undefined || existing.entry.deleted) return []
      return await this.commit([{ entry: { scope: 'cluster', kind, key, hlc: this.clock.tick(), deleted: true } }])
    })
  }

  clusterEntry (kind: string, key: string): { value: unknown, createIndex: number, modifyIndex: number } | undefined {
    const stored = this.state.cluster.get(kind)?.get(key)
    if (stored === undefined || stored.entry.deleted) return undefined
    return { value: stored.entry.value, createIndex: stored.createIndex, modifyIndex: stored.modifyIndex }
  }

  clusterEntries (kind: string): Array<{ key: string, value: unknown, createIndex: number, modifyIndex: number }> {
    const result: Array<{ key: string, value: unknown, createIndex: number, modifyIndex: number }> = []
    for (const [key, stored] of this.state.cluster.get(kind) ?? []) {
      if (!stored.entry.deleted) result.push({ key, value: stored.entry.value, createIndex: stored.createIndex, modifyIndex: stored.modifyIndex })
    }
    return result.sort((a, b) => a.key < b.key ? -1 : a.key > b.key ? 1 : 0)
  }

  // ---- watches ----

  async waitForIndex (minIndex: number, options: { timeoutMs: number, signal?: AbortSignal }): Promise<number> {
    return await this.watch.waitForIndex(minIndex, options)
  }

  onChange (listener: (change: CatalogChange) => void): () => void {
    return this.watch.onChange(listener, this.log)
  }

  /** Counts of entries rejected by merge, by error code (for metrics). */
  rejectedCounts (): Record<string, number> {
    return Object.fromEntries(this.rejectedByCode)
  }

  // ---- queries ----

  datacenters (): string[] {
    const others = new Set<string>()
    for (const node of this.state.nodes.values()) {
      const dc = node.record?.entry.value?.Datacenter
      if (node.visible && dc !== undefined && dc !== this.self.Datacenter) others.add(dc)
    }
    return [this.self.Datacenter, ...[...others].sort()]
  }

  nodes (): NodeResult[] { return this.queries.nodes() }
  node (name: string): NodeServicesResult | undefined { return this.queries.node(name) }
  services (): Record<string, string[]> { return this.queries.services() }
  serviceNodes (service: string, options?: { tag?: string[], connect?: boolean }): ServiceNodeResult[] { return this.queries.serviceNodes(service, options) }
  healthService (service: string, options?: { passing?: boolean, tag?: string[], connect?: boolean }): HealthServiceResult[] { return this.queries.healthService(service, options) }
  checksForService (service: string): HealthCheckResult[] { return this.queries.checksForService(service) }
  checksForNode (node: string): HealthCheckResult[] { return this.queries.checksForNode(node) }
  checksInState (state: HealthStatus | 'any'): HealthCheckResult[] { return this.queries.checksInState(state) }

  // ---- internals ----

  /** Runs mutations one at a time, so each sees the state the previous one left. */
  private async exclusive<T> (operation: () => Promise<T>): Promise<T> {
    const run = this.queue.then(async () => {
      if (this.closed) throw new CatalogClosedError()
      return await operation()
    })
    this.queue = run.catch(() => {})
    return await run
  }

  /** Persists items as one batch, then applies them in memory and wakes watchers. */
  private async commit (items: Item[]): Promise<Entry[]> {
    if (items.length === 0) return []
    const index = this.watch.index + 1
    const nowMs = this.now()
    const stored: Stored[] = items.map(({ entry, definition, deletedAtMs }) => {
      const previous = this.state.current(entry)
      const keepCreate = previous !== undefined && !previous.entry.deleted && !entry.deleted
      const result: Stored = { entry, createIndex: keepCreate ? previous.createIndex : index, modifyIndex: index }
      if (entry.deleted) result.deletedAtMs = deletedAtMs ?? nowMs
      if (definition !== undefined) result.definition = definition
      return result
    })
    await this.store.write(stored, [], { counter: this.own.counter, index })
    const previousServices = items.map(({ entry }) => this.state.current(entry)?.entry)
    for (const record of stored) this.state.put(record)
    const entries = items.map(item => item.entry)
    this.watch.bump({
      kinds: [...new Set(entries.map(entry => entry.kind))],
      nodes: [...new Set(entries.flatMap(entry => entry.scope === 'node' ? [entry.node] : []))],
      services: serviceNames([...entries, ...previousServices.filter(entry => entry !== undefined)]),
    })
    if (this.now() - this.lastCollectMs >= this.collectEveryMs) await this.collectExpired()
    return entries
  }

  private setLiveness (node: string, liveness: Exclude<Liveness, 'reaped'>): void {
    const state = this.state.nodeState(node, true)
    if (liveness === 'left') this.leftAtVersion.set(node, state.maxVersion)
    else this.leftAtVersion.delete(node)
    if (state.liveness === liveness) return
    state.liveness = liveness
    this.state.touch(state)
    state.serfModifyIndex = this.watch.index + 1
    const entries = [...state.entries()].map(stored => stored.entry)
    this.watch.bump({ kinds: ['node', 'check'], nodes: [node], services: serviceNames(entries) })
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

function toLocalCheck (stored: Stored<CheckEntry>): LocalCheck {
  return stored.definition === undefined ? { ...stored.entry.value! } : { ...stored.entry.value!, Definition: stored.definition }
}
