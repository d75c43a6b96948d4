// Consul's intention API over fastify: /v1/connect/intentions (exact, check, match, list, and the
// legacy ID-based forms) and /v1/agent/connect/authorize. Status codes and bodies are Consul's; the
// routes validate everything and write only through the narrow deps the agent implements over the
// catalog, so bad input changes nothing.

import { randomUUID } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { compileFilter } from '../../catalog/filter.ts'
import type { Decision } from '../../api/intentions/evaluate.ts'
import { InvalidIntentionError, InvalidSpiffeIdError, UnsafeRegexError } from '../../api/intentions/errors.ts'
import type { IntentionStore } from '../../api/intentions/index.ts'
import { isL7 } from '../../api/intentions/model.ts'
import type { Intention } from '../../api/intentions/model.ts'
import { buildIntention, requireServiceSpiffeId, validateIntentionFields, validateServiceName } from '../../api/intentions/validate.ts'
import { waitForBlocking } from './blocking.ts'
import type { BlockingSource } from './blocking.ts'
import { badRequest, notFound } from './errors.ts'

/** The reads the routes need; the agent's IntentionStore provides them. */
export type IntentionReader = Pick<IntentionStore, 'list' | 'get' | 'getById' | 'match' | 'check'>

export interface IntentionRouteDeps extends BlockingSource {
  intentions: IntentionReader
  /** Writes the pair's intention cluster-wide; resolves once `intentions` returns it (read-your-writes). */
  put (intention: Intention): Promise<void>
  /** Deletes the pair's intention cluster-wide; false when there was none. Resolves once `intentions` no longer has it. */
  delete (sourceName: string, destinationName: string): Promise<boolean>
  now (): number
  /** ID for a new intention; crypto.randomUUID by default. */
  newId?: () => string
}

/** Consul's JSON for an intention: the record plus the default namespace fields Consul clients read. */
export function renderIntention (intention: Intention): Record<string, unknown> {
  const { ID, Description, SourceName, DestinationName, SourceType, Action, Permissions, Meta, Precedence, CreatedAt, UpdatedAt } = intention
  const body: Record<string, unknown> = { ID, Description, SourceNS: 'default', SourceName, DestinationNS: 'default', DestinationName, SourceType }
  if (Permissions !== undefined) body.Permissions = Permissions
  else body.Action = Action
  Object.assign(body, { Meta, Precedence, CreatedAt, UpdatedAt })
  return body
}

const stringQuery = (properties: string[], arrays: string[] = []) => ({
  type: 'object',
  properties: Object.fromEntries([
    ...properties.map((name) => [name, { type: 'string' }]),
    ...arrays.map((name) => [name, { type: 'array', items: { type: 'string' } }]),
  ]),
})

const blockingQuery = ['index', 'wait', 'filter']

function requiredQuery (query: Record<string, unknown>, name: string): string {
  const value = query[name]
  if (typeof value !== 'string' || value === '') throw badRequest(`required query parameter '${name}' not set`)
  return value
}

/** Runs a validation, turning intention errors into 400s with their message. */
function validated<T> (run: () => T): T {
  try {
    return run()
  } catch (error) {
    if (error instanceof InvalidIntentionError || error instanceof UnsafeRegexError || error instanceof InvalidSpiffeIdError) {
      throw badRequest(error.message)
    }
    throw error
  }
}

/** Consul's `?filter=` (go-bexpr grammar) over the rendered intentions, so selectors use API field names. */
function applyFilter (query: Record<string, unknown>, rows: Array<Record<string, unknown>>): Array<Record<string, unknown>> {
  const expression = query.filter
  if (typeof expression !== 'string' || expression === '') return rows
  let predicate: (value: unknown) => boolean
  try {
    predicate = compileFilter(expression)
  } catch (error) {
    throw badRequest(`Failed to create boolean expression evaluator: ${(error as Error).message}`)
  }
  return rows.filter(predicate)
}

/** Consul answers L4 checks and /authorize with "deny" when the governing intention is L7. */
function connectionAllowed (decision: Decision): boolean {
  return decision.allowed && !(decision.matched !== undefined && isL7(decision.matched))
}

