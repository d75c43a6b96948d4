// The agent's optional and local-service components, started after the core (catalog, membership,
// replication): local registrations and their health checks, the DNS server, the CA, intentions and
// sidecar proxies. DNS and proxy code is imported only when enabled, to keep an agent that does not
// use them small.

import type { FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import type { Agent } from './agent.ts'
import { CheckManager } from './checks/manager.ts'
import type { LocalCatalog } from './local/local-catalog.ts'
import { registerCheckPayload, registerServicePayload } from './local/register.ts'
import type { LocalRegistrationDeps } from './local/register.ts'
import { registerAgentServiceRoutes } from './http/agent-service-routes.ts'
import { publishingCatalog } from './publishing-catalog.ts'
import { ConfigError } from './config.ts'
import { AgentPolicy } from './policy.ts'
import { AgentCA } from './agent-ca.ts'
import { SidecarManager } from './sidecars.ts'
import { parseDurationMs } from '../api/duration.ts'
import { badRequest, notFound } from './http/errors.ts'
import { registerIntentionRoutes } from './http/intentions-routes.ts'
import { registerConfigRoutes } from './http/config-routes.ts'
import { registerCaRoutes } from './http/ca-routes.ts'
import { registerProxySnapshotRoutes } from './http/proxy-snapshot-routes.ts'
import { combinedSource } from './http/blocking.ts'
import { PortInUseError } from './errors.ts'

export interface AgentServicesInit {
  agent: Agent
  log: Logger
}

export class AgentServices {
  private readonly init: AgentServicesInit
  private readonly stopHooks: Array<() => Promise<void> | void> = []
  readonly localCatalog: LocalCatalog
  readonly checks: CheckManager
  readonly registration: LocalRegistrationDeps
  readonly policy: AgentPolicy
  readonly ca: AgentCA
  readonly sidecars: SidecarManager

  constructor (init: AgentServicesInit) {
    this.init = init
    const { agent, log } = init
    this.localCatalog = publishingCatalog(agent.catalog, (entries) => agent.publish(entries))
    this.checks = new CheckManager(
      { log, enableScriptChecks: agent.config.enableScriptChecks, nodeName: agent.config.nodeName },
      { catalog: this.localCatalog }
    )
    this.policy = new AgentPolicy({
      catalog: agent.catalog,
      publish: (entries) => agent.publish(entries),
      defaultPolicy: agent.config.defaultIntentionPolicy,
      log: log.child({ component: 'mesh:intentions' }),
    })
    this.ca = new AgentCA(agent, log.child({ component: 'mesh:connect-ca' }))
    this.sidecars = new SidecarManager({ agent, ca: this.ca, policy: this.policy, log: log.child({ component: 'mesh:sidecars' }) })
    this.registration = {
      catalog: this.localCatalog,
      checks: this.checks,
      enableScriptChecks: agent.config.enableScriptChecks,
      nodeName: agent.config.nodeName,
      nodeAddress: agent.config.advertiseAddress,
    }
  }

  /** Starts persisted checks, then (re-)registers the services and checks of the config file. */
  async start (): Promise<void> {
    this.stopHooks.push(() => this.policy.stop())
    await this.ca.start()
    this.stopHooks.push(async () => await this.ca.stop())
    this.checks.start()
    this.stopHooks.push(() => this.checks.stop())
    this.sidecars.start()
    this.stopHooks.push(async () => await this.sidecars.stop())
    const config = this.init.agent.config
    for (const [index, service] of config.services.entries()) {
      try {
        await registerServicePayload(this.registration, service)
      } catch (error) {
        throw new ConfigError(`services[${index}]: ${(error as Error).message}`)
      }
    }
    for (const [index, check] of config.checks.entries()) {
      try {
        await registerCheckPayload(this.registration, check)
      } catch (error) {
        throw new ConfigError(`checks[${index}]: ${(error as Error).message}`)
      }
    }
  }

  registerRoutes (app: FastifyInstance): void {
    const config = this.init.agent.config
    registerAgentServiceRoutes(app, { ...this.registration, checks: this.checks, datacenter: config.datacenter })
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
        const service = this.init.agent.catalog.localService(proxyId)
        return service?.Kind === 'connect-proxy' ? service.Proxy?.DestinationServiceName : undefined
      },
      source: (destination) => {
        this.ca.leaf(destination)
        return combinedSource(this.init.agent.catalog, this.ca.leafSource(destination))
      },
      snapshot: (proxyId) => this.sidecars.build(proxyId),
      intentions: this.policy.intentions,
    })
    app.get('/v1/mesh/traces', async () => this.sidecars.sidecars().map(({ id, sidecar }) => ({ Proxy: id, Spans: sidecar.traces() })))
  }

  selfStatus (): Record<string, unknown> {
    return { CA: this.ca.status() }
  }

  async startDns (): Promise<{ port: number } | undefined> {
    const config = this.init.agent.config
    if (config.dnsPort === -1) return undefined
    const [{ DnsServer }, { dnsCatalogView }] = await Promise.all([import('./dns/server.ts'), import('./dns-catalog-view.ts')])
    const server = new DnsServer({
      view: dnsCatalogView(this.init.agent.catalog),
      bindAddress: config.clientAddress,
      port: config.dnsPort,
      domain: config.domain,
      altDomain: config.altDomain,
      nodeTtlS: config.dnsNodeTtlSeconds,
      serviceTtlOverrides: config.dnsServiceTtlSeconds,
      onlyPassing: config.dnsOnlyPassing,
      recursors: config.recursors,
      log: this.init.log.child({ component: 'mesh:dns' }),
    })
    let address
    try {
      address = await server.start()
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      if (code === 'EADDRINUSE') throw new PortInUseError('DNS', config.clientAddress, config.dnsPort)
      throw error
    }
    this.stopHooks.push(async () => await server.stop())
    return { port: address.udpPort }
  }

  async stop (): Promise<void> {
    for (const hook of this.stopHooks.reverse()) await hook()
  }
}
