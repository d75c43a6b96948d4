// The membership state rules: how alive, suspect and dead news (from gossip, probes or push-pull)
// changes the member table, which events that emits and which news it passes on.
//
// The rules (SWIM with incarnation numbers, as memberlist's state.go): every member orders news
// about itself by its incarnation, which only it may raise. Alive news wins over suspect or dead
// news only with a higher incarnation; suspect and dead news win over alive news at an equal or
// higher incarnation. A member that hears it is suspected or dead at an incarnation ≥ its own
// refutes: it raises its incarnation above it and broadcasts alive (and re-sends that alive when
// it hears an accusation it already refuted, since the accuser missed it). A suspicion turns into dead
// when its Lifeguard timeout expires; further suspicions from other members confirm and shorten
// it. Dead news whose sender is the member itself means a graceful leave (`left`). In a full-state
// push-pull, a remote `dead` is only taken as suspicion, so the member gets a chance to refute.
// Incarnations are bounded (codec.ts: MAX_INCARNATION, accusations one below): a refutation is
// never above the bound, and a member at the bound re-sends its alive at the bound, which wins a
// tie against a suspect or dead verdict at the bound (only this agent's own probes can reach
// one: accusations gossiped about a member at the bound go out one below it, where they read as
// stale news that makes the member re-send its alive). A member at the bound cannot announce a
// leave (its leave reads as stale; peers see it fail instead) nor a meta change.
// Names belong to ids: the same name under a different id is rejected while the holder is live,
// and may replace it once it is dead or left (after deadNodeReclaimTimeMs).

import type { Logger } from 'pino'
import { Awareness } from './awareness.ts'
import { BroadcastQueue } from './broadcast-queue.ts'
import { accusationIncarnation, encodedSizeBytes, MAX_INCARNATION } from './codec.ts'
import type { MembershipConfig } from './config.ts'
import { MemberTable, type MemberRecord } from './member-table.ts'
import { Suspicion } from './suspicion.ts'
import { suspicionMinMs } from './timing.ts'
import type { GossipEntry, MemberInfo, MemberState, MembershipEventType, MembershipOutput } from './types.ts'

/** Bytes a member's push-pull state adds beyond its alive gossip entry ("status" instead of "type"). */
const STATE_EXTRA_BYTES = 4
/** Bound on members waiting for an early probe; beyond it they wait for their round-robin turn. */
const MAX_PROBE_SOON = 16

export interface MembershipStateInit {
  self: MemberRecord
  config: MembershipConfig
  random: () => number
  log: Logger
}

export class MembershipState {
  readonly self: MemberRecord
  readonly table: MemberTable
  readonly queue: BroadcastQueue<GossipEntry>
  readonly awareness: Awareness
  readonly suspicions = new Map<string, Suspicion>()
  /** Outputs produced by the current input; the Membership facade drains it. */
  out: MembershipOutput[] = []
  leaving = false
  /** Earliest time a dead or left member may be due for reaping (a lower bound). */
  nextReapCheckMs = Number.POSITIVE_INFINITY
  conflicts = 0
  /**
   * Members that became suspect here, probed next out of round-robin order: their failed probes
   * are the independent confirmations that shorten a real failure's suspicion, and their pings
   * carry the suspicion to the member itself (Lifeguard's buddy system) so a live one refutes fast.
   */
  readonly probeSoon: string[] = []
  private readonly config: MembershipConfig
  private readonly log: Logger

  constructor (init: MembershipStateInit) {
    this.config = init.config
    this.log = init.log
    this.self = init.self
    this.table = new MemberTable(init.random)
    this.table.add(this.self)
    this.queue = new BroadcastQueue({ retransmitMult: init.config.retransmitMult })
    this.awareness = new Awareness(init.config.awarenessMaxMultiplier)
  }

