// The replicated service catalog as the agent uses it: this agent's own registrations (it is their
// single writer), copies of every other node's, and cluster-wide last-writer-wins registers. This
// file is the thin shell around the sans-I/O core (core.ts, which holds every rule): it runs one
// input at a time, hands each plan's batch to the store (LevelDB by default, or any
// `CatalogStore`, e.g. the in-memory one), reads the clock, and tells blocking waits, change
// listeners and local-write subscribers (replication) what happened.
//
// Durability: a write resolves (and the HTTP API answers it) only once its batch is durable, and
// watches and subscribers hear of a change only then. Planning stays one input at a time, but the
// wait for the disk happens outside that section: the next input is planned (and its batch queued)
// while the previous batch is being synced, so the store can write many queued batches with one
// sync (group commit). A plan is applied in memory as soon as its batch is queued; a read may see
// a change a moment before it is durable. If the store then fails, the memory may hold changes the
// disk does not, so the catalog refuses every later write (StoreFailedError) until the agent
// restarts and reloads what the disk holds.
//
// Recovery (`recovering`, after a damaged store was salvaged): copies of this agent's own entries
// that come back from peers and are newer than what it holds are taken back (adopted) instead of
// being outvoted, and its digest leaves its own node out so a peer sends all it holds of it.
// `finishRecovery` ends that and says how many entries came back, by kind.

import type { Logger } from 'pino'
import pino from 'pino'
import type { CatalogPlan, MergeResult } from './core.ts'
import { CatalogCore } from './core.ts'
import type { Entry } from './entry.ts'
import { validateNodeRecord } from './entry.ts'
import { CatalogClosedError, StoreFailedError } from './errors.ts'
import { LevelCatalogStore } from './level-store.ts'
import type { ClusterValue, LocalCheck } from './local-reads.ts'
import type { CatalogLimits } from './merge.ts'
import type { HealthCheckResult, HealthServiceResult, NodeResult, NodeServicesResult, ServiceNodeResult } from '../api/catalog-types.ts'
import { CatalogQueries } from './queries.ts'
import type { Liveness } from './state.ts'
import type { CatalogStore } from './store.ts'
import type { CatalogDigest } from './sync.ts'
import { DEFAULT_SYNC_PAGE_BYTES, makeDigest, missingFor, validateDigest } from './sync.ts'
import type { HealthStatus, NodeRecord, ServiceRecord } from '../api/catalog-types.ts'
import type { CatalogChange } from './watch.ts'
import { WatchHub } from './watch.ts'

export type { CatalogChange } from './watch.ts'
export type { CatalogDigest } from './sync.ts'
export type { Entry } from './entry.ts'
export type { CatalogLimits } from './merge.ts'
export type { LocalCheck } from './local-reads.ts'
export type { CatalogStore } from './store.ts'
export { DEFAULT_LIMITS } from './merge.ts'
export { DEFAULT_TOMBSTONE_TTL_MS } from './core.ts'

export interface CatalogInit {
  /** LevelDB directory; used when no `store` is given. */
  path?: string
  /** The store to keep the catalog in (e.g. a MemoryCatalogStore); the catalog closes it. */
  store?: CatalogStore
  self: NodeRecord
  log?: Logger
  now?: () => number
  /** How long tombstones (and the memory of reaped nodes) are kept; must exceed the longest partition. */
  tombstoneTtlMs?: number
  limits?: Partial<CatalogLimits>
  /** LevelDB only: sync each group of batches to disk before acknowledging it (default true). */
  sync?: boolean
  /** Opened from a salvaged store: take this agent's own entries back from peers (see the header). */
  recovering?: boolean
}

/** A planned input, applied in memory, with its batches on their way to the disk. */
interface Staged<R> {
  result: R
  changes: CatalogChange[]
  published: Entry[]
  durable: Array<Promise<void>>
}

export class Catalog {
  private readonly core: CatalogCore
  private readonly store: CatalogStore
  private readonly queries: CatalogQueries
  private readonly watch = new WatchHub()
  private readonly localWriteListeners = new Set<(entries: Entry[]) => void>()
  private readonly log: Logger
  private readonly now: () => number
  private queue: Promise<unknown> = Promise.resolve()
  private closed = false
  private closing: Promise<void> | undefined
  private failed: StoreFailedError | undefined
  /** Staged inputs waiting for the disk. */
  private readonly settling = new Set<Promise<unknown>>()

