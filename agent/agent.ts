// The agent process and its composition root: this file builds every component from the
// configuration, each from a narrow components object holding only what it uses (no component
// receives the agent), and runs them through one ordered list of startables (agent/lifecycle.ts).
//
// Open (before any component is built, because they are built from it; closed after all stopped):
//   data dir → node identity → catalog (opened from LevelDB; a damaged one refuses the start,
//   or with --recover is salvaged: agent/catalog-data.ts) → libp2p node, listening. libp2p
//   listens first because the SWIM address the membership core is created with carries the port
//   it got (the OS's pick with `--bind host:0`); listening before composing, rather than handing
//   components a getter for the port, lets every component be built once, complete, up front.
// Start (each entry may rely on every entry above it being up):
//   udp → membership (sends over udp) → replication (peers come from membership) → peer
//   connections → intentions → CA (answers /mesh/ca over libp2p, asks membership who the servers
//   are) → checks → sidecars (need CA leaves and intentions) → local state (registrations no
//   request can name dropped, the config file's services, which need the checks running, then
//   every local entry republished) → HTTP (every
//   route's component is up) → DNS → join (everything is up before the cluster hears of us; a
//   server alone bootstraps the CA here).
// Stop is the reverse, so: a graceful leave (stop with `leave`) is announced and given time to
// spread before anything stops; join retries end first; DNS and HTTP close before the components
// they read or write stop (and long before the catalog closes); sidecars stop before the CA and
// intentions they use; checks stop before the catalog they write to closes; membership stops
// after replication and before udp; libp2p stops, then the catalog closes, then a temporary data
// dir is removed, after every component stopped.
// Reload (SIGHUP, PUT /v1/agent/reload) runs beside the list, not in it: the ConfigReloader gets the
// config loader, the config-file registration calls and a log-level setter, and applies a plan of
// the files' changes while every component is up (agent/reload.ts).

import { rmSync } from 'node:fs'
import type { Logger } from 'pino'
import type { FastifyInstance } from 'fastify'
import type { Catalog } from '../catalog/catalog.ts'
import { openAgentCatalog, RecoveryTracker } from './catalog-data.ts'
import type { AgentConfig } from './config.ts'
import { loadOrCreateNodeId, loadOrCreatePeerKey, prepareDataDir } from './identity.ts'
import { Lifecycle } from './lifecycle.ts'
import type { Startable } from './lifecycle.ts'
import { Membership } from './membership/membership.ts'
import { membershipConfig, presets } from './membership/config.ts'
import type { MemberInfo, MembershipEventType } from './membership/types.ts'
import { MembershipRunner } from './membership/runner.ts'
import { DatagramTransport } from './transport/datagram.ts'
import { createMeshNode } from './transport/libp2p.ts'
import type { MeshNode } from './transport/libp2p.ts'
import { Replication } from './sync/replication.ts'
import type { SyncPeer } from './sync/replication.ts'
import { PeerConnections } from './transport/peer-connections.ts'
import { ClusterJoin } from './membership/cluster-join.ts'
import { AgentDns } from './dns/agent-dns.ts'
import { buildHttpServer } from './http/server.ts'
import { registerAgentRoutes } from './http/agent-routes.ts'
import { AnswerCache } from './http/answer-cache.ts'
import { registerCatalogRoutes } from './http/catalog-routes.ts'
import { registerHealthRoutes } from './http/health-routes.ts'
import { registerReloadRoutes } from './http/reload-routes.ts'
import { ConfigReloader } from './reload.ts'
import { configRegistrations, localRegistrations } from './local/config-registrations.ts'
import type { ReloadSummary } from '../api/reload.ts'
import { AgentServices } from './services.ts'
import { dropUnaddressableRegistrations } from './local/unaddressable.ts'
import { VERSION } from './version.ts'
import { PortInUseError } from './errors.ts'

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

export interface AgentStartHooks {
  /** Called after a leave requested over HTTP completes, so the process can exit. */
  onShutdown?: () => void
  /** Loads the configuration afresh, as the start's was loaded; throws a ConfigError when it is invalid. */
  loadConfig: () => AgentConfig
}

/** What the components are built from, opened before any of them exists. */
interface Foundation {
  nodeId: string
  catalog: Catalog
  node: MeshNode
  /** The TCP port libp2p listens on; SWIM's UDP socket binds the same number. */
  gossipPort: number
  /** Stops libp2p, closes the catalog, removes a temporary data dir; a failure is logged and the rest still run. */
  close: () => Promise<void>
}

