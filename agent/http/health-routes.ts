// Consul's health routes (/v1/health/...): instances with their node and service checks, checks by
// service, node and state, answered from the local catalog with blocking queries and `?filter=`.

import type { FastifyInstance } from 'fastify'
import type { HealthStatus } from '../../api/catalog-types.ts'
import type { CatalogRouteDeps } from './catalog-routes.ts'
import { applyPredicate, block, catalogQuerySchema, flag, matchesNodeMeta, nameParam, prepareQuery, sendCached } from './catalog-routes.ts'
import { badRequest } from './errors.ts'

const STATES = new Set(['any', 'passing', 'warning', 'critical'])

export function registerHealthRoutes (app: FastifyInstance, deps: CatalogRouteDeps): void {
  const { catalog } = deps
  const querystring = catalogQuerySchema

  for (const connect of [false, true]) {
    app.get(connect ? '/v1/health/connect/:service' : '/v1/health/service/:service', {
      schema: { params: nameParam('service'), querystring },
    }, async (request, reply) => {
      const { query, filter, nodeMeta } = prepareQuery(request, catalog)
      const passing = flag('passing', query.passing)
      await block(request, reply, deps)
      const { service } = request.params as { service: string }
      return sendCached(reply, deps, ['health-service', connect, service, passing, query.tag ?? [], query.filter ?? '', nodeMeta], () => {
        const entries = catalog.healthService(service, { passing, tag: query.tag, connect })
        return applyPredicate(entries.filter(entry => matchesNodeMeta(entry.Node.Meta, nodeMeta)), filter)
      })
    })
  }

  app.get('/v1/health/checks/:service', { schema: { params: nameParam('service'), querystring } }, async (request, reply) => {
    const { filter, nodeMeta } = prepareQuery(request, catalog)
    await block(request, reply, deps)
    const checks = catalog.checksForService((request.params as { service: string }).service)
    return applyPredicate(nodeMeta.length === 0 ? checks : checks.filter(check => matchesNodeMeta(catalog.node(check.Node)?.Node.Meta ?? {}, nodeMeta)), filter)
  })

  app.get('/v1/health/node/:node', { schema: { params: nameParam('node'), querystring } }, async (request, reply) => {
    const { filter } = prepareQuery(request, catalog)
    await block(request, reply, deps)
    return applyPredicate(catalog.checksForNode((request.params as { node: string }).node), filter)
  })

  app.get('/v1/health/state/:state', { schema: { params: nameParam('state'), querystring } }, async (request, reply) => {
    const { state } = request.params as { state: string }
    if (!STATES.has(state)) throw badRequest(`Bad check state "${state.slice(0, 64)}": expected any, passing, warning or critical`)
    const { filter, nodeMeta } = prepareQuery(request, catalog)
    await block(request, reply, deps)
    const checks = catalog.checksInState(state as HealthStatus | 'any')
    if (nodeMeta.length === 0) return applyPredicate(checks, filter)
    return applyPredicate(checks.filter(check => matchesNodeMeta(catalog.node(check.Node)?.Node.Meta ?? {}, nodeMeta)), filter)
  })
}
