// Moves catalog state between agents. Deltas (the entries a local write or a merge produced) fan
// out over gossipsub, which reaches 50 agents in about 100 ms; convergence never depends on it:
// every sync interval (jittered, scaled with cluster size) the agent does a push-pull with one
// random live peer over /mesh/sync/1.0.0 — send our digest, receive what we lack plus their
// digest, push what they lack. A joining member gets a push-pull at once, so it catches up.

import type { Logger } from 'pino'
import type { Catalog } from '../../catalog/catalog.ts'
import type { Entry } from '../../catalog/entry.ts'
import { pickSyncPeer, syncDelayMs } from '../../catalog/sync-schedule.ts'
import type { MeshNode } from '../transport/libp2p.ts'
import { GOSSIP_MAX_MESSAGE_BYTES, TOPIC_CATALOG, toMultiaddr } from '../transport/libp2p.ts'
import { handleRequests, request } from '../transport/request.ts'
import type { Startable } from '../lifecycle.ts'
import { isRecord } from '../../api/guards.ts'

export const PROTOCOL_SYNC = '/mesh/sync/1.0.0'
const WIRE_VERSION = 1
const SYNC_PAGE_BYTES = 512 * 1024
const SYNC_TIMEOUT_MS = 10_000

export interface SyncPeer { name: string, addr: string, peerId: string }

export interface ReplicationInit {
  /** Mean time between push-pulls in a cluster of up to 32 agents (it grows with the cluster). */
  syncIntervalMs: number
}

export interface ReplicationComponents {
  catalog: Catalog
  node: MeshNode
  log: Logger
  /** Live peers to pick push-pull partners from. */
  peers: () => SyncPeer[]
  random?: () => number
  /** Called after each push-pull that completed (both sides merged); errors are logged. */
  onSynced?: (peer: SyncPeer) => void | Promise<void>
}

export interface ReplicationStats { published: number, received: number, rejected: number, syncs: number, syncFailures: number }

export class Replication implements Startable {
  readonly stats: ReplicationStats = { published: 0, received: 0, rejected: 0, syncs: 0, syncFailures: 0 }
  private readonly init: ReplicationInit & ReplicationComponents
  private readonly random: () => number
  private timer: NodeJS.Timeout | undefined
  private stopped = false
  private unsubscribeLocalWrites: (() => void) | undefined
  private readonly onGossip = (event: CustomEvent<{ topic: string, data: Uint8Array }>): void => {
    if (event.detail.topic !== TOPIC_CATALOG) return
    void this.receiveGossip(event.detail.data)
  }

  constructor (init: ReplicationInit, components: ReplicationComponents) {
    this.init = { ...init, ...components }
    this.random = components.random ?? Math.random
  }

  async start (): Promise<void> {
    const pubsub = this.init.node.services.pubsub
    pubsub.subscribe(TOPIC_CATALOG)
    pubsub.addEventListener('message', this.onGossip)
    // What this agent writes (its own records, its cluster-wide writes) is fanned out as soon as it is stored.
    this.unsubscribeLocalWrites = this.init.catalog.onLocalWrite((entries) => this.publish(entries))
    await handleRequests(this.init.node, PROTOCOL_SYNC, async (message) => await this.answerSync(message), this.init.log, { maxBytes: 1024 * 1024 })
    this.schedule()
  }

  async stop (): Promise<void> {
    this.stopped = true
    clearTimeout(this.timer)
    this.unsubscribeLocalWrites?.()
    this.init.node.services.pubsub.removeEventListener('message', this.onGossip)
    await this.init.node.unhandle(PROTOCOL_SYNC).catch(() => {})
  }

