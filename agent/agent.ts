// The agent process: builds every component from the configuration, starts them in order
// (data dir → catalog → libp2p and UDP → membership → replication → HTTP → DNS → checks → CA →
// sidecars) and stops them in reverse. Components talk through narrow interfaces; this file is
// only wiring, plus the few policies that belong to the agent (what membership means to the catalog).

import { rmSync } from 'node:fs'
import { lookup } from 'node:dns/promises'
import { isIP } from 'node:net'
import { join } from 'node:path'
import type { Logger } from 'pino'
import type { FastifyInstance } from 'fastify'
import { Catalog } from '../catalog/catalog.ts'
import type { Entry } from '../catalog/entry.ts'
import type { AgentConfig } from './config.ts'
import { loadOrCreateNodeId, loadOrCreatePeerKey, prepareDataDir } from './identity.ts'
import { Membership } from './membership/membership.ts'
import { membershipConfig, presets } from './membership/config.ts'
import type { MemberInfo, MembershipEventType } from './membership/types.ts'
import { MembershipRunner } from './membership-runner.ts'
import { DatagramTransport } from './transport/datagram.ts'
import { createMeshNode } from './transport/libp2p.ts'
import type { MeshNode } from './transport/libp2p.ts'
import { Replication } from './replication.ts'
import type { SyncPeer } from './replication.ts'
import { PeerConnections } from './peer-connections.ts'
import { buildHttpServer } from './http/server.ts'
import { registerAgentRoutes } from './http/agent-routes.ts'
import { AnswerCache } from './http/answer-cache.ts'
import { registerCatalogRoutes } from './http/catalog-routes.ts'
import { registerHealthRoutes } from './http/health-routes.ts'

import { AgentServices } from './services.ts'
import { VERSION } from './version.ts'
import { JoinError, PortInUseError } from './errors.ts'

export interface AgentInfo {
  nodeName: string
  nodeId: string
  peerId: string
  datacenter: string
  server: boolean
  gossipAddress: string
  gossipPort: number
  httpAddress: string
  httpPort: number
  dnsAddress: string | undefined
  dnsPort: number | undefined
  encrypted: boolean
}

function isAddressInUse (error: unknown): boolean {
  const text = `${(error as NodeJS.ErrnoException)?.code ?? ''} ${(error as Error)?.message ?? ''}`
  return text.includes('EADDRINUSE') || text.includes('address already in use')
}

export class Agent {
  readonly config: AgentConfig
  readonly log: Logger
  info!: AgentInfo
  catalog!: Catalog
  node!: MeshNode
  membership!: MembershipRunner
  replication!: Replication
  services!: AgentServices
  private datagrams!: DatagramTransport
  private peers!: PeerConnections
  private http!: FastifyInstance
  private readonly stopHooks: Array<() => Promise<void> | void> = []
  private stopping: Promise<void> | undefined
  private joinTimer: NodeJS.Timeout | undefined
  private readonly startedAtMs = Date.now()
  /** Called after a leave requested over HTTP completes, so the process can exit. */
  onShutdown: (() => void) | undefined

  constructor (config: AgentConfig, log: Logger) {
    this.config = config
    this.log = log
  }

  static async start (config: AgentConfig, log: Logger): Promise<Agent> {
    const agent = new Agent(config, log)
    try {
      await agent.startComponents()
    } catch (error) {
      await agent.stop().catch(() => {})
      throw error
    }
    return agent
  }

