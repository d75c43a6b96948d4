// The shapes the membership core exchanges with its adapter: members, messages, outputs.
// Addresses are opaque strings ("host:port") to the core; the adapter gives them meaning.

export type MemberStatus = 'alive' | 'suspect' | 'dead' | 'left'

export interface MemberInfo {
  name: string
  id: string
  /** "host:port" of the member's datagram socket; the adapter maps it to a stream peer too. */
  addr: string
  meta: Record<string, string>
  incarnation: number
  status: MemberStatus
  statusChangedAtMs: number
}

export interface SelfInfo {
  name: string
  id: string
  addr: string
  meta: Record<string, string>
}

/** One piece of membership news, piggybacked on datagrams. */
export type GossipEntry =
  | { type: 'alive', name: string, id: string, addr: string, meta: Record<string, string>, incarnation: number }
  | { type: 'suspect', name: string, incarnation: number, from: string }
  /** `from === name` means the member left gracefully; otherwise `from` declared it failed. */
  | { type: 'dead', name: string, incarnation: number, from: string }

/** A member as carried in a push-pull full-state exchange. */
export interface MemberState {
  name: string
  id: string
  addr: string
  meta: Record<string, string>
  incarnation: number
  status: MemberStatus
}

export type MembershipMessage =
  /** Direct probe; only the member named `target` answers (another process may hold the address now). */
  | { type: 'ping', seq: number, target: string, gossip: GossipEntry[] }
  /** Asks the receiver to probe `target` at `targetAddr` and relay the ack, or a nack on timeout. */
  | { type: 'ping-req', seq: number, target: string, targetAddr: string, gossip: GossipEntry[] }
  | { type: 'ack', seq: number, gossip: GossipEntry[] }
  /** The relay got no ack from the target in time: the requester's own path is probably fine. */
  | { type: 'nack', seq: number, gossip: GossipEntry[] }
  | { type: 'gossip', gossip: GossipEntry[] }
  /** Full state (reliable), the sender first; `reply: false` asks the receiver to answer with its own. */
  | { type: 'push-pull', join: boolean, reply: boolean, members: MemberState[] }

export type MembershipEventType = 'join' | 'update' | 'suspect' | 'alive' | 'fail' | 'leave' | 'reap'

export type MembershipOutput =
  /** reliable: send over a stream (libp2p); otherwise as one datagram. */
  | { kind: 'send', to: string, reliable: boolean, message: MembershipMessage }
  | { kind: 'event', type: MembershipEventType, member: MemberInfo }