  private constructor (init: CatalogInit, store: CatalogStore) {
    this.core = new CatalogCore({ self: init.self, tombstoneTtlMs: init.tombstoneTtlMs, limits: init.limits, recovering: init.recovering })
    this.queries = new CatalogQueries(this.core.state)
    this.store = store
    this.log = (init.log ?? pino({ level: 'silent' })).child({ component: 'mesh:catalog' })
    this.now = init.now ?? Date.now
  }

  static async open (init: CatalogInit): Promise<Catalog> {
    validateNodeRecord(init.self, init.self.Node)
    let store = init.store
    if (store === undefined) {
      if (init.path === undefined) throw new TypeError('Catalog.open needs a path or a store')
      store = await LevelCatalogStore.open(init.path, { sync: init.sync, log: (init.log ?? pino({ level: 'silent' })).child({ component: 'mesh:catalog-store' }) })
    }
    const catalog = new Catalog(init, store)
    try {
      await catalog.load(init.self)
    } catch (error) {
      await store.close()
      throw error
    }
    return catalog
  }

  /** Loads the store into the core, collects expired tombstones and republishes our record if it changed. */
  private async load (self: NodeRecord): Promise<void> {
    const meta = await this.store.load(stored => { this.core.restore(stored) })
    this.core.restored(meta)
    this.watch.index = this.core.index
    await this.collect()
    await this.settle(this.stage(this.core.publishSelf(self, this.now())))
    this.log.debug({ nodes: this.core.state.nodes.size, index: this.core.index }, 'catalog loaded')
  }

  /** This agent's node record as currently published (updateSelf changes it). */
  get self (): NodeRecord { return this.core.reads.self }

  get index (): number { return this.watch.index }

  async close (): Promise<void> {
    this.closing ??= (async () => {
      await this.exclusive(async () => { this.closed = true })
      // Writes staged before the close still become durable and are announced first.
      await Promise.allSettled([...this.settling])
      this.watch.close()
      this.localWriteListeners.clear()
      await this.store.close()
    })()
    await this.closing
  }

  // ---- local writes (this agent's own node) ----

  async registerService (service: ServiceRecord, checks: LocalCheck[], options: { replaceExistingChecks?: boolean } = {}): Promise<Entry[]> {
    return await this.mutate(() => this.core.registerService(service, checks, options, this.now()))
  }

  /**
   * Several services (distinct IDs: a service and its sidecar) with their checks, in one batch: all
   * or nothing. Resolves once durable; `onApplied` is called when the write is applied in memory
   * (reads show it, the next write plans after it), which is before it is durable.
   */
  async registerServices (registrations: Array<{ service: ServiceRecord, checks: LocalCheck[] }>, options: { replaceExistingChecks?: boolean, onApplied?: () => void } = {}): Promise<Entry[]> {
    return await this.mutate(() => this.core.registerServices(registrations, options, this.now()), options.onApplied)
  }

  async deregisterService (serviceId: string): Promise<Entry[]> {
    return await this.mutate(() => this.core.deregisterService(serviceId, this.now()))
  }

  async registerCheck (check: LocalCheck): Promise<Entry[]> {
    return await this.mutate(() => this.core.registerCheck(check, this.now()))
  }

  async deregisterCheck (checkId: string): Promise<Entry[]> {
    return await this.mutate(() => this.core.deregisterCheck(checkId, this.now()))
  }

  /** Records a check result; returns [] (and writes nothing) when nothing changed. */
  async updateCheck (checkId: string, status: HealthStatus, output: string, notes?: string): Promise<Entry[]> {
    return await this.mutate(() => this.core.updateCheck(checkId, status, output, notes, this.now()))
  }

  async updateSelf (patch: { Address?: string, Meta?: Record<string, string>, TaggedAddresses?: Record<string, string> }): Promise<Entry[]> {
    return await this.mutate(() => this.core.updateSelf(patch, this.now()))
  }

  /** Re-versions every own entry (tombstones too) above anything seen, so stale copies lose everywhere. */
  async republishLocal (): Promise<Entry[]> {
    return await this.mutate(() => this.core.republishLocal(this.now()))
  }

