// Runs a Catalog beside each simulated membership agent, as the real agent does: every sim node is
// a Membership core (membership-harness.ts) plus a Catalog on the in-memory store, replicating over
// the simulated network by the real agent's rules (agent/sync/replication.ts): each local write's
// entries fan out as lossy delta datagrams to the live members, and every sync interval (scaled and
// jittered by catalog/sync-schedule.ts) a push-pull with one random live peer sends our digest,
// merges what the peer sends back and pushes what it lacks. A newcomer gets a push-pull from a few
// members at once. Membership events drive the catalog's liveness (catalog/liveness.ts).
//
// The catalog's methods are async, the engine is not: network events and timers only queue tasks
// on their node, and the harness runs the engine in small steps, running each node's queued tasks
// in order between steps. With the in-memory store those settle in microtasks, so a run stays a
// pure function of its seed. A crash drops the node's queue and abandons its catalog unclosed
// (kill -9); a restart opens a new catalog over the same store contents, as an agent reopens its
// data directory, and republishes.

import { Catalog } from '../../catalog/catalog.ts'
import type { CatalogDigest, Entry } from '../../catalog/catalog.ts'
import { livenessOnMembershipEvent } from '../../catalog/liveness.ts'
import { MemoryCatalogStore } from '../../catalog/memory-store.ts'
import type { MemoryStoreContents } from '../../catalog/memory-store.ts'
import { pickSyncPeer, syncDelayMs } from '../../catalog/sync-schedule.ts'
import type { NodeRecord } from '../../api/catalog-types.ts'
import type { MembershipConfig } from '../../agent/membership/config.ts'
import type { MemberInfo, MembershipEventType } from '../../agent/membership/types.ts'
import { mulberry32 } from './engine.ts'
import { MembershipCluster } from './membership-harness.ts'

type SyncMessage =
  | { type: 'delta', entries: Entry[] }
  | { type: 'pull', digest: CatalogDigest }
  | { type: 'answer', entries: Entry[], digest: CatalogDigest }
  | { type: 'push', entries: Entry[] }

export interface CatalogSimNode {
  name: string
  /** The node's "disk": survives crashes and restarts. */
  contents: MemoryStoreContents
  /** Undefined while the node is down (or before its catalog opened). */
  catalog: Catalog | undefined
  tasks: Array<() => Promise<void>>
  random: () => number
}

export interface CatalogClusterInit {
  seed: number
  lossProbability?: number
  /** Base push-pull interval (the real agent: 10 s, 2 s in dev). */
  syncIntervalMs?: number
  /** Size bound of one push-pull page. */
  pageBytes?: number
  membership?: Partial<MembershipConfig>
}

/** How often node tasks run between engine events: the granularity of catalog reactions. */
const STEP_MS = 10
/** Members that push-pull with a newcomer at once (agent.ts: 3 of N). */
const NEWCOMER_SYNCS = 3

export const simNodeRecord = (name: string): NodeRecord =>
  ({ Node: name, ID: `id-${name}`, Address: name, Datacenter: 'dc1', TaggedAddresses: {}, Meta: {} })

/** A digest as text, independent of the order nodes were first seen in. */
export const canonicalDigest = (digest: CatalogDigest): string =>
  JSON.stringify([Object.entries(digest.nodes).sort(([a], [b]) => a < b ? -1 : 1), digest.cluster])

export class CatalogCluster {
  readonly members: MembershipCluster
  readonly nodes = new Map<string, CatalogSimNode>()
  readonly stats = { deltas: 0, pushPulls: 0, merged: 0 }
  private readonly syncIntervalMs: number
  private readonly pageBytes: number
  private nodeSeed: number

  constructor (init: CatalogClusterInit) {
    this.members = new MembershipCluster({
      seed: init.seed,
      network: { lossProbability: init.lossProbability ?? 0 },
      config: init.membership,
      onEvent: (observer, type, member) => { this.onMembershipEvent(observer, type, member) },
      onAppMessage: (to, from, body) => { this.receive(to, from, body as SyncMessage) },
    })
    this.syncIntervalMs = init.syncIntervalMs ?? 1000
    this.pageBytes = init.pageBytes ?? 64 * 1024
    this.nodeSeed = init.seed * 104_729
  }

  get engine (): MembershipCluster['engine'] { return this.members.engine }

  /** Starts node `name` now joining `seeds`: fresh, or restarted from the store it had. */
  start (name: string, seeds: string[] = []): void {
    const previous = this.nodes.get(name)
    const node: CatalogSimNode = {
      name,
      contents: previous?.contents ?? { records: new Map(), meta: undefined },
      catalog: undefined,
      tasks: [],
      random: mulberry32(this.nodeSeed++),
    }
    this.nodes.set(name, node)
    this.enqueue(node, async () => {
      const catalog = await Catalog.open({ store: new MemoryCatalogStore(node.contents), self: simNodeRecord(name), now: () => this.engine.nowMs })
      catalog.onLocalWrite(entries => { this.fanOut(node, entries) })
      node.catalog = catalog
      // As the agent does at every start: outvote whatever stale copies of ours others hold.
      await catalog.republishLocal()
    })
    this.members.startAgent(name, seeds)
    this.scheduleSync(node)
  }