export function registerIntentionRoutes (app: FastifyInstance, deps: IntentionRouteDeps): void {
  const newId = deps.newId ?? randomUUID

  async function store (body: unknown, names?: { source: string, destination: string }, id?: string): Promise<Intention> {
    const fields = validated(() => validateIntentionFields(body, names))
    const previous = deps.intentions.get(fields.SourceName, fields.DestinationName)
    const intention = buildIntention(fields, { id: id ?? newId(), nowMs: deps.now(), previous })
    await deps.put(intention)
    return intention
  }

  app.get('/v1/connect/intentions', { schema: { querystring: stringQuery(blockingQuery) } }, async (request, reply) => {
    await waitForBlocking(request, reply, deps)
    return applyFilter(request.query as Record<string, unknown>, deps.intentions.list().map(renderIntention))
  })

  app.post('/v1/connect/intentions', { schema: { body: { type: 'object' } } }, async (request) => {
    const body = request.body as Record<string, unknown>
    const names = validated(() => ({ source: validateServiceName(body.SourceName, 'SourceName'), destination: validateServiceName(body.DestinationName, 'DestinationName') }))
    if (deps.intentions.get(names.source, names.destination) !== undefined) {
      throw badRequest(`duplicate intention found: ${names.source} => ${names.destination}`)
    }
    const intention = await store(body, names)
    return { ID: intention.ID }
  })

  const exactQuery = { querystring: stringQuery(['source', 'destination', ...blockingQuery]) }
  const exactNames = (request: FastifyRequest): { source: string, destination: string } => {
    const query = request.query as Record<string, unknown>
    const source = requiredQuery(query, 'source')
    const destination = requiredQuery(query, 'destination')
    return validated(() => ({ source: validateServiceName(source, 'source'), destination: validateServiceName(destination, 'destination') }))
  }

  app.get('/v1/connect/intentions/exact', { schema: exactQuery }, async (request, reply) => {
    const { source, destination } = exactNames(request)
    await waitForBlocking(request, reply, deps)
    const intention = deps.intentions.get(source, destination)
    if (intention === undefined) throw notFound('Intention not found')
    return renderIntention(intention)
  })

  app.put('/v1/connect/intentions/exact', { schema: { ...exactQuery, body: { type: 'object' } } }, async (request) => {
    await store(request.body, exactNames(request))
    return true
  })

  app.delete('/v1/connect/intentions/exact', { schema: exactQuery }, async (request) => {
    const { source, destination } = exactNames(request)
    await deps.delete(source, destination)
    return true
  })

  app.get('/v1/connect/intentions/check', { schema: { querystring: stringQuery(['source', 'destination', 'source-type']) } }, async (request) => {
    const { source, destination } = exactNames(request)
    return { Allowed: connectionAllowed(deps.intentions.check(source, destination)) }
  })

  app.get('/v1/connect/intentions/match', { schema: { querystring: stringQuery(['by', ...blockingQuery], ['name']) } }, async (request, reply) => {
    const query = request.query as Record<string, unknown>
    const by = requiredQuery(query, 'by')
    if (by !== 'source' && by !== 'destination') throw badRequest(`'by' parameter must be one of 'source' or 'destination'`)
    const names = (query.name as string[] | undefined) ?? []
    if (names.length === 0) throw badRequest("required query parameter 'name' not set")
    validated(() => names.forEach((name) => validateServiceName(name, 'name')))
    await waitForBlocking(request, reply, deps)
    const result: Record<string, unknown> = {}
    for (const name of names) result[name] = deps.intentions.match(by, name).map(renderIntention)
    return result
  })

  const idParams = { params: { type: 'object', properties: { id: { type: 'string', maxLength: 64 } }, required: ['id'] } }
  const byId = (request: FastifyRequest): Intention => {
    const intention = deps.intentions.getById((request.params as { id: string }).id)
    if (intention === undefined) throw notFound('Intention not found')
    return intention
  }

  app.get('/v1/connect/intentions/:id', { schema: { ...idParams, querystring: stringQuery(blockingQuery) } }, async (request, reply) => {
    await waitForBlocking(request, reply, deps)
    return renderIntention(byId(request))
  })

  app.put('/v1/connect/intentions/:id', { schema: { ...idParams, body: { type: 'object' } } }, async (request) => {
    const existing = byId(request)
    const body = request.body as Record<string, unknown>
    const names = { source: String(body.SourceName ?? existing.SourceName), destination: String(body.DestinationName ?? existing.DestinationName) }
    if (names.source !== existing.SourceName || names.destination !== existing.DestinationName) {
      // The pair is the intention's key in the catalog, so a rename would be a delete plus a create
      // under another key; ask for that explicitly instead of doing it behind the caller's back.
      throw badRequest('SourceName and DestinationName of an intention cannot be changed; delete it and create a new one')
    }
    await store(body, names, existing.ID)
    return true
  })

  app.delete('/v1/connect/intentions/:id', { schema: idParams }, async (request) => {
    const intention = deps.intentions.getById((request.params as { id: string }).id)
    if (intention !== undefined) await deps.delete(intention.SourceName, intention.DestinationName)
    return true
  })

  app.post('/v1/agent/connect/authorize', {
    schema: {
      body: {
        type: 'object',
        properties: {
          Target: { type: 'string', maxLength: 256 },
          ClientCertURI: { type: 'string', maxLength: 4096 },
          ClientCertSerial: { type: 'string', maxLength: 256 },
        },
      },
    },
  }, async (request: FastifyRequest, reply: FastifyReply) => {
    const body = request.body as { Target?: string, ClientCertURI?: string }
    if (body.Target === undefined || body.Target === '') throw badRequest('Target service must be specified')
    const target = validated(() => validateServiceName(body.Target, 'Target'))
    if (target === '*') throw badRequest('Target must name a service, not the wildcard "*"')
    const caller = validated(() => requireServiceSpiffeId(body.ClientCertURI ?? ''))
    reply.header('X-Cache', 'MISS')
    const partition = caller.partition ?? 'default'
    if (caller.namespace !== 'default' || partition !== 'default') {
      return { Authorized: false, Reason: `namespace "${caller.namespace}" and partition "${partition}" are unknown to mesh, which has only "default"` }
    }
    const decision = deps.intentions.check(caller.service, target)
    return { Authorized: connectionAllowed(decision), Reason: decision.reason }
  })
}
