// Every timing and size default of the membership protocol, in one place, with the presets
// `lan` (the default), `wan` and `dev` built from one base. docs/membership.md explains the maths.

import { MembershipConfigError } from './errors.ts'

export interface MembershipConfig {
  /**
   * Time between two probes started by this agent (randomized round-robin over the members).
   * A dead member is first probed after about probeIntervalMs (one of N probers hits it each
   * round), so detection ≈ probeIntervalMs + suspicion. Smaller detects faster but costs
   * 2 datagrams (ping+ack) per interval per agent. Scaled up by the awareness score. Must be > 0.
   */
  probeIntervalMs: number
  /**
   * How long to wait for a direct ack before asking k others to probe indirectly. Must cover a
   * round trip plus the peer's scheduling delay; too small sends needless indirect probes, too
   * large leaves no time for them before the probe interval ends. Must be > 0 and < probeIntervalMs.
   */
  probeTimeoutMs: number
  /** k: members asked to probe indirectly after a missed ack. More = fewer false suspicions from lossy paths, more traffic; 0 disables indirect probes. */
  indirectChecks: number
  /**
   * Suspicion minimum = suspicionMult × max(1, log10(N)) × probeIntervalMs: the time a suspected
   * member has to refute once enough peers confirm. Larger = fewer false positives under lag,
   * slower detection. Must be > 0.
   */
  suspicionMult: number
  /** Suspicion maximum = suspicionMaxTimeoutMult × minimum: the timeout with no confirmation (Lifeguard). 1 disables the shrinking. */
  suspicionMaxTimeoutMult: number
  /**
   * Independent confirmations that shrink a suspicion from its maximum to its minimum (Lifeguard's
   * k, memberlist uses suspicionMult − 2). Capped at N − 2. 0 means the minimum applies at once.
   */
  suspicionConfirmations: number
  /** Time between gossip rounds; a round sends queued broadcasts to gossipNodes random members, nothing when the queue is empty. Must be > 0. */
  gossipIntervalMs: number
  /** Members sent each gossip round. Spread takes ≈ log(N)/log(gossipNodes+1) rounds. 0 disables gossip (push-pull only). */
  gossipNodes: number
  /** Dead members still get gossip for this long, so a falsely declared member hears and refutes it. 0 never gossips to the dead. */
  gossipToTheDeadMs: number
  /** Each broadcast is sent retransmitMult × ceil(log10(N + 1)) times; higher = more reliable under loss, more traffic. Must be ≥ 1. */
  retransmitMult: number
  /**
   * Base period of full state exchange with one random alive member, scaled like memberlist's
   * pushPullScale (× (1 + ceil(log2 N − log2 32)) above 32 members). It heals what gossip missed.
   * 0 disables periodic push-pull (joins still use it).
   */
  pushPullIntervalMs: number
  /** Period of an attempt to push-pull with one random dead member, which heals partitions. 0 disables. */
  reconnectIntervalMs: number
  /**
   * Period of a ping datagram to one random dead member. Its ack means the member is reachable
   * again (a partition healed, or it restarted on its address), and a push-pull with it follows at
   * once, so a heal is noticed within about one period instead of one reconnect interval. Costs one
   * datagram per period while some member is dead, nothing otherwise. 0 disables.
   */
  deadProbeIntervalMs: number
  /** Awareness scores run 0..awarenessMaxMultiplier−1; probe interval and timeout are scaled by score+1. 1 disables Lifeguard's local health. */
  awarenessMaxMultiplier: number
  /** Event-loop lag at or above this (reported by the adapter) raises the awareness score by one. */
  localLagThresholdMs: number
  /**
   * A tick running this much later than its deadline means this agent stalled: expiry decisions
   * (probe failures, suspicion timeouts) are put off until pending input has been read, because
   * the answer that would have prevented them is often waiting in the socket. 0 disables it.
   */
  lateTickToleranceMs: number
  /** Dead (failed) members are kept, and reconnected to, for this long, then reaped (default 72 h like serf). 0 reaps at once. */
  reconnectTimeoutMs: number
  /** Members that left gracefully are kept as tombstones this long, then reaped. 0 reaps at once. */
  tombstoneTimeoutMs: number
  /** A name whose member is dead or left may be taken by another id after this long; 0 means at once. */
  deadNodeReclaimTimeMs: number
  /** Byte budget of one datagram, piggybacked gossip included (below a typical 1500 MTU). */
  maxDatagramBytes: number
  /** Byte budget of one reliable (stream) message such as a push-pull; at most 512 KiB. */
  maxReliableMessageBytes: number
  /** Upper bound on the member table, so a peer announcing endless names cannot exhaust memory. */
  maxMembers: number
  /** Indirect probes this agent relays at once for others; more are refused (bounded memory). */
  maxPendingRelays: number
}

