// Connects the CA manager (agent/connect) to the cluster. The CA's replicated state lives in the
// catalog as the cluster-wide entry ca/state; the cluster's trust domain comes with it, so a
// client agent knows its trust domain only once it has synced. A server agent with no CA state
// after start-up (alone, or after its first join) bootstraps the root under a new cluster UUID.
// `/mesh/ca/1.0.0` carries intermediate CSRs to servers and root keys between servers; only
// members whose membership role is `server` get a root key.

import { randomUUID } from 'node:crypto'
import type { Logger } from 'pino'
import { CaNotReadyError } from '../../ca/errors.ts'
import { ConnectCA } from './manager.ts'
import type { RootKeyBundle } from './manager.ts'
import type { CaReplicatedState } from './state.ts'
import type { CaRoutesCa } from '../http/ca-routes.ts'
import type { Catalog } from '../../catalog/catalog.ts'
import type { Startable } from '../lifecycle.ts'
import type { MemberInfo } from '../membership/types.ts'
import type { MeshNode } from '../transport/libp2p.ts'
import { toMultiaddr } from '../transport/libp2p.ts'
import { handleRequests, request } from '../transport/request.ts'
import { isRecord } from '../../api/guards.ts'

export const PROTOCOL_CA = '/mesh/ca/1.0.0'
const KIND_CA = 'ca'
const KEY_STATE = 'state'
const REQUEST_TIMEOUT_MS = 10_000

export interface AgentCAInit {
  nodeName: string
  datacenter: string
  /** Server agents bootstrap the root and hold its key; clients only request intermediates. */
  server: boolean
  dataDir: string
}

export interface AgentCAComponents {
  catalog: Pick<Catalog, 'onChange' | 'clusterEntry' | 'putClusterEntry' | 'localServices'>
  node: MeshNode
  /** The membership view: who is a live server, and who a requester is. */
  members: () => MemberInfo[]
  log: Logger
}

export class AgentCA implements CaRoutesCa, Startable {
  private readonly init: AgentCAInit
  private readonly components: AgentCAComponents
  private readonly log: Logger
  private manager: ConnectCA | undefined
  private unsubscribe: (() => void) | undefined
  private readonly listeners = new Set<() => void>()
  private fetchingRootKey = false

  constructor (init: AgentCAInit, components: AgentCAComponents) {
    this.init = init
    this.components = components
    this.log = components.log
  }

  async start (): Promise<void> {
    await handleRequests(this.components.node, PROTOCOL_CA, async (message, connection) => await this.answer(message, connection.remotePeer.toString()), this.log)
    this.unsubscribe = this.components.catalog.onChange((change) => {
      if (change.kinds.includes(KIND_CA)) void this.adoptReplicated()
    })
    await this.adoptReplicated()
  }

  async stop (): Promise<void> {
    this.unsubscribe?.()
    this.manager?.stop()
    await this.components.node.unhandle(PROTOCOL_CA).catch(() => {})
  }

  /** Server agents call this when they are sure the cluster has no CA yet (alone, or joined and synced). */
  async bootstrapIfMissing (): Promise<void> {
    if (!this.init.server || this.replicatedState() !== undefined || this.manager !== undefined) return
    const manager = this.createManager(randomUUID())
    await manager.start()
    this.manager = manager
    const state = await manager.bootstrap()
    this.log.info({ trustDomain: state.trustDomain }, 'created the cluster CA root')
    await this.publish(state)
  }

