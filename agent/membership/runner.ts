// The thin I/O shell around the sans-I/O membership core: it feeds datagrams, reliable messages,
// timer ticks and event-loop lag into the core and carries out what the core outputs — datagrams
// over UDP, reliable messages over libp2p (`/mesh/swim/1.0.0`), events to the agent. The core
// owns every decision; this file only moves bytes and keeps one timer armed at the core's deadline.

import { monitorEventLoopDelay } from 'node:perf_hooks'
import type { Logger } from 'pino'
import type { Membership } from './membership.ts'
import { decodeMessage, encodeMessage } from './codec.ts'
import type { MemberInfo, MembershipEventType, MembershipMessage, MembershipOutput } from './types.ts'
import type { DatagramTransport } from '../transport/datagram.ts'
import type { MeshNode } from '../transport/libp2p.ts'
import { toMultiaddr } from '../transport/libp2p.ts'
import { handleRequests, request } from '../transport/request.ts'
import type { Startable } from '../lifecycle.ts'

export const PROTOCOL_SWIM = '/mesh/swim/1.0.0'
const RELIABLE_TIMEOUT_MS = 5000
const LAG_SAMPLE_INTERVAL_MS = 1000

export interface MembershipRunnerInit {
  /** This agent's SWIM address ("host:port"), as the core knows it. */
  selfAddr: string
  /** Size bounds from the membership config: one datagram, one reliable message. */
  maxDatagramBytes: number
  maxReliableBytes: number
}

export interface MembershipRunnerComponents {
  core: Membership
  node: MeshNode
  datagrams: Pick<DatagramTransport, 'send'>
  log: Logger
  onEvent: (type: MembershipEventType, member: MemberInfo) => void
  now?: () => number
}

export interface MembershipStats { decodeErrors: number, reliableFailures: number }

export class MembershipRunner implements Startable {
  readonly stats: MembershipStats = { decodeErrors: 0, reliableFailures: 0 }
  private readonly init: MembershipRunnerInit & MembershipRunnerComponents
  private readonly now: () => number
  private timer: NodeJS.Timeout | undefined
  private timerAtMs = Infinity
  private lagMonitor: ReturnType<typeof monitorEventLoopDelay> | undefined
  private lagTimer: NodeJS.Timeout | undefined
  private stopped = false

  constructor (init: MembershipRunnerInit, components: MembershipRunnerComponents) {
    this.init = { ...init, ...components }
    this.now = components.now ?? (() => performance.timeOrigin + performance.now())
  }

  get core (): Membership { return this.init.core }

  async start (): Promise<void> {
    await handleRequests(this.init.node, PROTOCOL_SWIM, async (raw) => {
      const envelope = raw as { from?: unknown, payload?: unknown }
      if (typeof envelope?.from !== 'string' || envelope.from.length > 300) throw new Error('missing sender address')
      if (typeof envelope.payload !== 'string') throw new Error('missing payload')
      this.receiveBytes(Buffer.from(envelope.payload, 'base64'), envelope.from, this.init.maxReliableBytes)
      return { ok: true }
    }, this.init.log, { maxBytes: 1024 * 1024 })
    this.run((now) => this.init.core.start(now))
    this.lagMonitor = monitorEventLoopDelay({ resolution: 100 })
    this.lagMonitor.enable()
    this.lagTimer = setInterval(() => this.sampleLag(), LAG_SAMPLE_INTERVAL_MS)
    this.lagTimer.unref()
  }

  /** Datagram input from the UDP transport. */
  receiveDatagram (payload: Buffer, from: string): void {
    this.receiveBytes(payload, from, this.init.maxDatagramBytes)
  }

  join (addresses: string[]): void {
    this.run((now) => this.init.core.join(addresses, now))
  }

  /** Graceful leave: tells the cluster, then waits until the news had time to spread (bounded). */
  async leave (waitMs: number): Promise<void> {
    this.run((now) => this.init.core.leave(now))
    await new Promise((resolve) => setTimeout(resolve, waitMs))
  }

