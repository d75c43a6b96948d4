// When and with whom anti-entropy runs: the decisions of the periodic push-pull, apart from the
// transport that carries it (agent/sync/replication.ts over libp2p, test/sim/catalog-harness.ts over
// the simulator). Like Consul's anti-entropy, the interval grows with the cluster so the total
// sync load stays flat: interval × max(1, log2(peers / 32) + 1), jittered by ×[0.5, 1.5) so
// agents started together do not sync in lockstep. The partner is a uniformly random live peer.

/** Peers up to which the base interval applies unscaled. */
const UNSCALED_PEERS = 32

export function syncDelayMs (syncIntervalMs: number, peerCount: number, random: () => number): number {
  const scale = Math.max(1, Math.log2(Math.max(1, peerCount) / UNSCALED_PEERS) + 1)
  return syncIntervalMs * scale * (0.5 + random())
}

export function pickSyncPeer<P> (peers: readonly P[], random: () => number): P | undefined {
  return peers[Math.floor(random() * peers.length)]
}
