// The sans-I/O SWIM + Lifeguard membership core: inputs (start, receive, tick, join, leave, lag,
// meta updates) in, outputs (messages to send, membership events) out. No clock, timer, socket or
// Math.random inside: the adapter passes nowMs, calls tick() at nextDeadlineMs() and sends the
// returned messages.
//
// The protocol (SWIM with Lifeguard, as hashicorp/memberlist): every probe interval (scaled by
// local health) the agent pings the next member of a randomized round-robin order; with no ack
// within the probe timeout it asks k random members to ping the target for it (each answers with
// an ack relayed from the target, or a nack); with no ack by the end of the probe interval the
// target is suspected. Suspicions spread as gossip: every gossip interval the queued news is sent
// to a few random members (recently dead ones included) and it also rides on every probe
// datagram. A member we suspect is probed early and again while suspected (its silence confirms,
// its ack carries a refutation we may have missed). Full state is exchanged by push-pull at join,
// periodically, whenever the live count doubled, and with a random dead member now and then so
// that partitions heal; a dead member is also pinged more often (a datagram is cheap) and its ack
// brings that push-pull forward, so a heal is noticed within a second or so. The state rules
// themselves live in state.ts.

import { pino, type Logger } from 'pino'
import { accusationIncarnation, encodedSizeBytes, MAX_INCARNATION, validateAddr, validateId, validateMeta, validateName } from './codec.ts'
import { lan, membershipConfig, type MembershipConfig } from './config.ts'
import { InvalidSelfError, NotStartedError } from './errors.ts'
import type { MemberRecord } from './member-table.ts'
import { MembershipState, snapshot } from './state.ts'
import { RelayTable } from './relays.ts'
import { pushPullIntervalMs } from './timing.ts'
import type { GossipEntry, MemberInfo, MembershipMessage, MembershipOutput, SelfInfo } from './types.ts'

export interface MembershipInit {
  self: SelfInfo
  /** Defaults to the `lan` preset; validated. */
  config?: Partial<MembershipConfig>
  /** Uniform in [0, 1); injected so simulations replay from a seed. */
  random: () => number
  log?: Logger
}

interface Probe {
  target: MemberRecord
  seq: number
  timeoutAtMs: number
  endAtMs: number
  indirectSent: boolean
  expectedNacks: number
  nacks: number
}

/** Bytes a gossip entry adds inside a datagram besides its own JSON (the separating comma). */
const GOSSIP_ENTRY_OVERHEAD_BYTES = 1

export class Membership {
  private readonly config: MembershipConfig
  private readonly random: () => number
  private readonly log: Logger
  private readonly state: MembershipState
  private started = false
  private seq = 0
  private probe: Probe | undefined
  private nextProbeAtMs = 0
  private nextGossipAtMs = 0
  private nextPushPullAtMs = 0
  private nextReconnectAtMs = 0
  private nextDeadProbeAtMs = 0
  /** The last ping sent to a dead member: its ack means that member is reachable again. */
  private deadProbe: { seq: number, name: string } | undefined
  private readonly relays: RelayTable
  /** Set by a late tick: expiry decisions wait until this time so pending input is read first. */
  private holdUntilMs: number | undefined
  private lastProbeWasSoon = false
  /**
   * Live members when we last started a push-pull. Each doubling since then triggers one at once:
   * while a cluster forms, gossip about early joiners has small retransmit limits (log of a small
   * N) and can miss members; log2(N) extra syncs per agent close those gaps in seconds.
   */
  private liveAtLastPushPull = 1

  constructor (init: MembershipInit) {
    this.config = membershipConfig(init.config ?? {}, lan)
    this.random = init.random
    this.log = (init.log ?? pino({ level: 'silent' })).child({ component: 'mesh:membership' })
    let self: SelfInfo
    try {
      self = { name: validateName(init.self.name, 'name'), id: validateId(init.self.id, 'id'), addr: validateAddr(init.self.addr, 'addr'), meta: validateMeta(init.self.meta) }
    } catch (error) {
      throw new InvalidSelfError((error as Error).message)
    }
    const record: MemberRecord = { ...self, meta: { ...self.meta }, incarnation: 0, status: 'alive', statusChangedAtMs: 0, stateSizeBytes: 0, tableIndex: -1 }
    this.state = new MembershipState({ self: record, config: this.config, random: this.random, log: this.log })
    this.relays = new RelayTable(this.config.maxPendingRelays)
  }

