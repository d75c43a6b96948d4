// Keeps this agent connected to a few live peers so gossipsub has a mesh to publish through.
// SWIM itself needs no connections (datagrams); gossipsub only forwards to connected peers, so
// without this a new agent would hear catalog deltas only through anti-entropy. A handful of random
// connections per agent makes the overlay connected with high probability at any cluster size.

import type { Logger } from 'pino'
import type { MeshNode } from './libp2p.ts'
import { toMultiaddr } from './libp2p.ts'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Startable } from '../lifecycle.ts'

export interface PeerCandidate { name: string, addr: string, peerId: string }

export interface PeerConnectionsInit {
  /** Connections to keep open. */
  targetPeers?: number
  checkIntervalMs?: number
}

export interface PeerConnectionsComponents {
  node: MeshNode
  log: Logger
  /** Live members to dial. */
  candidates: () => PeerCandidate[]
  random?: () => number
}

export class PeerConnections implements Startable {
  private readonly init: PeerConnectionsInit & PeerConnectionsComponents
  private timer: NodeJS.Timeout | undefined
  private readonly dialing = new Set<string>()

  constructor (init: PeerConnectionsInit, components: PeerConnectionsComponents) {
    this.init = { ...init, ...components }
  }

  start (): void {
    this.timer = setInterval(() => this.maintain(), this.init.checkIntervalMs ?? 2000)
    this.timer.unref()
  }

  stop (): void {
    clearInterval(this.timer)
  }

  /** Dials random candidates until `targetPeers` are connected. Cheap when already there. */
  maintain (): void {
    const target = this.init.targetPeers ?? 6
    const connected = new Set(this.init.node.getPeers().map((peer) => peer.toString()))
    const candidates = this.init.candidates().filter((candidate) => !connected.has(candidate.peerId) && !this.dialing.has(candidate.peerId))
    let missing = target - connected.size - this.dialing.size
    const random = this.init.random ?? Math.random
    while (missing > 0 && candidates.length > 0) {
      const [candidate] = candidates.splice(Math.floor(random() * candidates.length), 1)
      missing--
      this.dial(candidate)
    }
  }

  private dial (candidate: PeerCandidate): void {
    let address
    try {
      peerIdFromString(candidate.peerId)
      address = toMultiaddr(candidate.addr, candidate.peerId)
    } catch {
      return
    }
    this.dialing.add(candidate.peerId)
    this.init.node.dial(address, { signal: AbortSignal.timeout(5000) })
      .catch((error: Error) => this.init.log.debug({ peer: candidate.name, err: error.message }, 'gossip peer dial failed'))
      .finally(() => this.dialing.delete(candidate.peerId))
  }
}