const base: MembershipConfig = {
  probeIntervalMs: 500,
  probeTimeoutMs: 300,
  indirectChecks: 3,
  suspicionMult: 1.5,
  suspicionMaxTimeoutMult: 3,
  suspicionConfirmations: 3,
  gossipIntervalMs: 100,
  gossipNodes: 3,
  gossipToTheDeadMs: 30_000,
  retransmitMult: 6,
  pushPullIntervalMs: 15_000,
  reconnectIntervalMs: 10_000,
  deadProbeIntervalMs: 1000,
  awarenessMaxMultiplier: 8,
  localLagThresholdMs: 150,
  lateTickToleranceMs: 50,
  reconnectTimeoutMs: 72 * 3600_000,
  tombstoneTimeoutMs: 24 * 3600_000,
  deadNodeReclaimTimeMs: 0,
  maxDatagramBytes: 1400,
  maxReliableMessageBytes: 512 * 1024,
  maxMembers: 20_000,
  maxPendingRelays: 1024
}

/** Datacenter LAN: sub-millisecond links, agents on busy machines. Detects in ≈ 2–3 s at 50 agents. */
export const lan: Readonly<MembershipConfig> = Object.freeze({ ...base })

/** Across regions: round trips of 100–300 ms and more loss, so slower probes and longer suspicion. */
export const wan: Readonly<MembershipConfig> = Object.freeze({
  ...base,
  probeIntervalMs: 3000,
  probeTimeoutMs: 1500,
  suspicionMult: 4,
  gossipIntervalMs: 300,
  gossipNodes: 4,
  pushPullIntervalMs: 60_000,
  reconnectIntervalMs: 30_000,
  deadProbeIntervalMs: 3000,
  lateTickToleranceMs: 200
})

/** A laptop or a test: fast timers, short tombstones; not for real clusters. */
export const dev: Readonly<MembershipConfig> = Object.freeze({
  ...base,
  probeIntervalMs: 200,
  probeTimeoutMs: 100,
  gossipIntervalMs: 50,
  pushPullIntervalMs: 10_000,
  reconnectIntervalMs: 2000,
  deadProbeIntervalMs: 500,
  reconnectTimeoutMs: 60_000,
  tombstoneTimeoutMs: 30_000
})

export const presets = { lan, wan, dev } as const

/** The preset with overrides applied, validated; throws MembershipConfigError naming the field. */
export function membershipConfig (overrides: Partial<MembershipConfig> = {}, preset: Readonly<MembershipConfig> = lan): MembershipConfig {
  const config: MembershipConfig = { ...preset, ...overrides }
  for (const [field, value] of Object.entries(config)) {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      throw new MembershipConfigError(`${field} must be a finite number ≥ 0, got ${String(value)}`)
    }
  }
  const positive: Array<keyof MembershipConfig> = ['probeIntervalMs', 'probeTimeoutMs', 'suspicionMult', 'gossipIntervalMs', 'retransmitMult', 'awarenessMaxMultiplier', 'suspicionMaxTimeoutMult', 'maxDatagramBytes', 'maxReliableMessageBytes', 'maxMembers']
  for (const field of positive) {
    if (config[field] <= 0) throw new MembershipConfigError(`${field} must be > 0`)
  }
  if (config.probeTimeoutMs >= config.probeIntervalMs) throw new MembershipConfigError('probeTimeoutMs must be < probeIntervalMs')
  if (config.suspicionMaxTimeoutMult < 1) throw new MembershipConfigError('suspicionMaxTimeoutMult must be ≥ 1')
  if (config.maxReliableMessageBytes > 512 * 1024) throw new MembershipConfigError('maxReliableMessageBytes must be ≤ 512 KiB')
  if (config.maxDatagramBytes < 512) throw new MembershipConfigError('maxDatagramBytes must be ≥ 512')
  return config
}
