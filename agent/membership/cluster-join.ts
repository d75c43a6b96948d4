// How this agent finds its cluster. With `--join` addresses it retries them with backoff (capped
// at the retry interval) until one answers; `/v1/agent/join` joins through one address at once.
// Addresses may be host names: each attempt resolves them again. A join counts once a member
// answers, and is followed by a push-pull with it so the catalog catches up before the caller
// hears back. `onClusterKnown` runs once the agent knows its cluster:
// at start when there is nothing to join, else after each successful `--join` round.

import { lookup } from 'node:dns/promises'
import { isIP } from 'node:net'
import type { Logger } from 'pino'
import { JoinError } from '../errors.ts'
import type { Startable } from '../lifecycle.ts'
import type { MembershipRunner } from './runner.ts'
import type { SyncPeer } from '../sync/replication.ts'

const JOIN_ANSWER_TIMEOUT_MS = 5000
const JOIN_POLL_INTERVAL_MS = 50
const FIRST_RETRY_DELAY_MS = 500

export interface ClusterJoinInit {
  /** `--join` addresses ("host:port"); empty when this agent starts a cluster or waits to be joined. */
  addresses: string[]
  /** Upper bound of the delay between two rounds over the addresses. */
  retryIntervalMs: number
}

export interface ClusterJoinComponents {
  membership: Pick<MembershipRunner, 'join' | 'members'>
  livePeers: () => SyncPeer[]
  syncWith: (peer: SyncPeer) => Promise<void>
  onClusterKnown: () => Promise<void>
  log: Logger
  /** Host name to address, as getaddrinfo sees it (/etc/hosts, then DNS); default dns.lookup. */
  lookup?: HostLookup
}

export type HostLookup = (host: string) => Promise<{ address: string, family: number }>

export class ClusterJoin implements Startable {
  private readonly init: ClusterJoinInit
  private readonly components: ClusterJoinComponents
  private retryTimer: NodeJS.Timeout | undefined
  private stopped = false

  constructor (init: ClusterJoinInit, components: ClusterJoinComponents) {
    this.init = init
    this.components = components
  }

  /** Alone, runs `onClusterKnown` before resolving; with `--join`, starts the retries in the background. */
  async start (): Promise<void> {
    if (this.init.addresses.length === 0) await this.components.onClusterKnown()
    else void this.retryJoin(1)
  }

  stop (): void {
    this.stopped = true
    clearTimeout(this.retryTimer)
  }

  /** Joins through `target` and waits until a member answers (or 5 s pass). */
  async joinOnce (target: string): Promise<number> {
    const { membership, livePeers, syncWith } = this.components
    const address = await resolveHostPort(target, this.components.lookup ?? lookup)
    const before = membership.members().length
    membership.join([address])
    const deadline = Date.now() + JOIN_ANSWER_TIMEOUT_MS
    while (Date.now() < deadline) {
      const members = membership.members()
      if (members.some((member) => member.addr === address) || members.length > before) {
        const seed = livePeers().find((peer) => peer.addr === address) ?? livePeers()[0]
        if (seed !== undefined) await syncWith(seed)
        return 1
      }
      await new Promise((resolve) => setTimeout(resolve, JOIN_POLL_INTERVAL_MS))
    }
    throw new JoinError(address, 'no answer within 5s')
  }

  private async retryJoin (attempt: number): Promise<void> {
    const log = this.components.log
    for (const address of this.init.addresses) {
      try {
        await this.joinOnce(address)
        log.info({ address, attempt }, 'joined the cluster')
        await this.components.onClusterKnown()
        return
      } catch (error) {
        log.warn({ address, attempt, err: (error as Error).message }, 'join failed, will retry')
      }
    }
    if (this.stopped) return
    const delayMs = Math.min(this.init.retryIntervalMs, FIRST_RETRY_DELAY_MS * 2 ** Math.min(attempt, 10))
    this.retryTimer = setTimeout(() => { void this.retryJoin(attempt + 1) }, delayMs)
  }
}

/**
 * "host:port" with a host name resolved to an IP address (membership speaks addresses only).
 * Resolved at every attempt, so a name that appears later (a container starting) is found by a
 * later retry; the first address getaddrinfo answers is used.
 */
async function resolveHostPort (target: string, lookup: HostLookup): Promise<string> {
  const separator = target.lastIndexOf(':')
  const host = target.slice(0, separator).replace(/^\[|\]$/g, '')
  if (isIP(host) !== 0) return target
  try {
    const { address, family } = await lookup(host)
    return `${family === 6 ? `[${address}]` : address}:${target.slice(separator + 1)}`
  } catch (error) {
    throw new JoinError(target, `cannot resolve ${host}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`)
  }
}