  start (nowMs: number): MembershipOutput[] {
    this.started = true
    this.state.self.statusChangedAtMs = nowMs
    this.state.broadcastAlive(this.state.self)
    // Random phases, so agents started together do not probe and sync in lockstep.
    this.nextProbeAtMs = nowMs + this.random() * this.config.probeIntervalMs
    this.nextGossipAtMs = nowMs + this.config.gossipIntervalMs
    this.nextPushPullAtMs = nowMs + (0.5 + this.random()) * this.pushPullPeriodMs()
    this.nextReconnectAtMs = nowMs + (0.5 + this.random()) * this.config.reconnectIntervalMs
    this.nextDeadProbeAtMs = nowMs + (0.5 + this.random()) * this.config.deadProbeIntervalMs
    return this.drain()
  }

  /** Sends our full state to each address, asking for theirs (reliable). */
  join (addrs: string[], nowMs: number): MembershipOutput[] {
    this.requireStarted('join')
    this.keepGossipClockCurrent(nowMs)
    for (const addr of addrs) this.sendPushPull(addr, true)
    this.maybeProgress(nowMs)
    return this.drain()
  }

  /** Graceful leave: tells the cluster we left (peers mark us `left`, not failed) and stops probing. */
  leave (nowMs: number): MembershipOutput[] {
    this.requireStarted('leave')
    if (this.state.leaving) return []
    this.state.leaving = true
    const self = this.state.self
    this.state.table.setStatus(self, 'left', nowMs)
    this.probe = undefined
    this.state.enqueue({ type: 'dead', name: self.name, incarnation: self.incarnation, from: self.name })
    this.gossipRound(nowMs)
    return this.drain()
  }

  /** Meta changed: raise the incarnation so the new meta wins everywhere, and gossip it. */
  updateMeta (meta: Record<string, string>, nowMs: number): MembershipOutput[] {
    this.requireStarted('updateMeta')
    this.keepGossipClockCurrent(nowMs)
    let clean: Record<string, string>
    try {
      clean = validateMeta(meta)
    } catch (error) {
      throw new InvalidSelfError((error as Error).message)
    }
    const self = this.state.self
    if (self.incarnation >= MAX_INCARNATION) throw new InvalidSelfError(`incarnation is at its bound (${MAX_INCARNATION}): the member's meta can no longer change`)
    self.meta = { ...clean }
    self.incarnation++
    this.state.broadcastAlive(self)
    this.maybeProgress(nowMs)
    return this.drain()
  }

  /** The adapter measured event-loop lag; a large one means we, not our peers, are slow. */
  reportLocalLag (lagMs: number, nowMs: number): MembershipOutput[] {
    this.requireStarted('reportLocalLag')
    this.keepGossipClockCurrent(nowMs)
    if (lagMs >= this.config.localLagThresholdMs) this.state.awareness.applyDelta(1)
    this.maybeProgress(nowMs)
    return this.drain()
  }

  /** A reliable send (join or push-pull) could not be delivered; nothing to undo, only noted. */
  reliableFailed (toAddr: string, nowMs: number): MembershipOutput[] {
    this.requireStarted('reliableFailed')
    this.log.debug({ to: toAddr, nowMs }, 'reliable membership send failed')
    return []
  }

  receive (fromAddr: string, message: MembershipMessage, nowMs: number): MembershipOutput[] {
    this.requireStarted('receive')
    this.keepGossipClockCurrent(nowMs)
    const state = this.state
    switch (message.type) {
      case 'ping':
        state.applyGossip(message.gossip, nowMs)
        if (message.target === state.self.name) this.sendDatagram(fromAddr, { type: 'ack', seq: message.seq, gossip: [] })
        break
      case 'ping-req':
        state.applyGossip(message.gossip, nowMs)
        this.relayProbe(fromAddr, message.seq, message.target, message.targetAddr, nowMs)
        break
      case 'ack':
        state.applyGossip(message.gossip, nowMs)
        this.handleAck(message.seq)
        break
      case 'nack':
        state.applyGossip(message.gossip, nowMs)
        if (this.probe !== undefined && this.probe.seq === message.seq) this.probe.nacks++
        break
      case 'gossip':
        state.applyGossip(message.gossip, nowMs)
        break
      case 'push-pull':
        state.mergeRemoteState(message.members, nowMs)
        if (!message.reply) this.sendPushPull(fromAddr, message.join, true)
        break
    }
    return this.drain()
  }

