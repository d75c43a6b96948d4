// Consul's read-only catalog routes (/v1/catalog/...), answered from the local catalog with
// blocking queries, `?filter=`, `?tag=`, `?node-meta=` and `?dc=`. Also exports the small query
// helpers the health routes share (datacenter check, filter compilation, node-meta matching).

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Catalog } from '../../catalog/catalog.ts'
import { FilterError, NO_PATH_TO_DATACENTER_CODE } from '../../catalog/errors.ts'
import type { Predicate } from '../../catalog/filter.ts'
import { compileFilter } from '../../catalog/filter.ts'
import type { AnswerCache } from './answer-cache.ts'
import { waitForBlocking } from './blocking.ts'
import { HttpError, badRequest } from './errors.ts'

export interface CatalogRouteDeps {
  catalog: Catalog
  /** Jitter source for blocking waits (tests pin it). */
  random?: () => number
  /** Serialized answers of the per-service reads, reused until the catalog changes. */
  answers?: AnswerCache
}

export interface CatalogQuery {
  dc?: string
  tag?: string[]
  'node-meta'?: string[]
  filter?: string
  passing?: string
  index?: string
  wait?: string
}

const stringList = { type: 'array', items: { type: 'string', maxLength: 1024 }, maxItems: 64 } as const

/** Query parameters every catalog/health read accepts; unknown ones (stale, consistent, near…) pass. */
export const catalogQuerySchema = {
  type: 'object',
  properties: {
    dc: { type: 'string', maxLength: 256 },
    tag: stringList,
    'node-meta': stringList,
    filter: { type: 'string', maxLength: 8192 },
    passing: { type: 'string' },
    index: { type: 'string', maxLength: 32 },
    wait: { type: 'string', maxLength: 64 },
  },
} as const

export const nameParam = (name: string) => ({
  type: 'object', required: [name], properties: { [name]: { type: 'string', minLength: 1, maxLength: 512 } },
} as const)

/** Checks `?dc=` and compiles `?filter=` before any waiting, so bad requests fail fast. */
export function prepareQuery (request: FastifyRequest, catalog: Catalog): { query: CatalogQuery, filter: Predicate | undefined, nodeMeta: Array<[string, string]> } {
  const query = request.query as CatalogQuery
  if (query.dc !== undefined && query.dc !== '' && query.dc !== catalog.self.Datacenter) {
    throw new HttpError(500, NO_PATH_TO_DATACENTER_CODE, 'No path to datacenter')
  }
  let filter: Predicate | undefined
  if (query.filter !== undefined && query.filter !== '') {
    try {
      filter = compileFilter(query.filter)
    } catch (error) {
      if (error instanceof FilterError) throw new HttpError(400, error.code, error.message)
      throw error
    }
  }
  const nodeMeta = (query['node-meta'] ?? []).map((pair): [string, string] => {
    const separator = pair.indexOf(':')
    if (separator < 0) throw badRequest(`invalid node-meta "${pair}": expected key:value`)
    return [pair.slice(0, separator), pair.slice(separator + 1)]
  })
  return { query, filter, nodeMeta }
}

export function matchesNodeMeta (meta: Record<string, string>, wanted: Array<[string, string]>): boolean {
  return wanted.every(([key, value]) => meta[key] === value)
}

export function applyPredicate<T> (values: T[], filter: Predicate | undefined): T[] {
  return filter === undefined ? values : values.filter(value => filter(value))
}

const TRUE_WORDS = new Set(['', '1', 't', 'T', 'TRUE', 'true', 'True'])
const FALSE_WORDS = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False'])

/** A boolean query flag as Consul reads it: present without a value means yes, else Go's ParseBool. */
export function flag (name: string, value: string | undefined): boolean {
  if (value === undefined || FALSE_WORDS.has(value)) return false
  if (TRUE_WORDS.has(value)) return true
  throw badRequest(`Invalid value for ?${name}: "${value.slice(0, 32)}"`)
}

export async function block (request: FastifyRequest, reply: FastifyReply, deps: CatalogRouteDeps): Promise<void> {
  await waitForBlocking(request, reply, deps.catalog, deps.random)
}

/**
 * Sends the answer to `key` as of the catalog's current index: from the answer cache when the same
 * question was answered since the last change, else computed, serialized and kept.
 */
export function sendCached (reply: FastifyReply, deps: CatalogRouteDeps, key: unknown[], compute: () => unknown): FastifyReply {
  const index = deps.catalog.index
  const cache = deps.answers
  const cacheKey = JSON.stringify(key)
  const body = cache === undefined
    ? Buffer.from(JSON.stringify(compute()))
    : cache.get(cacheKey, index) ?? cache.store(cacheKey, index, compute())
  return reply.type('application/json; charset=utf-8').send(body)
}

export function registerCatalogRoutes (app: FastifyInstance, deps: CatalogRouteDeps): void {
  const { catalog } = deps
  const querystring = catalogQuerySchema

  app.get('/v1/catalog/datacenters', async () => catalog.datacenters())

  app.get('/v1/catalog/nodes', { schema: { querystring } }, async (request, reply) => {
    const { filter, nodeMeta } = prepareQuery(request, catalog)
    await block(request, reply, deps)
    return applyPredicate(catalog.nodes().filter(node => matchesNodeMeta(node.Meta, nodeMeta)), filter)
  })

  app.get('/v1/catalog/services', { schema: { querystring } }, async (request, reply) => {
    const { filter, nodeMeta } = prepareQuery(request, catalog)
    await block(request, reply, deps)
    if (filter === undefined && nodeMeta.length === 0) return catalog.services()
    const result: Record<string, string[]> = Object.create(null)
    for (const name of Object.keys(catalog.services())) {
      const instances = applyPredicate(catalog.serviceNodes(name).filter(instance => matchesNodeMeta(instance.NodeMeta, nodeMeta)), filter)
      if (instances.length > 0) result[name] = [...new Set(instances.flatMap(instance => instance.ServiceTags))].sort()
    }
    return result
  })

  for (const connect of [false, true]) {
    app.get(connect ? '/v1/catalog/connect/:service' : '/v1/catalog/service/:service', {
      schema: { params: nameParam('service'), querystring },
    }, async (request, reply) => {
      const { query, filter, nodeMeta } = prepareQuery(request, catalog)
      await block(request, reply, deps)
      const { service } = request.params as { service: string }
      return sendCached(reply, deps, ['catalog-service', connect, service, query.tag ?? [], query.filter ?? '', nodeMeta], () => {
        const instances = catalog.serviceNodes(service, { tag: query.tag, connect })
        return applyPredicate(instances.filter(instance => matchesNodeMeta(instance.NodeMeta, nodeMeta)), filter)
      })
    })
  }

  app.get('/v1/catalog/node/:node', { schema: { params: nameParam('node'), querystring } }, async (request, reply) => {
    const { filter } = prepareQuery(request, catalog)
    await block(request, reply, deps)
    const found = catalog.node((request.params as { node: string }).node)
    // Consul answers an unknown node with 200 and a JSON null.
    if (found === undefined) return reply.type('application/json').send('null')
    if (filter === undefined) return found
    const services: Record<string, unknown> = Object.create(null)
    for (const [id, service] of Object.entries(found.Services)) if (filter(service)) services[id] = service
    return { Node: found.Node, Services: services }
  })
}