  private async startComponents (): Promise<void> {
    const config = this.config
    const log = this.log
    prepareDataDir(config.dataDir)
    if (config.dataDirIsTemporary) this.stopHooks.push(() => rmSync(config.dataDir, { recursive: true, force: true }))
    const nodeId = loadOrCreateNodeId(config.dataDir)
    const peerKey = await loadOrCreatePeerKey(config.dataDir)

    this.catalog = await Catalog.open({
      path: join(config.dataDir, 'catalog'),
      self: {
        Node: config.nodeName,
        ID: nodeId,
        Address: config.advertiseAddress,
        Datacenter: config.datacenter,
        TaggedAddresses: { lan: config.advertiseAddress, lan_ipv4: config.advertiseAddress, wan: config.advertiseAddress, wan_ipv4: config.advertiseAddress },
        Meta: { 'consul-network-segment': '' },
      },
      log: log.child({ component: 'mesh:catalog' }),
    })
    this.stopHooks.push(async () => await this.catalog.close())

    this.node = await createMeshNode({
      privateKey: peerKey,
      bindAddress: config.bindAddress,
      port: config.bindPort,
      advertiseAddress: config.advertiseAddress,
      clusterKey: config.encryptKey,
      log: log.child({ component: 'mesh:libp2p' }),
    })
    try {
      await this.node.start()
    } catch (error) {
      if (isAddressInUse(error)) throw new PortInUseError('gossip', config.bindAddress, config.bindPort)
      throw error
    }
    this.stopHooks.push(async () => await this.node.stop())
    const gossipPort = Number(this.node.getMultiaddrs()[0]?.toString().match(/\/tcp\/(\d+)/)?.[1] ?? config.bindPort)
    const selfAddr = `${config.advertiseAddress.includes(':') ? `[${config.advertiseAddress}]` : config.advertiseAddress}:${gossipPort}`

    const membershipLog = log.child({ component: 'mesh:membership' })
    const timing = membershipConfig({}, presets[config.membershipPreset])
    const core = new Membership({
      self: {
        name: config.nodeName,
        id: nodeId,
        addr: selfAddr,
        meta: { peer: this.node.peerId.toString(), role: config.server ? 'server' : 'client', dc: config.datacenter, build: VERSION },
      },
      config: timing,
      random: Math.random,
      log: membershipLog,
    })
    this.datagrams = new DatagramTransport({
      bindAddress: config.bindAddress,
      port: gossipPort,
      key: config.encryptKey,
      log: membershipLog,
      onMessage: (payload, from) => this.membership.receiveDatagram(payload, from),
    })
    try {
      await this.datagrams.start()
    } catch (error) {
      if (isAddressInUse(error)) throw new PortInUseError('gossip (udp)', config.bindAddress, gossipPort)
      throw error
    }
    this.stopHooks.push(async () => await this.datagrams.stop())
    this.membership = new MembershipRunner({
      core,
      node: this.node,
      datagrams: this.datagrams,
      selfAddr,
      maxDatagramBytes: 64 * 1024,
      maxReliableBytes: timing.maxReliableMessageBytes,
      log: membershipLog,
      onEvent: (type, member) => this.onMembershipEvent(type, member),
    })

    this.replication = new Replication({
      catalog: this.catalog,
      node: this.node,
      log: log.child({ component: 'mesh:replication' }),
      peers: () => this.livePeers(),
      syncIntervalMs: config.dev ? 2000 : 10_000,
    })
    this.peers = new PeerConnections({ node: this.node, log: log.child({ component: 'mesh:peers' }), candidates: () => this.livePeers() })
    await this.membership.start()
    this.stopHooks.push(async () => await this.membership.stop())
    await this.replication.start()
    this.stopHooks.push(async () => await this.replication.stop())
    this.peers.start()
    this.stopHooks.push(() => this.peers.stop())

    this.services = new AgentServices({ agent: this, log: log.child({ component: 'mesh:local' }) })
    await this.services.start()
    this.stopHooks.push(async () => await this.services.stop())
    this.replication.publish(await this.catalog.republishLocal())

    this.http = buildHttpServer({ log })
    this.registerRoutes(this.http)
    try {
      await this.http.listen({ host: config.clientAddress, port: config.httpPort })
    } catch (error) {
      if (isAddressInUse(error)) throw new PortInUseError('HTTP', config.clientAddress, config.httpPort)
      throw error
    }
    this.stopHooks.push(async () => await this.http.close())
    const httpPort = (this.http.server.address() as { port: number }).port

    const dns = await this.services.startDns()

    this.info = {
      nodeName: config.nodeName,
      nodeId,
      peerId: this.node.peerId.toString(),
      datacenter: config.datacenter,
      server: config.server,
      gossipAddress: config.advertiseAddress,
      gossipPort,
      httpAddress: config.clientAddress,
      httpPort,
      dnsAddress: dns === undefined ? undefined : config.clientAddress,
      dnsPort: dns?.port,
      encrypted: config.encryptKey !== undefined,
    }
    if (config.join.length > 0) this.startJoining(config.join)
    else await this.services.ca.bootstrapIfMissing()
  }

  private registerRoutes (app: FastifyInstance): void {
    registerAgentRoutes(app, {
      members: () => this.membership.members(),
      self: () => this.self(),
      datacenter: this.config.datacenter,
      join: async (address) => await this.joinOnce(address),
      leave: async () => {
        await this.stop({ leave: true })
        this.onShutdown?.()
      },
      forceLeave: (node, prune) => this.membership.forceLeave(node, prune),
    })

    const answers = new AnswerCache()
    registerCatalogRoutes(app, { catalog: this.catalog, answers })
    registerHealthRoutes(app, { catalog: this.catalog, answers })
    this.services.registerRoutes(app)
  }