  /**
   * fromFullState: learned in a push-pull. A member new to us is then not re-gossiped: the peer
   * already knew it and so, through its gossip, does most of the cluster; re-gossiping a whole
   * table on every join would cost N² × retransmits datagrams. Changes to known members are.
   */
  applyAlive (entry: AliveEntry, nowMs: number, fromFullState = false): void {
    if (entry.name === this.self.name) return this.aliveAboutSelf(entry)
    let record = this.table.get(entry.name)
    if (record !== undefined && record.id !== entry.id) {
      if (record.status === 'alive' || record.status === 'suspect') {
        this.conflicts++
        this.log.warn({ name: entry.name, holderId: record.id, claimantId: entry.id, claimantAddr: entry.addr }, 'name conflict: rejected a different member claiming a live name')
        return
      }
      if (nowMs - record.statusChangedAtMs < this.config.deadNodeReclaimTimeMs) return
      this.table.remove(record.name)
      this.suspicions.delete(record.name)
      record = undefined
    }
    if (record === undefined) {
      if (this.table.size() >= this.config.maxMembers) {
        this.log.warn({ name: entry.name, maxMembers: this.config.maxMembers }, 'member table full: ignored a new member')
        return
      }
      record = { name: entry.name, id: entry.id, addr: entry.addr, meta: entry.meta, incarnation: entry.incarnation, status: 'alive', statusChangedAtMs: nowMs, stateSizeBytes: 0, tableIndex: -1 }
      this.table.add(record)
      if (!fromFullState) this.broadcastAlive(record, entry)
      this.emit('join', record)
      return
    }
    if (entry.incarnation < record.incarnation) return
    if (entry.incarnation === record.incarnation && !aliveWinsTie(entry, record)) return
    const previous = record.status
    const changed = record.addr !== entry.addr || !sameMeta(record.meta, entry.meta)
    record.incarnation = entry.incarnation
    record.addr = entry.addr
    record.meta = entry.meta
    this.table.setStatus(record, 'alive', nowMs)
    this.suspicions.delete(record.name)
    this.broadcastAlive(record, entry)
    if (previous === 'dead' || previous === 'left') this.emit('join', record)
    else if (previous === 'suspect') this.emit('alive', record)
    if (changed && previous !== 'dead' && previous !== 'left') this.emit('update', record)
  }

  applySuspect (entry: { name: string, incarnation: number, from: string }, nowMs: number): void {
    const record = this.table.get(entry.name)
    if (record === undefined) return
    if (entry.incarnation < record.incarnation) {
      if (record === this.self) this.repeatStaleRefutation()
      return
    }
    if (record === this.self) {
      if (this.leaving) return
      this.awareness.applyDelta(1)
      this.refute(entry.incarnation)
      return
    }
    if (record.status === 'suspect') {
      if (this.suspicions.get(record.name)?.confirm(entry.from) === true) {
        this.enqueue({ type: 'suspect', name: record.name, incarnation: record.incarnation, from: entry.from })
      }
      return
    }
    if (record.status !== 'alive') return
    record.incarnation = entry.incarnation
    this.table.setStatus(record, 'suspect', nowMs)
    const n = this.table.liveCount()
    const minMs = suspicionMinMs(this.config.suspicionMult, n, this.config.probeIntervalMs)
    this.suspicions.set(record.name, new Suspicion({
      from: entry.from,
      k: Math.min(this.config.suspicionConfirmations, Math.max(0, n - 2)),
      minMs,
      maxMs: minMs * this.config.suspicionMaxTimeoutMult,
      startMs: nowMs
    }))
    this.enqueue({ type: 'suspect', name: record.name, incarnation: record.incarnation, from: entry.from })
    this.queueEarlyProbe(record.name)
    this.emit('suspect', record)
  }

  queueEarlyProbe (name: string): void {
    if (this.probeSoon.length < MAX_PROBE_SOON && !this.probeSoon.includes(name)) this.probeSoon.push(name)
  }

