// Plugs Membership cores into the simulator engine: one simulated agent per core, its tick timer
// driven by nextDeadlineMs(), its outputs turned into simulated datagrams and stream messages,
// and its events recorded (and hashed into the engine's trace) for assertions. Other protocols
// can ride the same simulated network beside membership (`sendApp`, `onAppMessage`) and follow
// its events (`onEvent`), as the catalog harness does.

import { Membership } from '../../agent/membership/membership.ts'
import { decodeMessage, encodeMessage } from '../../agent/membership/codec.ts'
import { membershipConfig, lan, type MembershipConfig } from '../../agent/membership/config.ts'
import type { MemberInfo, MembershipEventType, MembershipMessage, MembershipOutput } from '../../agent/membership/types.ts'
import { SimEngine, mulberry32, type NetworkModel } from './engine.ts'

/** A message of another protocol sharing the simulated network (e.g. catalog replication). */
export class AppMessage {
  readonly body: unknown
  constructor (body: unknown) {
    this.body = body
  }
}

type Payload = MembershipMessage | Uint8Array | AppMessage

export interface RecordedEvent {
  atMs: number
  observer: string
  type: MembershipEventType
  member: string
  incarnation: number
}

export interface ClusterInit {
  seed: number
  config?: Partial<MembershipConfig>
  network?: Partial<NetworkModel>
  /** Encode and decode every message with the real codec (slower; checks sizes and shapes). */
  wire?: boolean
  /** Event types to keep in `events` (all are counted and traced); default all but 'join'. */
  keepEvents?: MembershipEventType[]
  keepTrace?: boolean
  /** Called with every membership event an agent outputs, after it is recorded. */
  onEvent?: (observer: string, type: MembershipEventType, member: MemberInfo) => void
  /** Receives the `AppMessage`s sent with `sendApp`. */
  onAppMessage?: (to: string, from: string, body: unknown, reliable: boolean) => void
  /** A reliable `sendApp` could not be delivered. */
  onAppFailed?: (from: string, to: string, body: unknown) => void
}

export interface SimAgent {
  /** The agent's address: its engine node id and its key in `agents` (its name unless set apart). */
  name: string
  membership: Membership
  sentMessages: number
  /** Tick timer currently armed in the engine (a later-armed earlier one supersedes it). */
  timerAtMs: number
}

export class MembershipCluster {
  readonly engine: SimEngine<Payload>
  readonly config: MembershipConfig
  readonly agents = new Map<string, SimAgent>()
  readonly events: RecordedEvent[] = []
  readonly eventCounts = new Map<MembershipEventType, number>()
  decodeErrors = 0
  private readonly wire: boolean
  private readonly keepEvents: ReadonlySet<MembershipEventType>
  private readonly init: ClusterInit
  private agentSeed: number

  constructor (init: ClusterInit) {
    this.engine = new SimEngine<Payload>({ seed: init.seed, network: init.network, keepTrace: init.keepTrace })
    this.config = membershipConfig(init.config ?? {}, lan)
    this.wire = init.wire ?? false
    this.keepEvents = new Set(init.keepEvents ?? ['update', 'suspect', 'alive', 'fail', 'leave', 'reap'])
    this.agentSeed = init.seed * 7919
    this.init = init
  }

  /**
   * Starts (or restarts, as a fresh process at incarnation 0) agent `name` now and joins `seeds`.
   * Its address is its name unless `addr` says otherwise; agents are keyed by address.
   */
  startAgent (name: string, seeds: string[] = [], options: { id?: string, meta?: Record<string, string>, addr?: string } = {}): SimAgent {
    const addr = options.addr ?? name
    const membership = new Membership({
      self: { name, id: options.id ?? `id-${name}`, addr, meta: options.meta ?? {} },
      config: this.config,
      random: mulberry32(this.agentSeed++)
    })
    const agent: SimAgent = { name: addr, membership, sentMessages: 0, timerAtMs: Number.POSITIVE_INFINITY }
    this.agents.set(addr, agent)
    this.engine.addNode(addr, {
      onMessage: (from, payload, reliable) => {
        if (payload instanceof AppMessage) {
          this.init.onAppMessage?.(addr, from, payload.body, reliable)
          return
        }
        let message: MembershipMessage
        if (payload instanceof Uint8Array) {
          try {
            message = decodeMessage(payload, this.config.maxReliableMessageBytes)
          } catch {
            this.decodeErrors++
            return
          }
        } else {
          message = payload
        }
        this.apply(agent, membership.receive(from, message, this.engine.nowMs))
      },
      onReliableFailed: (to, payload) => {
        if (payload instanceof AppMessage) this.init.onAppFailed?.(addr, to, payload.body)
        else this.apply(agent, membership.reliableFailed(to, this.engine.nowMs))
      },
      onResumed: pausedMs => { this.apply(agent, membership.reportLocalLag(pausedMs, this.engine.nowMs)) }
    })
    this.apply(agent, membership.start(this.engine.nowMs))
    if (seeds.length > 0) this.apply(agent, membership.join(seeds, this.engine.nowMs))
    return agent
  }