  /** Called when the CA's leaves or roots change, so sidecars rebuild their TLS material. */
  onChange (listener: () => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  status (): Record<string, unknown> {
    if (this.manager === undefined) return { state: 'waiting-for-root' }
    return { ...this.manager.status(), trustDomain: this.manager.trustDomain }
  }

  get trustDomain (): string | undefined { return this.manager?.trustDomain }

  private require (): ConnectCA {
    if (this.manager === undefined) throw new CaNotReadyError('the cluster CA is not known to this agent yet (no server has bootstrapped it, or this agent has not synced)')
    return this.manager
  }

  // CaRoutesCa: the HTTP routes' view.
  roots (): ReturnType<ConnectCA['roots']> { return this.require().roots() }
  get rootsSource (): ConnectCA['rootsSource'] { return this.require().rootsSource }
  leaf (service: string): ReturnType<ConnectCA['leaf']> { return this.require().leaf(service) }
  leafSource (service: string): ReturnType<ConnectCA['leafSource']> { return this.require().leafSource(service) }
  rootsPem (): string[] { return this.require().rootsPem() }
  configuration (): unknown { return this.require().configuration() }
  async setConfiguration (configuration: unknown): Promise<unknown> {
    const state = await this.require().setConfiguration(configuration)
    await this.publish(state)
    return state
  }

  async rotate (): Promise<unknown> {
    const state = await this.require().rotate()
    await this.publish(state)
    return state
  }

  private replicatedState (): CaReplicatedState | undefined {
    return this.components.catalog.clusterEntry(KIND_CA, KEY_STATE)?.value as CaReplicatedState | undefined
  }

  private async publish (state: CaReplicatedState): Promise<void> {
    await this.components.catalog.putClusterEntry(KIND_CA, KEY_STATE, state)
    for (const listener of this.listeners) listener()
  }

  private createManager (clusterId: string): ConnectCA {
    return new ConnectCA({
      nodeName: this.init.nodeName,
      datacenter: this.init.datacenter,
      clusterId,
      server: this.init.server,
      dataDir: this.init.dataDir,
      requestIntermediate: async (csrPem, options) => await this.requestIntermediate(csrPem, options.signal),
      isLocalService: (service) => this.components.catalog.localServices().some((record) => record.Service === service),
      publish: (state) => { void this.publish(state) },
      log: this.log,
    })
  }

  /** Adopts the replicated state; a different trust domain (a lost bootstrap race) replaces the manager. */
  private async adoptReplicated (): Promise<void> {
    const state = this.replicatedState()
    if (state === undefined || typeof state.trustDomain !== 'string' || !state.trustDomain.endsWith('.consul')) return
    if (this.manager !== undefined && this.manager.trustDomain !== state.trustDomain) {
      this.log.warn({ from: this.manager.trustDomain, to: state.trustDomain }, 'the cluster CA changed trust domain; re-issuing under it')
      this.manager.stop()
      this.manager = undefined
    }
    if (this.manager === undefined) {
      const manager = this.createManager(state.trustDomain.slice(0, -'.consul'.length))
      await manager.start()
      this.manager = manager
    }
    try {
      this.manager.applyRoots(state)
    } catch (error) {
      this.log.warn({ err: (error as Error).message }, 'ignored an invalid replicated CA state')
      return
    }
    for (const listener of this.listeners) listener()
    if (this.init.server && this.manager.status().holdsRootKey !== true) void this.fetchRootKey()
  }

  private serverPeers (): Array<{ name: string, addr: string, peerId: string }> {
    const servers = this.components.members().filter((member) =>
      member.name !== this.init.nodeName && member.status === 'alive' && member.meta.role === 'server' && member.meta.peer !== undefined)
    return servers.map((member) => ({ name: member.name, addr: member.addr, peerId: member.meta.peer })).sort(() => Math.random() - 0.5)
  }

  private async requestIntermediate (csrPem: string, signal: AbortSignal | undefined): Promise<string> {
    const servers = this.serverPeers()
    if (servers.length === 0) throw new Error('no server agent is reachable')
    let lastError: Error | undefined
    for (const server of servers) {
      try {
        const answer = await request(this.components.node, toMultiaddr(server.addr, server.peerId), PROTOCOL_CA, { v: 1, type: 'sign', csr: csrPem }, {
          signal: signal === undefined ? AbortSignal.timeout(REQUEST_TIMEOUT_MS) : AbortSignal.any([signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]),
        })
        if (!isRecord(answer) || typeof answer.chain !== 'string') throw new Error(isRecord(answer) && typeof answer.error === 'string' ? answer.error : 'malformed answer')
        return answer.chain
      } catch (error) {
        lastError = error as Error
      }
    }
    throw lastError ?? new Error('no server signed the request')
  }

  private async fetchRootKey (): Promise<void> {
    if (this.fetchingRootKey) return
    this.fetchingRootKey = true
    try {
      for (const server of this.serverPeers()) {
        try {
          const answer = await request(this.components.node, toMultiaddr(server.addr, server.peerId), PROTOCOL_CA, { v: 1, type: 'root-key' }, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })
          if (!isRecord(answer) || !isRecord(answer.bundle)) continue
          await this.manager?.importRootKey(answer.bundle as unknown as RootKeyBundle)
          this.log.info({ from: server.name }, 'received the CA root key from another server')
          return
        } catch (error) {
          this.log.debug({ from: server.name, err: (error as Error).message }, 'root key request failed')
        }
      }
    } finally {
      this.fetchingRootKey = false
    }
  }

  /** Server side of /mesh/ca/1.0.0. The requester is named by its authenticated peer id, never by the message. */
  private async answer (message: unknown, peerId: string): Promise<unknown> {
    if (!isRecord(message) || message.v !== 1) throw new Error('unsupported CA message')
    const requester = this.components.members().find((member) => member.meta.peer === peerId && member.status === 'alive')
    if (requester === undefined) return { error: 'requester is not a live member of this cluster' }
    const manager = this.require()
    try {
      if (message.type === 'sign') {
        if (typeof message.csr !== 'string' || message.csr.length > 16_384) return { error: 'missing or oversized CSR' }
        return { chain: manager.signIntermediateRequest(message.csr, requester.name) }
      }
      if (message.type === 'root-key') {
        if (requester.meta.role !== 'server') return { error: 'only server agents receive the root key' }
        return { bundle: manager.exportRootKeyForServer() }
      }
    } catch (error) {
      return { error: (error as Error).message }
    }
    return { error: 'unknown CA request' }
  }
}