  localServices (): ServiceRecord[] { return this.core.reads.localServices() }
  localService (id: string): ServiceRecord | undefined { return this.core.reads.localService(id) }
  localChecks (): LocalCheck[] { return this.core.reads.localChecks() }
  localCheck (id: string): LocalCheck | undefined { return this.core.reads.localCheck(id) }

  /**
   * Subscribes to the entries this agent writes, once each batch is persisted: its own entries
   * (local writes, republishLocal, and the corrections a merge issues) and its cluster-wide
   * writes; never entries merged from peers. Replication fans them out. Returns the unsubscribe.
   */
  onLocalWrite (listener: (entries: Entry[]) => void): () => void {
    this.localWriteListeners.add(listener)
    return () => { this.localWriteListeners.delete(listener) }
  }

  // ---- replication ----

  /**
   * Validates untrusted entries and applies the ones that win, in one batch. Invalid entries are
   * skipped and counted (`rejected`); stale ones are ignored. Copies of this agent's own entries
   * that do not match what it holds are answered with re-versioned corrections, which are part of
   * `applied` so they spread.
   */
  async merge (entries: unknown[]): Promise<{ applied: Entry[], rejected: number }> {
    const { applied, rejected, rejections } = await this.mutate<MergeResult>(() => this.core.merge(entries, this.now()))
    for (const error of rejections) this.log.debug({ code: error.code, err: error.message }, 'rejected catalog entry')
    return { applied, rejected }
  }

  digest (): CatalogDigest {
    const digest = makeDigest(this.core.state)
    // While recovering, a peer must not take our salvaged maximum for all we had: our node's
    // version in the digest is the highest one taken back so far, so the peer sends what it holds
    // of ours above it, in ascending pages, until nothing more comes back.
    if (this.core.recovering) {
      const self = this.core.selfName
      if (this.core.adoptedVersion === 0) delete digest.nodes[self]
      else digest.nodes[self] = { version: this.core.adoptedVersion, hash: digest.nodes[self]?.hash ?? '0000000000000000' }
    }
    return digest
  }

  /** Whether the catalog was opened from a salvaged store and has not finished recovering. */
  get recovering (): boolean { return this.core.recovering }

  /** Own entries taken back from peers so far while recovering, by kind. */
  get adopted (): { node: number, service: number, check: number } { return { ...this.core.adopted } }

  /** Ends recovery: from now on copies of our own entries that differ from ours are outvoted again. */
  finishRecovery (): void {
    this.core.recovering = false
  }

  /** Entries `digest`'s owner lacks, at most `maxBytes` serialized; throws InvalidDigestError. */
  missingFor (digest: CatalogDigest, maxBytes = DEFAULT_SYNC_PAGE_BYTES): Entry[] {
    return missingFor(this.core.state, validateDigest(digest), maxBytes, this.core.cursor)
  }

  /** Membership's view of a node: drives serfHealth, hides nodes that left, forgets reaped ones. */
  async setNodeLiveness (node: string, liveness: Liveness): Promise<void> {
    await this.mutate(() => this.core.setNodeLiveness(node, liveness, this.now()))
  }

  /**
   * Drops tombstones and reaped-node memories older than the TTL; returns how many tombstones went.
   * Also runs by itself after a change once `tombstoneTtlMs / 4` (at most an hour) has passed.
   */
  async collectGarbage (): Promise<number> {
    return await this.settle(await this.exclusive(() => this.stage(this.core.collectGarbage(this.now()))))
  }

  // ---- cluster-wide registers ----

  async putClusterEntry (kind: string, key: string, value: unknown): Promise<Entry[]> {
    return await this.mutate(() => this.core.putClusterEntry(kind, key, value, this.now()))
  }

  async deleteClusterEntry (kind: string, key: string): Promise<Entry[]> {
    return await this.mutate(() => this.core.deleteClusterEntry(kind, key, this.now()))
  }

  clusterEntry (kind: string, key: string): ClusterValue | undefined { return this.core.reads.clusterEntry(kind, key) }
  clusterEntries (kind: string): Array<{ key: string } & ClusterValue> { return this.core.reads.clusterEntries(kind) }

  // ---- watches ----

  async waitForIndex (minIndex: number, options: { timeoutMs: number, signal?: AbortSignal }): Promise<number> {
    return await this.watch.waitForIndex(minIndex, options)
  }