  /** kill -9: membership and catalog stop at once; the store contents stay. */
  crash (name: string): void {
    const node = this.node(name)
    this.members.crash(name)
    node.tasks = []
    node.catalog = undefined
  }

  /** Runs `write` on node `name`'s catalog in its task order (skipped while it is down). */
  write (name: string, write: (catalog: Catalog) => Promise<unknown>): void {
    const node = this.node(name)
    this.enqueue(node, async () => { if (node.catalog !== undefined) await write(node.catalog) })
  }

  node (name: string): CatalogSimNode {
    const node = this.nodes.get(name)
    if (node === undefined) throw new Error(`no simulated catalog node ${name}`)
    return node
  }

  /** Catalogs of the nodes that are up and open. */
  liveCatalogs (): Catalog[] {
    return [...this.nodes.values()].filter(node => this.engine.isUp(node.name) && node.catalog !== undefined).map(node => node.catalog!)
  }

  /** Every node that is up has its catalog open, and all hold the same entries (equal digests). */
  converged (): boolean {
    const up = [...this.nodes.values()].filter(node => this.engine.isUp(node.name))
    if (up.length === 0 || up.some(node => node.catalog === undefined)) return false
    const catalogs = this.liveCatalogs()
    const first = canonicalDigest(catalogs[0].digest())
    return catalogs.every(catalog => canonicalDigest(catalog.digest()) === first)
  }

  /** Runs the simulation until `untilMs`, letting every node run its queued catalog tasks each step. */
  async runUntil (untilMs: number): Promise<void> {
    while (this.engine.nowMs < untilMs) {
      this.engine.runUntil(Math.min(untilMs, this.engine.nowMs + STEP_MS))
      await this.settle()
    }
  }

  /** Runs until `done()` holds (checked every checkEveryMs) or maxMs; returns the time it held. */
  async runUntilTrue (done: () => boolean, maxMs: number, checkEveryMs = 50): Promise<number | undefined> {
    while (this.engine.nowMs < maxMs) {
      if (done()) return this.engine.nowMs
      await this.runUntil(Math.min(maxMs, this.engine.nowMs + checkEveryMs))
    }
    return done() ? this.engine.nowMs : undefined
  }

  private async settle (): Promise<void> {
    for (const node of this.nodes.values()) {
      while (node.tasks.length > 0) await node.tasks.shift()!()
    }
  }

  private enqueue (node: CatalogSimNode, task: () => Promise<void>): void {
    node.tasks.push(task)
  }

  /** Live members other than `node` in its own membership view: who it gossips and syncs with. */
  private livePeers (node: CatalogSimNode): string[] {
    if (!this.engine.isUp(node.name)) return []
    return this.members.agent(node.name).membership.members()
      .filter(member => member.name !== node.name && (member.status === 'alive' || member.status === 'suspect'))
      .map(member => member.addr)
  }

  private fanOut (node: CatalogSimNode, entries: Entry[]): void {
    this.stats.deltas++
    this.engine.trace(`${node.name} delta ${entries.length}`)
    for (const peer of this.livePeers(node)) this.members.sendApp(node.name, peer, { type: 'delta', entries }, false)
  }

  private pushPull (node: CatalogSimNode, peer: string): void {
    this.enqueue(node, async () => {
      if (node.catalog === undefined) return
      this.stats.pushPulls++
      this.members.sendApp(node.name, peer, { type: 'pull', digest: node.catalog.digest() }, true)
    })
  }

  private scheduleSync (node: CatalogSimNode): void {
    const delayMs = syncDelayMs(this.syncIntervalMs, this.livePeers(node).length, node.random)
    this.engine.setTimer(node.name, this.engine.nowMs + delayMs, () => {
      const peer = pickSyncPeer(this.livePeers(node), node.random)
      if (peer !== undefined) this.pushPull(node, peer)
      this.scheduleSync(node)
    })
  }

  private receive (to: string, from: string, message: SyncMessage): void {
    const node = this.node(to)
    this.enqueue(node, async () => {
      const catalog = node.catalog
      if (catalog === undefined) return
      if (message.type === 'delta' || message.type === 'push') {
        await this.merge(catalog, message.entries)
      } else if (message.type === 'pull') {
        this.members.sendApp(to, from, { type: 'answer', entries: catalog.missingFor(message.digest, this.pageBytes), digest: catalog.digest() }, true)
      } else {
        await this.merge(catalog, message.entries)
        const missing = catalog.missingFor(message.digest, this.pageBytes)
        if (missing.length > 0) this.members.sendApp(to, from, { type: 'push', entries: missing }, true)
      }
    })
  }

  private async merge (catalog: Catalog, entries: Entry[]): Promise<void> {
    if (entries.length === 0) return
    const { applied } = await catalog.merge(entries)
    this.stats.merged += applied.length
  }

  private onMembershipEvent (observer: string, type: MembershipEventType, member: MemberInfo): void {
    const node = this.nodes.get(observer)
    if (node === undefined || member.name === observer) return
    const liveness = livenessOnMembershipEvent(type)
    if (liveness !== undefined) this.enqueue(node, async () => { await node.catalog?.setNodeLiveness(member.name, liveness) })
    if (type === 'join') {
      const live = this.livePeers(node).length
      if (node.random() < Math.min(1, NEWCOMER_SYNCS / Math.max(1, live))) this.pushPull(node, member.addr)
    }
  }
}