  updateMeta (meta: Record<string, string>): void {
    this.run((now) => this.init.core.updateMeta(meta, now))
  }

  members (): MemberInfo[] {
    return this.init.core.members()
  }

  /**
   * Consul's force-leave: a failed member is announced as having left, so every agent moves it from
   * `failed` to `left` (and reaps it after the tombstone timeout instead of the reconnect timeout).
   * It goes through the core as the same leave gossip the member itself would have sent; a member
   * that is in fact alive refutes it. `prune` is accepted for Consul compatibility and means the same.
   */
  forceLeave (name: string, _prune: boolean): boolean {
    const member = this.init.core.member(name)
    if (member === undefined || name === this.init.core.members().find((candidate) => candidate.addr === this.init.selfAddr)?.name) return false
    this.run((now) => this.init.core.receive(this.init.selfAddr, {
      type: 'gossip',
      gossip: [{ type: 'dead', name, incarnation: member.incarnation, from: name }],
    }, now))
    return true
  }

  async stop (): Promise<void> {
    this.stopped = true
    clearTimeout(this.timer)
    clearInterval(this.lagTimer)
    this.lagMonitor?.disable()
    await this.init.node.unhandle(PROTOCOL_SWIM).catch(() => {})
  }

  private receiveBytes (bytes: Uint8Array, from: string, maxBytes: number): void {
    let message: MembershipMessage
    try {
      message = decodeMessage(bytes, maxBytes)
    } catch (error) {
      this.stats.decodeErrors++
      if (this.stats.decodeErrors <= 5) this.init.log.warn({ from, err: (error as Error).message }, 'dropped a bad membership message')
      return
    }
    this.run((now) => this.init.core.receive(from, message, now))
  }

  private sampleLag (): void {
    if (this.lagMonitor === undefined) return
    const lagMs = this.lagMonitor.max / 1e6
    this.lagMonitor.reset()
    if (lagMs > 0) this.run((now) => this.init.core.reportLocalLag(lagMs, now))
  }

  private run (step: (nowMs: number) => MembershipOutput[]): void {
    if (this.stopped) return
    const outputs = step(this.now())
    for (const output of outputs) {
      if (output.kind === 'event') {
        this.init.onEvent(output.type, output.member)
      } else if (output.reliable) {
        this.sendReliable(output.to, output.message)
      } else {
        this.sendDatagram(output.to, output.message)
      }
    }
    this.arm()
  }

  private sendDatagram (to: string, message: MembershipMessage): void {
    try {
      this.init.datagrams.send(encodeMessage(message, this.init.maxDatagramBytes), to)
    } catch (error) {
      this.init.log.warn({ to, err: (error as Error).message }, 'membership datagram not sent')
    }
  }

  private sendReliable (to: string, message: MembershipMessage): void {
    const member = this.init.core.members().find((candidate) => candidate.addr === to)
    const peerId = member?.meta.peer
    const target = toMultiaddr(to, peerId)
    request(this.init.node, target, PROTOCOL_SWIM, { from: this.init.selfAddr, payload: Buffer.from(encodeMessage(message, this.init.maxReliableBytes)).toString('base64') }, { signal: AbortSignal.timeout(RELIABLE_TIMEOUT_MS) })
      .catch((error: Error) => {
        this.stats.reliableFailures++
        this.init.log.debug({ to, err: error.message }, 'reliable membership message failed')
        this.run((now) => this.init.core.reliableFailed(to, now))
      })
  }

  private arm (): void {
    const deadline = this.init.core.nextDeadlineMs()
    if (deadline === undefined || this.stopped) return
    if (this.timer !== undefined && deadline >= this.timerAtMs) return
    clearTimeout(this.timer)
    this.timerAtMs = deadline
    this.timer = setTimeout(() => {
      this.timer = undefined
      this.timerAtMs = Infinity
      this.run((now) => this.init.core.tick(now))
    }, Math.max(0, deadline - this.now()))
  }
}