  onChange (listener: (change: CatalogChange) => void): () => void {
    return this.watch.onChange(listener, this.log)
  }

  /** Counts of entries rejected by merge, by error code (for metrics). */
  rejectedCounts (): Record<string, number> {
    return this.core.rejectedCounts()
  }

  // ---- queries ----

  datacenters (): string[] { return this.core.reads.datacenters() }
  nodes (): NodeResult[] { return this.queries.nodes() }
  node (name: string): NodeServicesResult | undefined { return this.queries.node(name) }
  services (): Record<string, string[]> { return this.queries.services() }
  serviceNodes (service: string, options?: { tag?: string[], connect?: boolean }): ServiceNodeResult[] { return this.queries.serviceNodes(service, options) }
  healthService (service: string, options?: { passing?: boolean, tag?: string[], connect?: boolean }): HealthServiceResult[] { return this.queries.healthService(service, options) }
  checksForService (service: string): HealthCheckResult[] { return this.queries.checksForService(service) }
  checksForNode (node: string): HealthCheckResult[] { return this.queries.checksForNode(node) }
  checksInState (state: HealthStatus | 'any'): HealthCheckResult[] { return this.queries.checksInState(state) }

  // ---- internals ----

  /** Runs inputs one at a time, so each plans against the state the previous one left. */
  private async exclusive<T> (operation: () => T | Promise<T>): Promise<T> {
    const run = this.queue.then(async () => {
      if (this.closed) throw new CatalogClosedError()
      return await operation()
    })
    this.queue = run.catch(() => {})
    return await run
  }

  /** Plans and stages one input in turn, then waits (outside the turn) until it is durable. */
  private async mutate<R> (plan: () => CatalogPlan<R>, onApplied?: () => void): Promise<R> {
    const staged = await this.exclusive(() => this.stage(plan()))
    onApplied?.()
    const settled = this.settle(staged)
    this.settling.add(settled)
    try {
      return await settled
    } finally {
      this.settling.delete(settled)
    }
  }

  /**
   * Queues a plan's batch in the store and applies the plan in memory; a change that stored
   * entries is followed by a due collection. A batch the store cannot encode throws before
   * anything is applied.
   */
  private stage<R> (plan: CatalogPlan<R>): Staged<R> {
    if (this.failed !== undefined) throw this.failed
    const durable: Array<Promise<void>> = []
    if (plan.batch !== undefined) {
      const written = this.store.write(plan.batch)
      written.catch((error: Error) => this.fail(error))
      durable.push(written)
    }
    const { result, changes, published } = plan.apply()
    const staged: Staged<R> = { result, changes: [...changes], published, durable }
    if (plan.batch !== undefined && plan.batch.puts.length > 0 && this.core.collectionDue(this.now())) {
      const collected = this.stage(this.core.collectGarbage(this.now()))
      if (collected.result > 0) this.log.debug({ tombstones: collected.result }, 'collected expired tombstones')
      staged.changes.push(...collected.changes)
      staged.durable.push(...collected.durable)
    }
    return staged
  }

  /** Waits until a staged input is durable, then announces it and returns its result. */
  private async settle<R> (staged: Staged<R>): Promise<R> {
    try {
      for (const written of staged.durable) await written
    } catch (error) {
      throw this.fail(error as Error)
    }
    for (const change of staged.changes) this.watch.notify(change)
    if (staged.published.length > 0) {
      for (const listener of this.localWriteListeners) {
        try {
          listener(staged.published)
        } catch (error) {
          this.log.warn({ err: (error as Error).message }, 'catalog local-write listener threw')
        }
      }
    }
    return staged.result
  }

  /** The store failed a write: from now on the catalog refuses writes (see the header). */
  private fail (error: Error): StoreFailedError {
    if (this.failed === undefined) {
      this.failed = error instanceof StoreFailedError ? error : new StoreFailedError(error.message)
      this.log.error({ err: error.message }, 'catalog store failed; refusing further writes until restart')
    }
    return this.failed
  }

  private async collect (): Promise<number> {
    const collected = await this.settle(this.stage(this.core.collectGarbage(this.now())))
    if (collected > 0) this.log.debug({ tombstones: collected }, 'collected expired tombstones')
    return collected
  }
}