  /** Runs whatever is due at nowMs: probes, indirect probes, suspicion timeouts, gossip, syncs, reaping. */
  tick (nowMs: number): MembershipOutput[] {
    this.requireStarted('tick')
    const deadlineMs = this.rawDeadlineMs()
    if (this.config.lateTickToleranceMs > 0 && this.holdUntilMs === undefined && nowMs - deadlineMs > this.config.lateTickToleranceMs) {
      // We stalled; acks and refutations that arrived meanwhile are likely still unread. Wait
      // one more turn of the adapter's event loop before judging anyone.
      this.holdUntilMs = nowMs + 1
      this.log.debug({ lateMs: nowMs - deadlineMs }, 'late tick: deferring expiry decisions')
      return []
    }
    if (this.holdUntilMs !== undefined && nowMs < this.holdUntilMs) return []
    this.holdUntilMs = undefined
    this.progress(nowMs)
    return this.drain()
  }

  /** When tick() must be called next; undefined before start. */
  nextDeadlineMs (): number | undefined {
    if (!this.started) return undefined
    return Math.max(this.rawDeadlineMs(), this.holdUntilMs ?? 0)
  }

  members (): MemberInfo[] {
    return Array.from(this.state.table.all(), snapshot)
  }

  member (name: string): MemberInfo | undefined {
    const record = this.state.table.get(name)
    return record === undefined ? undefined : snapshot(record)
  }

  /** Counters and gauges for metrics and tests. */
  stats (): { awarenessScore: number, queuedBroadcasts: number, liveMembers: number, conflicts: number, pendingRelays: number } {
    return {
      awarenessScore: this.state.awareness.score(),
      queuedBroadcasts: this.state.queue.size(),
      liveMembers: this.state.table.liveCount(),
      conflicts: this.state.conflicts,
      pendingRelays: this.relays.size()
    }
  }

  private progress (nowMs: number): void {
    this.progressProbe(nowMs)
    for (const relay of this.relays.expire(nowMs)) {
      this.sendDatagram(relay.originAddr, { type: 'nack', seq: relay.originSeq, gossip: [] })
    }
    for (const [name, suspicion] of this.state.suspicions) {
      const record = this.state.table.get(name)
      if (suspicion.deadlineMs() <= nowMs && record !== undefined) {
        this.state.applyDead({ name, incarnation: record.incarnation, from: this.state.self.name }, nowMs)
      }
    }
    if (nowMs >= this.nextGossipAtMs) {
      if (this.state.queue.size() > 0) this.gossipRound(nowMs)
      this.nextGossipAtMs = nowMs + this.config.gossipIntervalMs
    }
    const live = this.state.table.liveCount()
    if (this.config.pushPullIntervalMs > 0 && (nowMs >= this.nextPushPullAtMs || live >= 2 * this.liveAtLastPushPull)) {
      this.liveAtLastPushPull = live
      const [peer] = this.state.table.randomMembers(1, record => record.status === 'alive' && record !== this.state.self)
      if (peer !== undefined && !this.state.leaving) this.sendPushPull(peer.addr, false)
      this.nextPushPullAtMs = nowMs + this.pushPullPeriodMs()
    }
    if (this.config.reconnectIntervalMs > 0 && nowMs >= this.nextReconnectAtMs) {
      const [peer] = this.state.table.randomMembers(1, record => record.status === 'dead')
      if (peer !== undefined && !this.state.leaving) this.sendPushPull(peer.addr, false)
      this.nextReconnectAtMs = nowMs + this.config.reconnectIntervalMs
    }
    if (this.config.deadProbeIntervalMs > 0 && nowMs >= this.nextDeadProbeAtMs) {
      this.probeDeadMember()
      this.nextDeadProbeAtMs = nowMs + this.config.deadProbeIntervalMs
    }
    this.state.reap(nowMs)
  }

  /**
   * With an empty queue no tick is asked for gossip, so its next time can fall behind; news
   * queued now must wait at most one gossip interval, and must not make the next tick look late.
   */
  private keepGossipClockCurrent (nowMs: number): void {
    if (this.state.queue.size() === 0 && this.nextGossipAtMs < nowMs) this.nextGossipAtMs = nowMs + this.config.gossipIntervalMs
  }

  /** Runs expiries only when no late-tick hold is pending (an input must not bypass the hold). */
  private maybeProgress (nowMs: number): void {
    if (this.holdUntilMs === undefined && nowMs >= this.rawDeadlineMs()) this.progress(nowMs)
  }

