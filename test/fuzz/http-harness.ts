// The agent's HTTP API in process for fuzzing: the real route registrations (agent, services and
// checks, catalog, health, intentions, config entries, CA) over an in-memory catalog, a check
// manager on a manual clock and an in-process CA cluster, driven with fastify's `inject`.
// Nothing listens on a port; sidecar ports are "probed" by a fake that finds them all free.

import type { Test } from 'tap'
import pino from 'pino'
import type { FastifyInstance } from 'fastify'
import { buildHttpServer } from '../../agent/http/server.ts'
import { registerAgentRoutes } from '../../agent/http/agent-routes.ts'
import { registerAgentServiceRoutes } from '../../agent/http/agent-service-routes.ts'
import { registerCatalogRoutes } from '../../agent/http/catalog-routes.ts'
import { registerHealthRoutes } from '../../agent/http/health-routes.ts'
import { registerIntentionRoutes } from '../../agent/http/intentions-routes.ts'
import { registerConfigRoutes } from '../../agent/http/config-routes.ts'
import { registerCaRoutes } from '../../agent/http/ca-routes.ts'
import { AnswerCache } from '../../agent/http/answer-cache.ts'
import { AgentPolicy } from '../../agent/connect/policy.ts'
import { CheckManager } from '../../agent/local/checks/manager.ts'
import type { Catalog } from '../../catalog/catalog.ts'
import { memoryCatalog } from '../catalog/fixtures.ts'
import { ManualClock } from '../fixtures/manual-clock.ts'
import { createCluster, settle } from '../agent/connect/cluster.ts'

export interface RouteTemplate {
  method: string
  url: string
}

export interface HttpHarness {
  app: FastifyInstance
  catalog: Catalog
  routes: RouteTemplate[]
  /** What a refused request must leave unchanged: the catalog's index and digest, the CA's roots and configuration. */
  state: () => string
}

export async function startHttpHarness (t: Test): Promise<HttpHarness> {
  const catalog = await memoryCatalog(t, 'node-1')
  const log = pino({ level: 'silent' })
  const clock = new ManualClock()
  const checks = new CheckManager({ enableScriptChecks: false, nodeName: 'node-1' }, { catalog, clock, random: () => 0 })
  checks.start()
  const policy = new AgentPolicy({ defaultPolicy: 'deny' }, { catalog, log })
  policy.start()
  const cluster = createCluster()
  const server = cluster.add('node-1', { server: true, services: ['web'] })
  await server.ca.start()
  await server.ca.bootstrap()
  await settle()

  const app = buildHttpServer()
  const routes: RouteTemplate[] = []
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) if (method !== 'HEAD') routes.push({ method, url: route.url })
  })
  registerAgentRoutes(app, {
    members: () => [{ name: 'node-1', id: 'id-node-1', addr: '127.0.0.91:8301', meta: {}, incarnation: 0, status: 'alive', statusChangedAtMs: 0 }],
    self: () => ({ Config: { NodeName: 'node-1', Datacenter: 'dc1' } }),
    datacenter: 'dc1',
    join: async () => 0,
    leave: async () => {},
    forceLeave: () => false,
  })
  registerAgentServiceRoutes(app, { catalog, checks, enableScriptChecks: false, nodeName: 'node-1', datacenter: 'dc1', probePort: async () => undefined })
  const answers = new AnswerCache()
  registerCatalogRoutes(app, { catalog, random: () => 0, answers })
  registerHealthRoutes(app, { catalog, random: () => 0, answers })
  registerIntentionRoutes(app, policy.intentionRouteDeps())
  registerConfigRoutes(app, policy.configRouteDeps())
  registerCaRoutes(app, { ca: server.ca, random: () => 0 })
  await app.ready()
  t.teardown(async () => {
    await app.close()
    checks.stop()
    policy.stop()
    cluster.cleanup()
  })
  return {
    app,
    catalog,
    routes,
    state: () => JSON.stringify([catalog.index, catalog.digest(), server.ca.roots(), server.ca.configuration()]),
  }
}
