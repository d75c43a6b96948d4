// The agent's libp2p node: TCP with noise and yamux, identify and ping, gossipsub for fan-out,
// and — with a cluster key — a private network (pnet) so a peer without the key cannot complete a
// connection. libp2p's own logs are bridged into pino by libp2p-log.ts.

import { createLibp2p } from 'libp2p'
import type { Libp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { gossipsub } from '@libp2p/gossipsub'
import type { GossipSub } from '@libp2p/gossipsub'
import { preSharedKey } from '@libp2p/pnet'
import { multiaddr } from '@multiformats/multiaddr'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { PrivateKey } from '@libp2p/interface'
import type { Logger } from 'pino'
import { Server as NetServer } from 'node:net'
import { monotonicClock } from '../../api/clock.ts'
import { DEFAULT_LISTENER_LIMITS, guardServer } from '../../api/connection-limits.ts'
import type { ConnectionLimits } from '../../api/connection-limits.ts'
import { bridgeLibp2pLogger } from './libp2p-log.ts'

export const TOPIC_CATALOG = 'mesh/catalog/1'
export const TOPIC_EVENTS = 'mesh/events/1'
export const GOSSIP_MAX_MESSAGE_BYTES = 1024 * 1024

/** A libp2p pnet pre-shared key file built from the 32-byte cluster key. */
export function clusterKeyToPsk (key: Uint8Array): Uint8Array {
  return new TextEncoder().encode('/key/swarm/psk/1.0.0/\n/base16/\n' + Buffer.from(key).toString('hex'))
}

/** `/ip4/127.0.0.1/tcp/8301[/p2p/<id>]` from "127.0.0.1:8301". */
export function toMultiaddr (hostPort: string, peerId?: string): Multiaddr {
  const separator = hostPort.lastIndexOf(':')
  const host = hostPort.slice(0, separator).replace(/^\[|\]$/g, '')
  const port = hostPort.slice(separator + 1)
  const family = host.includes(':') ? 'ip6' : 'ip4'
  return multiaddr(`/${family}/${host}/tcp/${port}${peerId === undefined ? '' : `/p2p/${peerId}`}`)
}

export interface MeshNodeInit {
  privateKey: PrivateKey
  bindAddress: string
  port: number
  advertiseAddress: string
  clusterKey: Uint8Array | undefined
  log: Logger
  /** Most connections kept open (gossipsub keeps a handful; syncs and joins open more for a while). */
  maxConnections?: number
  /** Limits of the TCP listener (config `limits.rpc_*`); default DEFAULT_LISTENER_LIMITS.gossip. */
  listenerLimits?: ConnectionLimits
}

type TcpTransportFactory = ReturnType<typeof tcp>

/**
 * libp2p's TCP transport with its listener behind the listener guard (api/connection-limits.ts):
 * socket caps in all and per address, the first byte within the handshake deadline (the dialer
 * speaks first: the pnet nonce or multistream-select), idle sockets closed. libp2p does not expose
 * the listener's net.Server, so it is read from the listener object; if a libp2p release renames
 * it, start fails loudly rather than running unguarded.
 */
function guardedTcp (limits: ConnectionLimits, log: Logger): TcpTransportFactory {
  const factory = tcp()
  return ((components: Parameters<TcpTransportFactory>[0]) => {
    const transport = factory(components)
    const createListener = transport.createListener.bind(transport)
    transport.createListener = (options) => {
      const listener = createListener(options)
      const server = (listener as unknown as { server?: unknown }).server
      if (!(server instanceof NetServer)) throw new Error('libp2p TCP listener has no net.Server to guard (libp2p internals changed)')
      guardServer(server, { listener: 'gossip', limits, handshake: 'first-byte', clock: monotonicClock, log })
      return listener
    }
    return transport
  }) as TcpTransportFactory
}

export type MeshNode = Libp2p<{ pubsub: GossipSub }>

export async function createMeshNode (init: MeshNodeInit): Promise<MeshNode> {
  const family = init.bindAddress.includes(':') ? 'ip6' : 'ip4'
  const limits = init.listenerLimits ?? DEFAULT_LISTENER_LIMITS.gossip
  const node = await createLibp2p({
    privateKey: init.privateKey,
    logger: bridgeLibp2pLogger(init.log),
    addresses: {
      listen: [`/${family}/${init.bindAddress}/tcp/${init.port}`],
    },
    transports: [guardedTcp(limits, init.log)],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    ...(init.clusterKey === undefined ? {} : { connectionProtector: preSharedKey({ psk: clusterKeyToPsk(init.clusterKey) }) }),
    connectionManager: {
      maxConnections: init.maxConnections ?? 128,
      // libp2p's default (5 new inbound connections per second per IP) refuses joins when many
      // agents share one address — several agents on one host, or a NAT — and a refused join waits
      // for the retry interval; a joining cluster of 50 agents needs far more than 5 per second.
      inboundConnectionThreshold: 256,
      maxIncomingPendingConnections: 64,
      // Noise (and pnet) must be done within the handshake deadline: Consul's rpc_handshake_timeout.
      ...(limits.handshakeTimeoutMs > 0 ? { inboundUpgradeTimeout: limits.handshakeTimeoutMs } : {}),
    },
    // SWIM already decides liveness, with Lifeguard's care against false alarms; libp2p's own
    // monitor would ping every open connection every 10 s (a stream, a negotiation and a peer-store
    // write each), which was the largest part of an idle agent's CPU in a 20-agent cluster.
    connectionMonitor: { enabled: false },
    services: {
      identify: identify(),
      ping: ping(),
      pubsub: gossipsub({
        allowPublishToZeroTopicPeers: true,
        emitSelf: false,
        allowedTopics: [TOPIC_CATALOG, TOPIC_EVENTS],
        maxInboundDataLength: GOSSIP_MAX_MESSAGE_BYTES,
        heartbeatInterval: 1000,
        // gossipsub's default scoring punishes many peers behind one IP address (weight −5 past 10
        // peers), which silently cut agents sharing a host or a NAT out of the mesh: at 50 agents on
        // one host, deltas then arrived only through anti-entropy. Members are admitted by SWIM and
        // the cluster key, not by IP diversity, so that penalty is off.
        scoreParams: { IPColocationFactorWeight: 0 },
      }),
    },
    start: false,
  })
  return node as unknown as MeshNode
}