  private progressProbe (nowMs: number): void {
    const probe = this.probe
    if (probe !== undefined) {
      if (!probe.indirectSent && nowMs >= probe.timeoutAtMs) this.sendIndirectProbes(probe)
      if (nowMs < probe.endAtMs) return
      this.probe = undefined
      this.failProbe(probe, nowMs)
    }
    if (nowMs < this.nextProbeAtMs || this.state.leaving) return
    const intervalMs = this.state.awareness.scaleMs(this.config.probeIntervalMs)
    this.nextProbeAtMs = nowMs + intervalMs
    const target = this.nextProbeTarget()
    if (target === undefined) return
    const seq = this.nextSeq()
    this.probe = {
      target,
      seq,
      timeoutAtMs: nowMs + this.state.awareness.scaleMs(this.config.probeTimeoutMs),
      endAtMs: nowMs + intervalMs,
      indirectSent: false,
      expectedNacks: 0,
      nacks: 0
    }
    const buddy: GossipEntry[] = target.status === 'suspect'
      ? [{ type: 'suspect', name: target.name, incarnation: accusationIncarnation(target.incarnation), from: this.state.self.name }]
      : []
    this.sendDatagram(target.addr, { type: 'ping', seq, target: target.name, gossip: buddy })
  }

  /**
   * Suspects are probed early, but at most every other probe, so that many suspects (a partition)
   * cannot starve the round-robin of everyone else.
   */
  private nextProbeTarget (): MemberRecord | undefined {
    const soon = this.state.probeSoon
    if (!this.lastProbeWasSoon) {
      while (soon.length > 0) {
        const record = this.state.table.get(soon.shift() as string)
        if (record !== undefined && record.status === 'suspect') {
          this.lastProbeWasSoon = true
          return record
        }
      }
    }
    this.lastProbeWasSoon = false
    return this.state.table.nextProbeTarget(this.state.self.name)
  }

  /**
   * While we suspect a member we keep probing it early: its ack carries its refutation if we
   * missed the gossip (lost datagrams), and its silence confirms the suspicion.
   */
  private probeAgainIfSuspect (target: MemberRecord): void {
    if (target.status === 'suspect' && this.state.table.get(target.name) === target) this.state.queueEarlyProbe(target.name)
  }

  private sendIndirectProbes (probe: Probe): void {
    probe.indirectSent = true
    const self = this.state.self
    const helpers = this.state.table.randomMembers(this.config.indirectChecks, record =>
      record.status === 'alive' && record !== self && record !== probe.target)
    probe.expectedNacks = helpers.length
    for (const helper of helpers) {
      this.sendDatagram(helper.addr, { type: 'ping-req', seq: probe.seq, target: probe.target.name, targetAddr: probe.target.addr, gossip: [] })
    }
  }

  private failProbe (probe: Probe, nowMs: number): void {
    // Lifeguard: helpers that did not even nack suggest our own network or CPU is the problem.
    const missedNacks = probe.expectedNacks - probe.nacks
    this.state.awareness.applyDelta(probe.expectedNacks > 0 ? Math.max(0, missedNacks) : 1)
    const target = this.state.table.get(probe.target.name)
    // A failed probe of a member already suspected is an independent confirmation (Lifeguard).
    if (target !== probe.target || (target.status !== 'alive' && target.status !== 'suspect')) return
    this.log.debug({ target: target.name, incarnation: target.incarnation }, 'probe failed: suspecting')
    const wasSuspect = target.status === 'suspect'
    this.state.applySuspect({ name: target.name, incarnation: target.incarnation, from: this.state.self.name }, nowMs)
    if (wasSuspect) this.probeAgainIfSuspect(target)
  }

  /** Pings one random dead member; an ack (handleAck) means it is reachable and starts a push-pull. */
  private probeDeadMember (): void {
    this.deadProbe = undefined
    if (this.state.leaving) return
    const [target] = this.state.table.randomMembers(1, record => record.status === 'dead')
    if (target === undefined) return
    const seq = this.nextSeq()
    this.deadProbe = { seq, name: target.name }
    this.sendDatagram(target.addr, { type: 'ping', seq, target: target.name, gossip: [] })
  }