  applyDead (entry: { name: string, incarnation: number, from: string }, nowMs: number): void {
    const record = this.table.get(entry.name)
    if (record === undefined) return
    if (entry.incarnation < record.incarnation) {
      if (record === this.self) this.repeatStaleRefutation()
      return
    }
    const left = entry.from === entry.name
    if (record === this.self) {
      if (this.leaving) return
      this.awareness.applyDelta(1)
      this.refute(entry.incarnation)
      return
    }
    if (record.status === 'left') return
    // A member that failed and then is reported as having left, at the same incarnation, did
    // leave: its leave simply arrived after a failure verdict, and `left` is the truer status.
    if (record.status === 'dead' && !(left && entry.incarnation === record.incarnation)) return
    record.incarnation = entry.incarnation
    this.table.setStatus(record, left ? 'left' : 'dead', nowMs)
    this.suspicions.delete(record.name)
    const timeoutMs = left ? this.config.tombstoneTimeoutMs : this.config.reconnectTimeoutMs
    this.nextReapCheckMs = Math.min(this.nextReapCheckMs, nowMs + timeoutMs)
    this.enqueue({ type: 'dead', name: record.name, incarnation: record.incarnation, from: entry.from })
    this.emit(left ? 'leave' : 'fail', record)
  }

  applyGossip (entries: GossipEntry[], nowMs: number): void {
    for (const entry of entries) {
      if (entry.type === 'alive') this.applyAlive(entry, nowMs)
      else if (entry.type === 'suspect') this.applySuspect(entry, nowMs)
      else this.applyDead(entry, nowMs)
    }
  }

  /**
   * Merges a peer's full state (push-pull); remote `dead` becomes a suspicion the member can
   * refute. The first member is the sender itself: news about it (a joiner) is gossiped on.
   */
  mergeRemoteState (members: MemberState[], nowMs: number): void {
    for (let index = 0; index < members.length; index++) {
      const member = members[index]
      const { status, ...rest } = member
      if (status === 'alive') this.applyAlive({ type: 'alive', ...rest }, nowMs, index > 0)
      else if (status === 'left') this.applyDead({ name: member.name, incarnation: member.incarnation, from: member.name }, nowMs)
      else if (member.name === this.self.name || this.table.get(member.name) !== undefined) {
        this.applySuspect({ name: member.name, incarnation: member.incarnation, from: this.self.name }, nowMs)
      }
    }
  }

  /** This agent's full state for a push-pull, within the reliable message budget. */
  localState (budgetBytes: number): MemberState[] {
    const state: MemberState[] = []
    let remaining = budgetBytes
    for (const record of this.table.all()) {
      if (record.stateSizeBytes === 0) record.stateSizeBytes = entrySizeBytes(aliveEntry(record)) + STATE_EXTRA_BYTES
      // When the whole table does not fit (tens of thousands of members), the rest is left to
      // gossip and later exchanges; the local member always goes first so the peer learns it.
      if (record.stateSizeBytes + 1 > remaining && record !== this.self) continue
      remaining -= record.stateSizeBytes + 1
      const incarnation = record.status === 'alive' ? record.incarnation : accusationIncarnation(record.incarnation)
      state.push({ name: record.name, id: record.id, addr: record.addr, meta: record.meta, incarnation, status: record.status })
    }
    const selfIndex = state.findIndex(member => member.name === this.self.name)
    if (selfIndex > 0) state.unshift(...state.splice(selfIndex, 1))
    return state
  }

  /** Raises the local incarnation above `incarnation` and tells everyone this member is alive. */
  refute (incarnation: number): void {
    this.self.incarnation = Math.min(MAX_INCARNATION, Math.max(this.self.incarnation, incarnation) + 1)
    this.broadcastAlive(this.self)
  }

  /** Gossips that `record` is alive; `entry` may be the received news, when it says exactly that. */
  /**
   * Someone still accuses us at an incarnation we already refuted: it missed the refutation (lost
   * datagrams). Queue our current alive again, unchanged, so the reply it is about to get (the
   * ack to its probe, most often) carries it; otherwise its suspicion would run out and fail us.
   */
  private repeatStaleRefutation (): void {
    if (this.leaving) return
    const queued = this.queue.peek(this.self.name)
    if (queued === undefined || queued.transmits > 0) this.broadcastAlive(this.self)
  }

