// Runs the DNS server (agent/dns) over the agent's catalog when DNS is enabled (a port other than
// -1). The DNS code is imported on start and only then, to keep an agent that does not serve DNS
// small; this is also why the server is created on start and not in the constructor.

import type { Logger } from 'pino'
import type { Catalog } from '../../catalog/catalog.ts'
import type { AgentConfig } from '../config.ts'
import { PortInUseError } from '../errors.ts'
import type { Startable } from '../lifecycle.ts'

export type AgentDnsInit = Pick<AgentConfig,
  'dnsPort' | 'clientAddress' | 'domain' | 'altDomain' | 'dnsNodeTtlSeconds' | 'dnsServiceTtlSeconds' | 'dnsOnlyPassing' | 'recursors' | 'listenerLimits'>

export interface AgentDnsComponents {
  catalog: Catalog
  log: Logger
}

export class AgentDns implements Startable {
  private readonly init: AgentDnsInit
  private readonly components: AgentDnsComponents
  private server: { stop(): Promise<void> } | undefined
  /** The UDP port served (the OS's pick for port 0); undefined before start or when disabled. */
  port: number | undefined

  constructor (init: AgentDnsInit, components: AgentDnsComponents) {
    this.init = init
    this.components = components
  }

  get enabled (): boolean { return this.init.dnsPort !== -1 }

  async start (): Promise<void> {
    if (!this.enabled) return
    const init = this.init
    const [{ DnsServer }, { dnsCatalogView }] = await Promise.all([import('./server.ts'), import('./catalog-view.ts')])
    const server = new DnsServer({
      view: dnsCatalogView(this.components.catalog),
      bindAddress: init.clientAddress,
      port: init.dnsPort,
      domain: init.domain,
      altDomain: init.altDomain,
      nodeTtlS: init.dnsNodeTtlSeconds,
      serviceTtlOverrides: init.dnsServiceTtlSeconds,
      onlyPassing: init.dnsOnlyPassing,
      recursors: init.recursors,
      maxTcpConnections: init.listenerLimits.dnsTcp.maxConnections,
      maxTcpConnectionsPerClient: init.listenerLimits.dnsTcp.maxConnectionsPerSource,
      tcpHandshakeTimeoutMs: init.listenerLimits.dnsTcp.handshakeTimeoutMs,
      tcpIdleTimeoutMs: init.listenerLimits.dnsTcp.idleTimeoutMs,
      log: this.components.log,
    })
    let address
    try {
      address = await server.start()
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      if (code === 'EADDRINUSE') throw new PortInUseError('DNS', init.clientAddress, init.dnsPort)
      throw error
    }
    this.server = server
    this.port = address.udpPort
  }

  async stop (): Promise<void> {
    await this.server?.stop()
  }
}