  private handleAck (seq: number): void {
    if (this.deadProbe !== undefined && this.deadProbe.seq === seq) {
      const target = this.state.table.get(this.deadProbe.name)
      this.deadProbe = undefined
      // Still dead to us, yet it answered: exchange full state, which refutes both verdicts.
      if (target !== undefined && target.status === 'dead' && !this.state.leaving) {
        this.log.debug({ target: target.name, incarnation: target.incarnation }, 'a dead member answered a ping: push-pull')
        this.sendPushPull(target.addr, false)
      }
      return
    }
    if (this.probe !== undefined && this.probe.seq === seq) {
      const target = this.probe.target
      this.probe = undefined
      this.state.awareness.applyDelta(-1)
      this.probeAgainIfSuspect(target)
      return
    }
    const relay = this.relays.take(seq)
    if (relay === undefined) return
    this.sendDatagram(relay.originAddr, { type: 'ack', seq: relay.originSeq, gossip: [] })
  }

  private relayProbe (fromAddr: string, originSeq: number, target: string, targetAddr: string, nowMs: number): void {
    const seq = this.nextSeq()
    if (!this.relays.add(seq, { originSeq, originAddr: fromAddr, expiresAtMs: nowMs + this.config.probeTimeoutMs })) return
    this.sendDatagram(targetAddr, { type: 'ping', seq, target, gossip: [] })
  }

  /** One gossip round: queued news to gossipNodes random members, recently dead ones included. */
  private gossipRound (nowMs: number): void {
    const self = this.state.self
    const targets = this.state.table.randomMembers(this.config.gossipNodes, record => {
      if (record === self) return false
      if (record.status === 'alive' || record.status === 'suspect') return true
      return record.status === 'dead' && nowMs - record.statusChangedAtMs < this.config.gossipToTheDeadMs
    })
    for (const target of targets) {
      if (this.state.queue.size() === 0) return
      this.sendDatagram(target.addr, { type: 'gossip', gossip: [] })
    }
  }

  /** Sends a datagram, filling its remaining byte budget with queued broadcasts. */
  private sendDatagram (to: string, message: Exclude<MembershipMessage, { type: 'push-pull' }>): void {
    if (this.state.queue.size() > 0) {
      const budgetBytes = this.config.maxDatagramBytes - encodedSizeBytes(message) - 8
      const gossip: GossipEntry[] = this.state.queue.take(budgetBytes, GOSSIP_ENTRY_OVERHEAD_BYTES, this.state.table.liveCount())
      message.gossip = message.gossip.length === 0 ? gossip : [...message.gossip, ...gossip]
    }
    if (message.type === 'gossip' && message.gossip.length === 0) return
    this.state.out.push({ kind: 'send', to, reliable: false, message })
  }

  private sendPushPull (to: string, join: boolean, reply = false): void {
    const members = this.state.localState(this.config.maxReliableMessageBytes - 256)
    this.state.out.push({ kind: 'send', to, reliable: true, message: { type: 'push-pull', join, reply, members } })
  }

  private rawDeadlineMs (): number {
    let deadlineMs = this.probe === undefined
      ? (this.state.leaving ? Number.POSITIVE_INFINITY : this.nextProbeAtMs)
      : (this.probe.indirectSent ? this.probe.endAtMs : this.probe.timeoutAtMs)
    deadlineMs = Math.min(deadlineMs, this.relays.earliestExpiryMs())
    for (const suspicion of this.state.suspicions.values()) deadlineMs = Math.min(deadlineMs, suspicion.deadlineMs())
    if (this.state.queue.size() > 0) deadlineMs = Math.min(deadlineMs, this.nextGossipAtMs)
    if (this.config.pushPullIntervalMs > 0) deadlineMs = Math.min(deadlineMs, this.nextPushPullAtMs)
    if (this.config.reconnectIntervalMs > 0) deadlineMs = Math.min(deadlineMs, this.nextReconnectAtMs)
    if (this.config.deadProbeIntervalMs > 0) deadlineMs = Math.min(deadlineMs, this.nextDeadProbeAtMs)
    return Math.min(deadlineMs, this.state.nextReapCheckMs)
  }

  private pushPullPeriodMs (): number {
    return pushPullIntervalMs(this.config.pushPullIntervalMs, this.state.table.liveCount())
  }

  private nextSeq (): number {
    this.seq = (this.seq + 1) % Number.MAX_SAFE_INTEGER
    return this.seq
  }

  private drain (): MembershipOutput[] {
    const out = this.state.out
    this.state.out = []
    return out
  }

  private requireStarted (method: string): void {
    if (!this.started) throw new NotStartedError(method)
  }
}
