// Groups the construction of the agent's local-service components: local registrations and their
// health checks, intentions and config entries, the CA and the sidecar proxies, each built from the
// narrow components it needs. agent.ts starts and stops them (this group has no life cycle of its
// own); this file also registers their HTTP routes and the services and checks of the config file.

import type { FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import type { Catalog } from '../catalog/catalog.ts'
import { CheckManager } from './local/checks/manager.ts'
import type { LocalCatalog } from './local/local-catalog.ts'
import { configRegistrations } from './local/config-registrations.ts'
import type { LocalRegistrationDeps } from './local/register.ts'
import { probeListenPort } from './local/port-probe.ts'
import type { MemberInfo } from './membership/types.ts'
import type { MeshNode } from './transport/libp2p.ts'
import { registerAgentServiceRoutes } from './http/agent-service-routes.ts'
import type { AgentConfig } from './config.ts'
import { AgentPolicy } from './connect/policy.ts'
import { AgentCA } from './connect/cluster-ca.ts'
import { SidecarManager } from './connect/sidecars.ts'
import { parseDurationMs } from '../api/duration.ts'
import { badRequest, notFound } from './http/errors.ts'
import { registerIntentionRoutes } from './http/intentions-routes.ts'
import { registerConfigRoutes } from './http/config-routes.ts'
import { registerCaRoutes } from './http/ca-routes.ts'
import { registerProxySnapshotRoutes } from './http/proxy-snapshot-routes.ts'
import { combinedSource } from './http/blocking.ts'

export type AgentServicesInit = Pick<AgentConfig,
  'nodeName' | 'advertiseAddress' | 'datacenter' | 'server' | 'dataDir' | 'enableScriptChecks' | 'defaultIntentionPolicy' | 'services' | 'checks' | 'listenerLimits'>

export interface AgentServicesComponents {
  catalog: Catalog
  node: MeshNode
  members: () => MemberInfo[]
  log: Logger
}

export class AgentServices {
  private readonly init: AgentServicesInit
  private readonly catalog: Catalog
  readonly localCatalog: LocalCatalog
  readonly checks: CheckManager
  readonly registration: LocalRegistrationDeps
  readonly policy: AgentPolicy
  readonly ca: AgentCA
  readonly sidecars: SidecarManager

  constructor (init: AgentServicesInit, components: AgentServicesComponents) {
    this.init = init
    this.catalog = components.catalog
    const { catalog, node, members, log } = components
    this.localCatalog = catalog
    this.checks = new CheckManager(
      { log, enableScriptChecks: init.enableScriptChecks, nodeName: init.nodeName },
      { catalog: this.localCatalog }
    )
    this.policy = new AgentPolicy({ defaultPolicy: init.defaultIntentionPolicy }, { catalog, log: log.child({ component: 'mesh:intentions' }) })
    this.ca = new AgentCA(
      { nodeName: init.nodeName, datacenter: init.datacenter, server: init.server, dataDir: init.dataDir },
      { catalog, node, members, log: log.child({ component: 'mesh:connect-ca' }) }
    )
    this.sidecars = new SidecarManager(
      {
        nodeAddress: init.advertiseAddress,
        datacenter: init.datacenter,
        listenerLimits: {
          inbound: init.listenerLimits.sidecarInbound,
          upstream: init.listenerLimits.sidecarUpstream,
          tcpIdleTimeoutMs: init.listenerLimits.tcpProxyIdleTimeoutMs,
        },
      },
      { catalog, ca: this.ca, policy: this.policy, listenerHealth: this.checks, log: log.child({ component: 'mesh:sidecars' }) }
    )
    this.registration = {
      catalog: this.localCatalog,
      checks: this.checks,
      enableScriptChecks: init.enableScriptChecks,
      nodeName: init.nodeName,
      nodeAddress: init.advertiseAddress,
      probePort: probeListenPort,
    }
  }

  /** (Re-)registers the services and checks of the config file; needs the checks started. */
  async registerConfigured (): Promise<void> {
    const writes = configRegistrations(this.registration)
    for (const [index, service] of this.init.services.entries()) await writes.registerService(service, `services[${index}]`)
    for (const [index, check] of this.init.checks.entries()) await writes.registerCheck(check, `checks[${index}]`)
  }

  registerRoutes (app: FastifyInstance): void {
    registerAgentServiceRoutes(app, { ...this.registration, checks: this.checks, datacenter: this.init.datacenter })
    registerIntentionRoutes(app, this.policy.intentionRouteDeps())
    registerConfigRoutes(app, this.policy.configRouteDeps())
    registerCaRoutes(app, { ca: this.ca })
    // Consul's metrics endpoint; mesh serves the sidecars' Prometheus metrics there.
    app.get('/v1/agent/metrics', async (_request, reply) => {
      reply.type('text/plain; version=0.0.4; charset=utf-8').send(await this.sidecars.metrics())
    })
    // mesh-only: a standalone `mesh proxy --sidecar-for` takes a sidecar over from the agent.
    app.put('/v1/mesh/proxy/:id/claim', {
      schema: {
        params: { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 256 } } },
        querystring: { type: 'object', properties: { ttl: { type: 'string', maxLength: 32 } } },
      },
    }, async (request) => {
      const { id } = request.params as { id: string }
      const { ttl } = request.query as { ttl?: string }
      let ttlMs = 30_000
      if (ttl !== undefined) {
        try { ttlMs = parseDurationMs(ttl) } catch (error) { throw badRequest(`invalid ttl: ${(error as Error).message}`) }
        if (ttlMs < 1000 || ttlMs > 600_000) throw badRequest('ttl must be between 1s and 10m')
      }
      if (!this.sidecars.claim(id, ttlMs)) throw notFound(`no connect-proxy service "${id}" on this agent`)
      return { ProxyID: id, ExpiresAt: new Date(Date.now() + ttlMs).toISOString() }
    })
    app.delete('/v1/mesh/proxy/:id/claim', {
      schema: { params: { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 256 } } } },
    }, async (request) => {
      this.sidecars.release((request.params as { id: string }).id)
      return true
    })
    // mesh-only: the snapshot a standalone `mesh proxy --sidecar-for` runs, blocking until it moves.
    registerProxySnapshotRoutes(app, {
      destinationOf: (proxyId) => {
        const service = this.catalog.localService(proxyId)
        return service?.Kind === 'connect-proxy' ? service.Proxy?.DestinationServiceName : undefined
      },
      source: (destination) => {
        // Asked for its side effect: the destination's leaf is issued (or reused from the cache) so
        // that its source exists to move, and this throws while the CA is not ready (the route's 503).
        this.ca.leaf(destination)
        return combinedSource(this.catalog, this.ca.leafSource(destination))
      },
      snapshot: (proxyId) => this.sidecars.build(proxyId),
      intentions: this.policy.intentions,
    })
    app.get('/v1/mesh/traces', async () => this.sidecars.sidecars().map(({ id, sidecar }) => ({ Proxy: id, Spans: sidecar.traces() })))
  }

  selfStatus (): Record<string, unknown> {
    return { CA: this.ca.status() }
  }
}