  broadcastAlive (record: MemberRecord, entry: AliveEntry = aliveEntry(record)): void {
    record.stateSizeBytes = this.enqueue(entry) + STATE_EXTRA_BYTES
  }

  enqueue (news: GossipEntry): number {
    // An accusation about a member at the bound goes out one below it (see the header).
    const entry = news.type === 'alive' || accusationIncarnation(news.incarnation) === news.incarnation ? news : { ...news, incarnation: accusationIncarnation(news.incarnation) }
    const sizeBytes = entrySizeBytes(entry)
    this.queue.enqueue(entry.name, entry, sizeBytes)
    return sizeBytes
  }

  emit (type: MembershipEventType, record: MemberRecord): void {
    this.out.push({ kind: 'event', type, member: snapshot(record) })
  }

  /** Removes dead and left members whose timeouts passed, emitting `reap` for each. */
  reap (nowMs: number): void {
    if (nowMs < this.nextReapCheckMs) return
    let next = Number.POSITIVE_INFINITY
    const due: MemberRecord[] = []
    for (const record of this.table.all()) {
      if (record.status !== 'dead' && record.status !== 'left') continue
      const atMs = record.statusChangedAtMs + (record.status === 'left' ? this.config.tombstoneTimeoutMs : this.config.reconnectTimeoutMs)
      if (atMs <= nowMs) due.push(record)
      else next = Math.min(next, atMs)
    }
    for (const record of due) {
      this.table.remove(record.name)
      this.emit('reap', record)
    }
    this.nextReapCheckMs = next
  }

  private aliveAboutSelf (entry: AliveEntry): void {
    if (entry.id !== this.self.id) {
      this.conflicts++
      this.log.warn({ name: entry.name, claimantId: entry.id, claimantAddr: entry.addr }, 'name conflict: another member claims the local name')
      return
    }
    if (this.leaving) return
    const stale = entry.addr !== this.self.addr || !sameMeta(entry.meta, this.self.meta)
    if (entry.incarnation > this.self.incarnation || (entry.incarnation === this.self.incarnation && stale)) {
      this.refute(entry.incarnation)
    }
  }
}

type AliveEntry = Extract<GossipEntry, { type: 'alive' }>

/** At the bound, a member's alive wins a tie against a suspect or dead verdict (see the header). */
function aliveWinsTie (entry: AliveEntry, record: MemberRecord): boolean {
  return entry.incarnation === MAX_INCARNATION && (record.status === 'suspect' || record.status === 'dead')
}

function aliveEntry (record: MemberRecord): AliveEntry {
  return { type: 'alive', name: record.name, id: record.id, addr: record.addr, meta: record.meta, incarnation: record.incarnation }
}

/**
 * Encoded sizes of entries, cached per entry object: entries are never mutated, and one object
 * is re-gossiped many times (and, in a simulation, shared by every agent it reaches).
 */
const entrySizes = new WeakMap<GossipEntry, number>()

function entrySizeBytes (entry: GossipEntry): number {
  let sizeBytes = entrySizes.get(entry)
  if (sizeBytes === undefined) {
    sizeBytes = encodedSizeBytes(entry)
    entrySizes.set(entry, sizeBytes)
  }
  return sizeBytes
}

export function snapshot (record: MemberRecord): MemberInfo {
  return {
    name: record.name,
    id: record.id,
    addr: record.addr,
    meta: { ...record.meta },
    incarnation: record.incarnation,
    status: record.status,
    statusChangedAtMs: record.statusChangedAtMs
  }
}

function sameMeta (a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a)
  if (keys.length !== Object.keys(b).length) return false
  for (const key of keys) if (a[key] !== b[key]) return false
  return true
}