  self (): Record<string, unknown> {
    const member = this.membership.members().find((candidate) => candidate.name === this.config.nodeName)
    return {
      Config: {
        Datacenter: this.config.datacenter,
        PrimaryDatacenter: this.config.datacenter,
        NodeName: this.config.nodeName,
        NodeID: this.info?.nodeId,
        Server: this.config.server,
        DefaultIntentionPolicy: this.config.defaultIntentionPolicy,
        Revision: '',
        Version: VERSION,
      },
      Member: member === undefined ? null : { Name: member.name, Addr: this.config.advertiseAddress, Port: this.info?.gossipPort, Status: 1, Tags: member.meta },
      Meta: {},
      Stats: {
        agent: { uptime_seconds: String(Math.round((Date.now() - this.startedAtMs) / 1000)) },
        runtime: stringify(process.memoryUsage()),
        membership: { members: String(this.membership.members().length), ...stringify(this.membership.stats), ...stringify(this.membership.core.stats()) },
        udp: stringify(this.datagrams.stats),
        replication: stringify(this.replication.stats),
        catalog: { index: String(this.catalog.index) },
      },
      Mesh: {
        PeerID: this.info?.peerId,
        Gossip: `${this.info?.gossipAddress}:${this.info?.gossipPort}`,
        Encrypted: this.config.encryptKey !== undefined,
        ...this.services.selfStatus(),
      },
    }
  }

  /** Live members other than this agent, with what replication and gossipsub need to reach them. */
  livePeers (): SyncPeer[] {
    const peers: SyncPeer[] = []
    for (const member of this.membership.members()) {
      if (member.name === this.config.nodeName || (member.status !== 'alive' && member.status !== 'suspect')) continue
      const peerId = member.meta.peer
      if (peerId !== undefined) peers.push({ name: member.name, addr: member.addr, peerId })
    }
    return peers
  }

  /** Publishes entries produced by a local catalog write. */
  publish (entries: Entry[]): void {
    this.replication.publish(entries)
  }

  private onMembershipEvent (type: MembershipEventType, member: MemberInfo): void {
    this.log.child({ component: 'mesh:membership' }).info({ member: member.name, addr: member.addr, status: member.status, incarnation: member.incarnation }, `member ${type}`)
    if (member.name === this.config.nodeName) return
    const liveness = type === 'fail' ? 'failed' : type === 'leave' ? 'left' : type === 'reap' ? 'reaped' : type === 'suspect' ? undefined : 'alive'
    if (liveness !== undefined) {
      this.catalog.setNodeLiveness(member.name, liveness).catch((error: Error) => this.log.warn({ err: error.message }, 'catalog liveness update failed'))
    }
    if (type === 'join' && member.meta.peer !== undefined) {
      this.peers.maintain()
      // A few agents (not all N) push-pull with a newcomer at once so it catches up quickly.
      const live = this.livePeers().length
      if (Math.random() < Math.min(1, 3 / Math.max(1, live))) void this.replication.syncWith({ name: member.name, addr: member.addr, peerId: member.meta.peer })
    }
  }

  /** Joins through `address` and waits until a member answers (or 5 s pass). */
  async joinOnce (target: string): Promise<number> {
    const address = await resolveHostPort(target)
    const before = this.membership.members().length
    this.membership.join([address])
    const deadline = Date.now() + 5000
    while (Date.now() < deadline) {
      const members = this.membership.members()
      if (members.some((member) => member.addr === address) || members.length > before) {
        const seed = this.livePeers().find((peer) => peer.addr === address) ?? this.livePeers()[0]
        if (seed !== undefined) await this.replication.syncWith(seed)
        return 1
      }
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    throw new JoinError(address, 'no answer within 5s')
  }

  /** `--join`: retried with backoff (capped at the retry interval) until one address answers. */
  private startJoining (addresses: string[]): void {
    const log = this.log.child({ component: 'mesh:agent' })
    let attempt = 0
    const tryJoin = async (): Promise<void> => {
      attempt++
      for (const address of addresses) {
        try {
          await this.joinOnce(address)
          log.info({ address, attempt }, 'joined the cluster')
          await this.services.ca.bootstrapIfMissing()
          return
        } catch (error) {
          log.warn({ address, attempt, err: (error as Error).message }, 'join failed, will retry')
        }
      }
      if (this.stopping !== undefined) return
      const delayMs = Math.min(this.config.retryJoinIntervalMs, 500 * 2 ** Math.min(attempt, 10))
      this.joinTimer = setTimeout(() => { void tryJoin() }, delayMs)
    }
    void tryJoin()
  }

  /** Stops everything in reverse order; with `leave`, first tells the cluster (others see `left`). */
  async stop (options: { leave?: boolean } = {}): Promise<void> {
    this.stopping ??= (async () => {
      clearTimeout(this.joinTimer)
      if (options.leave === true && this.membership !== undefined) {
        try {
          await this.membership.leave(this.config.dev ? 300 : 1000)
        } catch (error) {
          this.log.warn({ err: (error as Error).message }, 'graceful leave failed')
        }
      }
      for (const hook of this.stopHooks.reverse()) {
        try {
          await hook()
        } catch (error) {
          this.log.warn({ err: (error as Error).message }, 'component stop failed')
        }
      }
    })()
    await this.stopping
  }
}

/** "host:port" with a host name resolved to an IP address (membership speaks addresses only). */
async function resolveHostPort (target: string): Promise<string> {
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

function stringify (record: object): Record<string, string> {
  return Object.fromEntries(Object.entries(record).map(([key, value]) => [key, String(value)]))
}