  /**
   * Starts agents a0..a{count-1}: a0 now, then one every staggerMs, each joining a0 (and, when
   * there is one, a random earlier agent, as an operator listing two seeds would).
   */
  startAgents (count: number, staggerMs: number): string[] {
    const names = Array.from({ length: count }, (_, i) => `a${i}`)
    this.startAgent(names[0])
    for (let i = 1; i < count; i++) {
      this.engine.schedule(this.engine.nowMs + i * staggerMs, () => {
        const other = names[Math.floor(this.engine.random() * i)]
        this.startAgent(names[i], other === names[0] ? [names[0]] : [names[0], other])
      })
    }
    return names
  }

  /**
   * Starts `count` agents that already know each other, as if they had joined long ago: each
   * merges one full-state push-pull outside the network, its join events not recorded. Lets
   * benchmarks start from a converged cluster of thousands without simulating the join storm.
   */
  bootstrapAgents (count: number): string[] {
    const names = Array.from({ length: count }, (_, i) => `a${i}`)
    const members = names.map(name => ({ name, id: `id-${name}`, addr: name, meta: {}, incarnation: 0, status: 'alive' as const }))
    for (let i = 0; i < count; i++) {
      const agent = this.startAgent(names[i])
      // A peer's full state, sender first, as a push-pull reply lists it.
      const peer = (i + 1) % count
      const state = [members[peer], ...members.slice(0, peer), ...members.slice(peer + 1)]
      agent.membership.receive(names[peer], { type: 'push-pull', join: false, reply: true, members: state }, this.engine.nowMs)
      this.arm(agent)
    }
    return names
  }

  /** Runs fn on agent `name` as an input (e.g. leave, updateMeta) and sends what it outputs. */
  input (name: string, fn: (membership: Membership, nowMs: number) => MembershipOutput[]): void {
    const agent = this.agent(name)
    this.apply(agent, fn(agent.membership, this.engine.nowMs))
  }

  /** Sends another protocol's message over the simulated network (lossy unless reliable). */
  sendApp (from: string, to: string, body: unknown, reliable: boolean): void {
    this.engine.send(from, to, new AppMessage(body), reliable)
  }

  crash (name: string): void {
    this.engine.crash(name)
  }

  agent (name: string): SimAgent {
    const agent = this.agents.get(name)
    if (agent === undefined) throw new Error(`no simulated agent ${name}`)
    return agent
  }

  liveNames (): string[] {
    return [...this.agents.keys()].filter(name => this.engine.isUp(name))
  }

  /** Every live agent sees every live agent (itself included) as alive, and nobody else as live. */
  converged (): boolean {
    const live = this.liveNames()
    for (const name of live) {
      const stats = this.agent(name).membership.stats()
      if (stats.liveMembers !== live.length) return false
    }
    for (const name of live) {
      const membership = this.agent(name).membership
      for (const other of live) if (membership.member(other)?.status !== 'alive') return false
    }
    return true
  }

  /** Status of `member` as seen by each live agent other than itself. */
  viewsOf (member: string): Array<MemberInfo['status'] | undefined> {
    return this.liveNames().filter(name => name !== member).map(name => this.agent(name).membership.member(member)?.status)
  }

  private apply (agent: SimAgent, outputs: MembershipOutput[]): void {
    const engine = this.engine
    for (const output of outputs) {
      if (output.kind === 'send') {
        agent.sentMessages++
        const limitBytes = output.reliable ? this.config.maxReliableMessageBytes : this.config.maxDatagramBytes
        engine.send(agent.name, output.to, this.wire ? encodeMessage(output.message, limitBytes) : output.message, output.reliable)
      } else {
        this.eventCounts.set(output.type, (this.eventCounts.get(output.type) ?? 0) + 1)
        engine.trace(`${agent.name} ${output.type} ${output.member.name}@${output.member.incarnation}`)
        if (this.keepEvents.has(output.type)) {
          this.events.push({ atMs: engine.nowMs, observer: agent.name, type: output.type, member: output.member.name, incarnation: output.member.incarnation })
        }
        this.init.onEvent?.(agent.name, output.type, output.member)
      }
    }
    this.arm(agent)
  }

  private arm (agent: SimAgent): void {
    const deadlineMs = agent.membership.nextDeadlineMs()
    if (deadlineMs === undefined || deadlineMs >= agent.timerAtMs) return
    const atMs = Math.max(deadlineMs, this.engine.nowMs)
    agent.timerAtMs = atMs
    const membership = agent.membership
    this.engine.setTimer(agent.name, atMs, () => {
      // A superseded timer (an earlier one was armed later) or one from a previous life does nothing.
      if (this.agents.get(agent.name) !== agent || agent.timerAtMs !== atMs) return
      agent.timerAtMs = Number.POSITIVE_INFINITY
      this.apply(agent, membership.tick(this.engine.nowMs))
    })
  }
}