export class Agent {
  readonly config: AgentConfig
  readonly log: Logger
  private readonly onShutdown: (() => void) | undefined
  private readonly foundation: Foundation
  private readonly datagrams: DatagramTransport
  private readonly membership: MembershipRunner
  private readonly replication: Replication
  private readonly peers: PeerConnections
  private readonly services: AgentServices
  private readonly http: FastifyInstance
  private readonly dns: AgentDns
  private readonly join: ClusterJoin
  private readonly lifecycle: Lifecycle
  private readonly reloader: ConfigReloader
  private stopping: Promise<void> | undefined
  private readonly startedAtMs = Date.now()

  /**
   * Opens the foundation, builds the components and starts them; on failure, undoes what it did and
   * rethrows. `onShutdown` is called after a leave requested over HTTP completes, so the process can exit.
   * `loadConfig` loads the configuration again as it was loaded for `config` (a reload calls it).
   */
  static async start (config: AgentConfig, log: Logger, options: AgentStartHooks): Promise<Agent> {
    const foundation = await openFoundation(config, log)
    try {
      const agent = new Agent(config, log, foundation, options)
      await agent.lifecycle.start()
      return agent
    } catch (error) {
      await foundation.close()
      throw error
    }
  }

  private constructor (config: AgentConfig, log: Logger, foundation: Foundation, hooks: AgentStartHooks) {
    this.config = config
    this.log = log
    this.foundation = foundation
    this.onShutdown = hooks.onShutdown
    const { nodeId, catalog, node, gossipPort } = foundation
    const selfAddr = `${config.advertiseAddress.includes(':') ? `[${config.advertiseAddress}]` : config.advertiseAddress}:${gossipPort}`
    const livePeers = (): SyncPeer[] => this.livePeers()
    const members = (): MemberInfo[] => this.membership.members()

    const membershipLog = log.child({ component: 'mesh:membership' })
    const timing = membershipConfig({}, presets[config.membershipPreset])
    const core = new Membership({
      self: {
        name: config.nodeName,
        id: nodeId,
        addr: selfAddr,
        meta: { peer: node.peerId.toString(), role: config.server ? 'server' : 'client', dc: config.datacenter, build: VERSION },
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
    this.membership = new MembershipRunner(
      { selfAddr, maxDatagramBytes: 64 * 1024, maxReliableBytes: timing.maxReliableMessageBytes },
      { core, node, datagrams: this.datagrams, log: membershipLog, onEvent: (type, member) => this.onMembershipEvent(type, member) }
    )
    const recovery = catalog.recovering ? new RecoveryTracker(catalog, log.child({ component: 'mesh:agent' })) : undefined
    this.replication = new Replication(
      { syncIntervalMs: config.dev ? 2000 : 10_000 },
      {
        catalog,
        node,
        log: log.child({ component: 'mesh:replication' }),
        peers: livePeers,
        onSynced: recovery === undefined ? undefined : async (peer) => await recovery.synced(peer.name),
      }
    )
    this.peers = new PeerConnections({}, { node, log: log.child({ component: 'mesh:peers' }), candidates: livePeers })
    this.services = new AgentServices(config, { catalog, node, members, log: log.child({ component: 'mesh:local' }) })
    this.dns = new AgentDns(config, { catalog, log: log.child({ component: 'mesh:dns' }) })
    this.join = new ClusterJoin(
      { addresses: config.join, retryIntervalMs: config.retryJoinIntervalMs },
      {
        membership: this.membership,
        livePeers,
        syncWith: async (peer) => await this.replication.syncWith(peer),
        onClusterKnown: async () => await this.services.ca.bootstrapIfMissing(),
        log: log.child({ component: 'mesh:agent' }),
      }
    )
    // The root logger's level is the children's too: pino children without a level of their own read it.
    this.reloader = new ConfigReloader({ config }, {
      load: hooks.loadConfig,
      local: () => localRegistrations(catalog),
      registrations: configRegistrations(this.services.registration),
      setLogLevel: (level) => { log.level = level },
      log: log.child({ component: 'mesh:reload' }),
    })
    this.http = buildHttpServer({ log, limits: config.listenerLimits.http })
    this.registerRoutes(this.http)

    const udp: Startable = {
      start: async () => await listenOn('gossip (udp)', config.bindAddress, gossipPort, async () => await this.datagrams.start()),
      stop: async () => await this.datagrams.stop(),
    }
    // Nothing to undo on stop: registrations persist in the catalog, and the published entries are out.
    // While recovering, what survived is not re-versioned yet: a peer may hold a newer copy of it
    // (the update the damage lost), which must win; RecoveryTracker republishes once restored.
    const localState: Startable = {
      start: async () => {
        await dropUnaddressableRegistrations(catalog, log.child({ component: 'mesh:local' }))
        await this.services.registerConfigured()
        if (!catalog.recovering) await catalog.republishLocal()
      },
      stop: () => {},
    }
    const httpApi: Startable = {
      start: async () => await listenOn('HTTP', config.clientAddress, config.httpPort, async () => await this.http.listen({ host: config.clientAddress, port: config.httpPort })),
      stop: async () => await this.http.close(),
    }
    this.lifecycle = new Lifecycle([
      { name: 'udp', component: udp },
      { name: 'membership', component: this.membership },
      { name: 'replication', component: this.replication },
      { name: 'peer connections', component: this.peers },
      { name: 'intentions', component: this.services.policy },
      { name: 'ca', component: this.services.ca },
      { name: 'checks', component: this.services.checks },
      { name: 'sidecars', component: this.services.sidecars },
      { name: 'local state', component: localState },
      { name: 'http', component: httpApi },
      { name: 'dns', component: this.dns },
      { name: 'join', component: this.join },
    ], log.child({ component: 'mesh:agent' }))
  }

  /** The addresses this agent serves; read after start (ports may be the OS's picks). */
  get info (): AgentInfo {
    const { config, foundation } = this
    return {
      nodeName: config.nodeName,
      nodeId: foundation.nodeId,
      peerId: foundation.node.peerId.toString(),
      datacenter: config.datacenter,
      server: config.server,
      gossipAddress: config.advertiseAddress,
      gossipPort: foundation.gossipPort,
      httpAddress: config.clientAddress,
      httpPort: (this.http.server.address() as { port: number }).port,
      dnsAddress: this.dns.enabled ? config.clientAddress : undefined,
      dnsPort: this.dns.port,
      encrypted: config.encryptKey !== undefined,
    }
  }

  private registerRoutes (app: FastifyInstance): void {
    registerAgentRoutes(app, {
      members: () => this.membership.members(),
      self: () => this.self(),
      datacenter: this.config.datacenter,
      join: async (address) => await this.join.joinOnce(address),
      leave: async () => {
        await this.stop({ leave: true })
        this.onShutdown?.()
      },
      forceLeave: (node, prune) => this.membership.forceLeave(node, prune),
    })

    const answers = new AnswerCache()
    registerCatalogRoutes(app, { catalog: this.foundation.catalog, answers })
    registerHealthRoutes(app, { catalog: this.foundation.catalog, answers })
    this.services.registerRoutes(app)
    registerReloadRoutes(app, { reload: async () => await this.reload() })
  }

  /** Loads the config again and applies what changed (see agent/reload.ts); rejects naming the problem. */
  async reload (): Promise<ReloadSummary> {
    // A SIGHUP during shutdown must not write to a catalog that is closing.
    if (this.stopping !== undefined) throw new Error('the agent is shutting down; nothing was reloaded')
    return await this.reloader.reload()
  }

  /** The `/v1/agent/self` answer. */
  private self (): Record<string, unknown> {
    const { config, foundation } = this
    const member = this.membership.members().find((candidate) => candidate.name === config.nodeName)
    return {
      Config: {
        Datacenter: config.datacenter,
        PrimaryDatacenter: config.datacenter,
        NodeName: config.nodeName,
        NodeID: foundation.nodeId,
        Server: config.server,
        DefaultIntentionPolicy: config.defaultIntentionPolicy,
        Revision: '',
        Version: VERSION,
      },
      Member: member === undefined ? null : { Name: member.name, Addr: config.advertiseAddress, Port: foundation.gossipPort, Status: 1, Tags: member.meta },
      Meta: {},
      Stats: {
        agent: { uptime_seconds: String(Math.round((Date.now() - this.startedAtMs) / 1000)) },
        runtime: stringify(process.memoryUsage()),
        membership: { members: String(this.membership.members().length), ...stringify(this.membership.stats), ...stringify(this.membership.core.stats()) },
        udp: stringify(this.datagrams.stats),
        replication: stringify(this.replication.stats),
        catalog: { index: String(foundation.catalog.index) },
      },
      Mesh: {
        PeerID: foundation.node.peerId.toString(),
        Gossip: `${config.advertiseAddress}:${foundation.gossipPort}`,
        Encrypted: config.encryptKey !== undefined,
        // The level in effect: a reload may have changed it since start.
        LogLevel: this.log.level,
        ...this.services.selfStatus(),
      },
    }
  }

  /** Live members other than this agent, with what replication and gossipsub need to reach them. */
  private livePeers (): SyncPeer[] {
    const peers: SyncPeer[] = []
    for (const member of this.membership.members()) {
      if (member.name === this.config.nodeName || (member.status !== 'alive' && member.status !== 'suspect')) continue
      const peerId = member.meta.peer
      if (peerId !== undefined) peers.push({ name: member.name, addr: member.addr, peerId })
    }
    return peers
  }

  /** What membership means to the catalog (node liveness) and to replication (catch a newcomer up). */
  private onMembershipEvent (type: MembershipEventType, member: MemberInfo): void {
    this.log.child({ component: 'mesh:membership' }).info({ member: member.name, addr: member.addr, status: member.status, incarnation: member.incarnation }, `member ${type}`)
    if (member.name === this.config.nodeName) return
    const liveness = type === 'fail' ? 'failed' : type === 'leave' ? 'left' : type === 'reap' ? 'reaped' : type === 'suspect' ? undefined : 'alive'
    if (liveness !== undefined) {
      this.foundation.catalog.setNodeLiveness(member.name, liveness).catch((error: Error) => this.log.warn({ err: error.message }, 'catalog liveness update failed'))
    }
    if (type === 'join' && member.meta.peer !== undefined) {
      this.peers.maintain()
      // A few agents (not all N) push-pull with a newcomer at once so it catches up quickly.
      const live = this.livePeers().length
      if (Math.random() < Math.min(1, 3 / Math.max(1, live))) void this.replication.syncWith({ name: member.name, addr: member.addr, peerId: member.meta.peer })
    }
  }

  /** Stops everything in reverse start order; with `leave`, first tells the cluster (others see `left`). */
  async stop (options: { leave?: boolean } = {}): Promise<void> {
    this.stopping ??= (async () => {
      // No join retry may re-announce this agent while it leaves; the list's own stop of it is then a no-op.
      this.join.stop()
      if (options.leave === true) {
        try {
          await this.membership.leave(this.config.dev ? 300 : 1000)
        } catch (error) {
          this.log.warn({ err: (error as Error).message }, 'graceful leave failed')
        }
      }
      // A reload in progress finishes its writes before the components it writes through stop.
      await this.reloader.settled()
      await this.lifecycle.stop()
      await this.foundation.close()
    })()
    await this.stopping
  }
}

/**
 * Prepares the data dir, loads the node's identity, opens the catalog and has libp2p listen. What
 * was opened is closed again when a later step fails, so a failed start leaves nothing behind.
 */
async function openFoundation (config: AgentConfig, log: Logger): Promise<Foundation> {
  prepareDataDir(config.dataDir)
  const removeTemporaryDataDir = (): void => {
    if (config.dataDirIsTemporary) rmSync(config.dataDir, { recursive: true, force: true })
  }
  let catalog: Catalog | undefined
  try {
    const nodeId = loadOrCreateNodeId(config.dataDir)
    const peerKey = await loadOrCreatePeerKey(config.dataDir)
    catalog = await openAgentCatalog({
      dataDir: config.dataDir,
      recover: config.recover,
      sync: config.catalogSync,
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
    const node = await createMeshNode({
      privateKey: peerKey,
      bindAddress: config.bindAddress,
      port: config.bindPort,
      advertiseAddress: config.advertiseAddress,
      clusterKey: config.encryptKey,
      listenerLimits: config.listenerLimits.gossip,
      log: log.child({ component: 'mesh:libp2p' }),
    })
    await listenOn('gossip', config.bindAddress, config.bindPort, async () => await node.start())
    const gossipPort = Number(node.getMultiaddrs()[0]?.toString().match(/\/tcp\/(\d+)/)?.[1] ?? config.bindPort)
    return { nodeId, catalog, node, gossipPort, close: foundationCloser(node, catalog, removeTemporaryDataDir, log) }
  } catch (error) {
    await catalog?.close().catch(() => {})
    removeTemporaryDataDir()
    throw error
  }
}

/** `Foundation.close`: the foundation in reverse opening order, every step tried. */
function foundationCloser (node: MeshNode, catalog: Catalog, removeTemporaryDataDir: () => void, log: Logger): () => Promise<void> {
  const steps: Array<[string, () => void | Promise<void>]> = [
    ['libp2p', async () => await node.stop()],
    ['catalog', async () => await catalog.close()],
    ['data dir', removeTemporaryDataDir],
  ]
  return async () => {
    for (const [name, step] of steps) {
      try {
        await step()
      } catch (error) {
        log.warn({ startable: name, err: (error as Error).message }, 'component stop failed')
      }
    }
  }
}

/** Runs `listen`; a port already taken becomes a PortInUseError naming what could not listen. */
async function listenOn (what: string, address: string, port: number, listen: () => Promise<unknown>): Promise<void> {
  try {
    await listen()
  } catch (error) {
    if (isAddressInUse(error)) throw new PortInUseError(what, address, port)
    throw error
  }
}

function isAddressInUse (error: unknown): boolean {
  const text = `${(error as NodeJS.ErrnoException)?.code ?? ''} ${(error as Error)?.message ?? ''}`
  return text.includes('EADDRINUSE') || text.includes('address already in use')
}

function stringify (record: object): Record<string, string> {
  return Object.fromEntries(Object.entries(record).map(([key, value]) => [key, String(value)]))
}