  /** Fans out entries produced by a local write (the catalog's `onLocalWrite`). */
  private publish (entries: Entry[]): void {
    if (entries.length === 0 || this.stopped) return
    let batch: Entry[] = []
    let batchBytes = 0
    const flush = (): void => {
      if (batch.length === 0) return
      const data = Buffer.from(JSON.stringify({ v: WIRE_VERSION, entries: batch }))
      batch = []
      batchBytes = 0
      this.stats.published++
      this.init.node.services.pubsub.publish(TOPIC_CATALOG, data).catch((error: Error) => {
        this.init.log.debug({ err: error.message }, 'catalog gossip publish failed; anti-entropy will carry it')
      })
    }
    for (const entry of entries) {
      const size = JSON.stringify(entry).length
      if (batchBytes + size > GOSSIP_MAX_MESSAGE_BYTES / 2) flush()
      batch.push(entry)
      batchBytes += size
    }
    flush()
  }

  /** One push-pull with `peer`; resolves when both sides merged (errors are counted and logged). */
  async syncWith (peer: SyncPeer): Promise<void> {
    const catalog = this.init.catalog
    try {
      const target = toMultiaddr(peer.addr, peer.peerId)
      const signal = AbortSignal.timeout(SYNC_TIMEOUT_MS)
      const answer = await request(this.init.node, target, PROTOCOL_SYNC, { v: WIRE_VERSION, type: 'pull', digest: catalog.digest() }, { signal })
      if (!isRecord(answer) || answer.v !== WIRE_VERSION || !Array.isArray(answer.entries) || !isRecord(answer.digest)) {
        throw new Error('malformed sync answer')
      }
      await this.mergeEntries(answer.entries)
      const missing = catalog.missingFor(answer.digest as never, SYNC_PAGE_BYTES)
      if (missing.length > 0) {
        await request(this.init.node, target, PROTOCOL_SYNC, { v: WIRE_VERSION, type: 'push', entries: missing }, { signal })
      }
      this.stats.syncs++
    } catch (error) {
      this.stats.syncFailures++
      this.init.log.debug({ peer: peer.name, err: (error as Error).message }, 'catalog sync failed')
      return
    }
    try {
      await this.init.onSynced?.(peer)
    } catch (error) {
      this.init.log.warn({ peer: peer.name, err: (error as Error).message }, 'after-sync hook failed')
    }
  }

  private async answerSync (message: unknown): Promise<unknown> {
    if (!isRecord(message) || message.v !== WIRE_VERSION) throw new Error('unsupported sync message version')
    if (message.type === 'pull') {
      if (!isRecord(message.digest)) throw new Error('pull without digest')
      const entries = this.init.catalog.missingFor(message.digest as never, SYNC_PAGE_BYTES)
      return { v: WIRE_VERSION, entries, digest: this.init.catalog.digest() }
    }
    if (message.type === 'push') {
      if (!Array.isArray(message.entries)) throw new Error('push without entries')
      await this.mergeEntries(message.entries)
      return { v: WIRE_VERSION, ok: true }
    }
    throw new Error('unknown sync message type')
  }

  private async receiveGossip (data: Uint8Array): Promise<void> {
    let message: unknown
    try {
      message = JSON.parse(Buffer.from(data).toString('utf8'))
    } catch {
      this.stats.rejected++
      return
    }
    if (!isRecord(message) || message.v !== WIRE_VERSION || !Array.isArray(message.entries)) {
      this.stats.rejected++
      return
    }
    await this.mergeEntries(message.entries)
  }

  private async mergeEntries (entries: unknown[]): Promise<void> {
    if (entries.length === 0) return
    try {
      const result = await this.init.catalog.merge(entries)
      this.stats.received += result.applied.length
      this.stats.rejected += result.rejected
      if (result.rejected > 0) this.init.log.warn({ rejected: result.rejected }, 'rejected invalid catalog entries from a peer')
    } catch (error) {
      this.stats.rejected += entries.length
      this.init.log.warn({ err: (error as Error).message }, 'catalog merge failed')
    }
  }

  private schedule (): void {
    if (this.stopped) return
    const delayMs = syncDelayMs(this.init.syncIntervalMs, this.init.peers().length, this.random)
    this.timer = setTimeout(() => {
      const peer = pickSyncPeer(this.init.peers(), this.random)
      const done = peer === undefined ? Promise.resolve() : this.syncWith(peer)
      void done.finally(() => this.schedule())
    }, delayMs)
    this.timer.unref()
  }
}
