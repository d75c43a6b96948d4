// Consul's config entry API over fastify: PUT /v1/config, GET /v1/config/:kind,
// GET and DELETE /v1/config/:kind/:name. `service-intentions` entries are views over the intentions
// (translated by api/intentions/config-entry.ts, so there is one source of truth);
// `service-defaults` and `proxy-defaults` are validated here and stored as they are through the
// deps, where the proxy later reads `Protocol`. Every entry is validated completely before anything
// is written; a bad one answers 400 and changes nothing.

import { randomUUID } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { fromConfigEntry, SERVICE_INTENTIONS_KIND, toConfigEntry } from '../../api/intentions/config-entry.ts'
import { InvalidConfigEntryError, InvalidIntentionError, UnsafeRegexError } from '../../api/intentions/errors.ts'
import type { IntentionStore } from '../../api/intentions/index.ts'
import type { Intention } from '../../api/intentions/model.ts'
import { validateMeta, validateServiceName } from '../../api/intentions/validate.ts'
import { waitForBlocking } from './blocking.ts'
import type { BlockingSource } from './blocking.ts'
import { HttpError, badRequest, notFound } from './errors.ts'
import { HTTP_LIKE_PROTOCOLS, SERVICE_RESOLVER_KIND, SERVICE_ROUTER_KIND, SERVICE_SPLITTER_KIND, TRAFFIC_FIELDS, routerDestinations, validateTrafficEntry } from './traffic-entries.ts'
import { protocolOf } from '../connect/build-snapshot.ts'
import { isRecord } from '../../api/guards.ts'

/** A stored generic config entry as GET returns it: the entry's fields plus Consul's raft indexes. */
export interface StoredConfigEntry extends Record<string, unknown> {
  Kind: string
  Name: string
  CreateIndex: number
  ModifyIndex: number
}

/** A validated entry ready to store (no indexes: the store assigns them). */
export type ConfigEntryBody = Record<string, unknown> & { Kind: string, Name: string }

export interface ConfigRouteDeps extends BlockingSource {
  intentions: Pick<IntentionStore, 'list' | 'get'>
  /** Makes `intentions` the complete set of the destination's intentions, atomically, cluster-wide. */
  replaceIntentions (destinationName: string, intentions: Intention[]): Promise<void>
  /**
   * Stores a generic entry. With casIndex, stores only if the entry's ModifyIndex equals it
   * (0: only if absent) and resolves false otherwise.
   */
  putConfigEntry (entry: ConfigEntryBody, options: { casIndex?: number }): Promise<boolean>
  getConfigEntry (kind: string, name: string): StoredConfigEntry | undefined
  /** Entries of one kind, sorted by Name. */
  listConfigEntries (kind: string): StoredConfigEntry[]
  /** Deletes a generic entry; with casIndex only if its ModifyIndex equals it (false otherwise). */
  deleteConfigEntry (kind: string, name: string, options: { casIndex?: number }): Promise<boolean>
  now (): number
  newId?: () => string
  /**
   * Raft-style indexes of a destination's service-intentions entry (its first write and last
   * change in the local modify index), if the agent tracks them. With them, GET returns
   * CreateIndex/ModifyIndex and `?cas=N` works for service-intentions; without them only cas=0.
   */
  intentionEntryIndexes?: (destinationName: string) => { CreateIndex: number, ModifyIndex: number } | undefined
}

export const SERVICE_DEFAULTS_KIND = 'service-defaults'
export const PROXY_DEFAULTS_KIND = 'proxy-defaults'
export const SUPPORTED_KINDS: readonly string[] = [SERVICE_INTENTIONS_KIND, SERVICE_DEFAULTS_KIND, PROXY_DEFAULTS_KIND, SERVICE_RESOLVER_KIND, SERVICE_SPLITTER_KIND, SERVICE_ROUTER_KIND]
/** Protocols the proxy understands, as Consul's service-defaults accepts them. */
export const PROTOCOLS: ReadonlySet<string> = new Set(['tcp', 'http', 'http2', 'grpc'])
/** Largest generic entry stored, as JSON; entries replicate to every agent. */
export const MAX_ENTRY_SIZE_BYTES = 64 * 1024

/** Fields Consul defines on each generic kind; anything else is refused, as Consul's decoder does. */
const KNOWN_FIELDS: Record<string, ReadonlySet<string>> = {
  [SERVICE_DEFAULTS_KIND]: new Set(['Kind', 'Name', 'Namespace', 'Partition', 'Protocol', 'Mode', 'TransparentProxy', 'MutualTLSMode',
    'MeshGateway', 'Expose', 'ExternalSNI', 'UpstreamConfig', 'Destination', 'MaxInboundConnections', 'LocalConnectTimeoutMs',
    'LocalRequestTimeoutMs', 'BalanceInboundConnections', 'RateLimits', 'EnvoyExtensions', 'Meta', 'CreateIndex', 'ModifyIndex',
    // mesh's own: faults injected by the service's inbound sidecar.
    'FaultInjection']),
  [PROXY_DEFAULTS_KIND]: new Set(['Kind', 'Name', 'Namespace', 'Partition', 'Config', 'Mode', 'TransparentProxy', 'MutualTLSMode',
    'MeshGateway', 'Expose', 'AccessLogs', 'FailoverPolicy', 'PrioritizeByLocality', 'EnvoyExtensions', 'Meta', 'CreateIndex', 'ModifyIndex']),
  [SERVICE_RESOLVER_KIND]: new Set(TRAFFIC_FIELDS[SERVICE_RESOLVER_KIND]),
  [SERVICE_SPLITTER_KIND]: new Set(TRAFFIC_FIELDS[SERVICE_SPLITTER_KIND]),
  [SERVICE_ROUTER_KIND]: new Set(TRAFFIC_FIELDS[SERVICE_ROUTER_KIND]),
}

/**
 * Consul's rule for a router: it looks into requests, so the routed service and every destination
 * must speak an HTTP-like protocol (service-defaults Protocol, else proxy-defaults' protocol).
 */
export function checkRouterProtocols (entry: Record<string, unknown>, lookup: (kind: string, name: string) => Record<string, unknown> | undefined): void {
  for (const service of routerDestinations(entry)) {
    const protocol = protocolOf({ configEntry: lookup }, service)
    if (!HTTP_LIKE_PROTOCOLS.has(protocol)) {
      throw badRequest(`discovery chain "${service}" uses a protocol "${protocol}" that does not permit advanced routing or splitting behavior: set Protocol "http", "http2" or "grpc" in its service-defaults first`)
    }
  }
}

function checkKind (kind: unknown): string {
  if (typeof kind !== 'string' || kind === '') throw badRequest('Request decoding failed: Payload does not contain a kind/Kind key at the top level')
  if (!SUPPORTED_KINDS.includes(kind)) throw badRequest(`invalid config entry kind: ${kind} (mesh supports ${SUPPORTED_KINDS.join(', ')})`)
  return kind
}

function checkProtocol (value: unknown, field: string): void {
  if (value === undefined || value === null || value === '') return
  if (typeof value !== 'string' || !PROTOCOLS.has(value.toLowerCase())) {
    throw badRequest(`${field} must be one of ${[...PROTOCOLS].join(', ')}, got ${JSON.stringify(value)}`)
  }
}

/**
 * Consul's rule the other way round: a service-defaults or proxy-defaults write may not take an
 * HTTP-like protocol away from a service some router routes or leads to.
 */
export function checkRoutersKeepHttp (entry: ConfigEntryBody, lookup: (kind: string, name: string) => Record<string, unknown> | undefined, routers: Array<Record<string, unknown>>): void {
  if (entry.Kind !== SERVICE_DEFAULTS_KIND && entry.Kind !== PROXY_DEFAULTS_KIND) return
  const proposed = (kind: string, name: string): Record<string, unknown> | undefined =>
    kind === entry.Kind && name === entry.Name ? entry : lookup(kind, name)
  for (const router of routers) {
    try {
      checkRouterProtocols(router, proposed)
    } catch (error) {
      throw badRequest(`${(error as Error).message.replace(/: set Protocol .*$/, '')}: service-router ${String(router.Name)} routes it`)
    }
  }
}

/** Validates a service-defaults or proxy-defaults entry; returns it without client-sent indexes. */
export function validateGenericEntry (body: Record<string, unknown>): ConfigEntryBody {
  const kind = checkKind(body.Kind)
  for (const key of Object.keys(body)) {
    if (!KNOWN_FIELDS[kind].has(key)) throw badRequest(`invalid config key "${key}" for kind ${kind}`)
  }
  for (const key of ['Namespace', 'Partition']) {
    if (body[key] !== undefined && body[key] !== '' && body[key] !== 'default') throw badRequest(`${key} "${String(body[key])}" is not supported: mesh has only "default"`)
  }
  if (typeof body.Name !== 'string' || body.Name === '') throw badRequest('Name is required')
  const { CreateIndex: _create, ModifyIndex: _modify, ...entry } = body
  try {
    if (body.Meta !== undefined) entry.Meta = validateMeta(body.Meta, 'Meta')
    if (kind === PROXY_DEFAULTS_KIND) {
      if (body.Name !== 'global') throw badRequest(`invalid name ("${body.Name}"), only "global" is supported`)
      if (body.Config !== undefined && !isRecord(body.Config)) throw badRequest('Config must be an object')
      checkProtocol((body.Config as Record<string, unknown> | undefined)?.protocol, 'Config.protocol')
    } else {
      if (body.Name === '*') throw badRequest(`Name: wildcard "*" is not allowed for ${kind}`)
      validateServiceName(body.Name, 'Name')
      checkProtocol(body.Protocol, 'Protocol')
      if (typeof body.Protocol === 'string') entry.Protocol = body.Protocol.toLowerCase()
      validateTrafficEntry(kind, entry)
    }
  } catch (error) {
    if (error instanceof InvalidIntentionError) throw badRequest(error.message)
    throw error
  }
  if (Buffer.byteLength(JSON.stringify(entry)) > MAX_ENTRY_SIZE_BYTES) throw badRequest(`config entry exceeds ${MAX_ENTRY_SIZE_BYTES} bytes`)
  return entry as ConfigEntryBody
}

function parseCas (query: Record<string, unknown>): number | undefined {
  const cas = query.cas
  if (cas === undefined || cas === '') return undefined
  if (typeof cas !== 'string' || !/^\d{1,16}$/.test(cas)) throw badRequest(`invalid cas "${String(cas)}": expected a non-negative integer`)
  return Number(cas)
}

/** The destination's service-intentions entry with its indexes when the deps track them. */
function intentionEntry (deps: ConfigRouteDeps, destinationName: string): Record<string, unknown> | undefined {
  const entry = toConfigEntry(destinationName, deps.intentions.list())
  if (entry === undefined) return undefined
  return { ...entry, ...deps.intentionEntryIndexes?.(destinationName) }
}

function intentionEntries (deps: ConfigRouteDeps): Array<Record<string, unknown>> {
  const destinations = [...new Set(deps.intentions.list().map((intention) => intention.DestinationName))].sort()
  return destinations.map((destination) => intentionEntry(deps, destination) as Record<string, unknown>)
}

/**
 * Consul's CAS rule for a service-intentions entry: 0 means "only if absent", N "only if its
 * ModifyIndex is N". A non-zero index needs the deps to track indexes.
 */
function intentionCasHolds (deps: ConfigRouteDeps, destinationName: string, casIndex: number): boolean {
  const exists = toConfigEntry(destinationName, deps.intentions.list()) !== undefined
  if (casIndex === 0) return !exists
  if (deps.intentionEntryIndexes === undefined) {
    throw badRequest('cas with a non-zero index needs entry indexes, which this agent does not track for service-intentions; use cas=0 (create only) or no cas')
  }
  return exists && deps.intentionEntryIndexes(destinationName)?.ModifyIndex === casIndex
}

export function registerConfigRoutes (app: FastifyInstance, deps: ConfigRouteDeps): void {
  const newId = deps.newId ?? randomUUID
  const kindParams = { type: 'object', properties: { kind: { type: 'string', maxLength: 64 }, name: { type: 'string', maxLength: 256 } } }

  // Mesh's: validates a list of entries in order, each seeing the generic entries before it as if
  // they were written, and answers one result per entry (null: accepted, else the refusal), storing
  // nothing. `mesh config apply` uses it, so a directory whose router needs the service-defaults it
  // also holds validates as a whole.
  app.post('/v1/mesh/config/validate', {
    schema: { body: { type: 'array', maxItems: 1024 } },
  }, async (request) => {
    const pending = new Map<string, Record<string, unknown>>()
    const lookup = (entryKind: string, name: string): Record<string, unknown> | undefined =>
      pending.get(`${entryKind}/${name}`) ?? deps.getConfigEntry(entryKind, name)
    return (request.body as unknown[]).map((item): string | null => {
      try {
        if (!isRecord(item)) throw badRequest('each entry must be an object')
        const body = { ...item }
        if (body.Kind === undefined && body.kind !== undefined) { body.Kind = body.kind; delete body.kind }
        if (body.Name === undefined && body.name !== undefined) { body.Name = body.name; delete body.name }
        const kind = checkKind(body.Kind)
        if (kind === SERVICE_INTENTIONS_KIND) {
          fromConfigEntry(body, { nowMs: deps.now(), newId, existing: (source, destination) => deps.intentions.get(source, destination) })
          return null
        }
        const entry = validateGenericEntry(body)
        if (kind === SERVICE_ROUTER_KIND) checkRouterProtocols(entry, lookup)
        const routers = new Map(deps.listConfigEntries(SERVICE_ROUTER_KIND).map((router) => [router.Name, router as Record<string, unknown>]))
        for (const [key, value] of pending) if (key.startsWith(`${SERVICE_ROUTER_KIND}/`)) routers.set(String(value.Name), value)
        checkRoutersKeepHttp(entry, lookup, [...routers.values()])
        pending.set(`${entry.Kind}/${entry.Name}`, entry)
        return null
      } catch (error) {
        if (error instanceof HttpError) return error.message
        if (error instanceof InvalidConfigEntryError || error instanceof InvalidIntentionError || error instanceof UnsafeRegexError) return error.message
        throw error
      }
    })
  })

  // `?validate` (a mesh extension) runs every check a write would and answers true, storing
  // nothing: `mesh config apply` validates a whole directory this way before its first write.
  app.put('/v1/config', {
    schema: { body: { type: 'object' }, querystring: { type: 'object', properties: { cas: { type: 'string' }, validate: { type: 'string' } } } },
  }, async (request) => {
    const validateOnly = (request.query as { validate?: string }).validate !== undefined
    const body = request.body as Record<string, unknown>
    // Consul accepts the lower-case `kind`/`name` keys of its HCL form too.
    if (body.Kind === undefined && body.kind !== undefined) { body.Kind = body.kind; delete body.kind }
    if (body.Name === undefined && body.name !== undefined) { body.Name = body.name; delete body.name }
    const kind = checkKind(body.Kind)
    const casIndex = parseCas(request.query as Record<string, unknown>)
    if (kind !== SERVICE_INTENTIONS_KIND) {
      const entry = validateGenericEntry(body)
      const lookup = (entryKind: string, name: string): Record<string, unknown> | undefined => deps.getConfigEntry(entryKind, name)
      if (kind === SERVICE_ROUTER_KIND) checkRouterProtocols(entry, lookup)
      checkRoutersKeepHttp(entry, lookup, deps.listConfigEntries(SERVICE_ROUTER_KIND))
      return validateOnly ? true : deps.putConfigEntry(entry, { casIndex })
    }

    let intentions: Intention[]
    try {
      intentions = fromConfigEntry(body, { nowMs: deps.now(), newId, existing: (source, destination) => deps.intentions.get(source, destination) })
    } catch (error) {
      if (error instanceof InvalidConfigEntryError || error instanceof InvalidIntentionError || error instanceof UnsafeRegexError) throw badRequest(error.message)
      throw error
    }
    if (validateOnly) return true
    if (casIndex !== undefined && !intentionCasHolds(deps, String(body.Name), casIndex)) return false
    await deps.replaceIntentions(String(body.Name), intentions)
    return true
  })

  app.get('/v1/config/:kind', {
    schema: { params: kindParams, querystring: { type: 'object', properties: { index: { type: 'string' }, wait: { type: 'string' } } } },
  }, async (request, reply) => {
    const kind = checkKind((request.params as { kind: string }).kind)
    await waitForBlocking(request, reply, deps)
    if (kind === SERVICE_INTENTIONS_KIND) return intentionEntries(deps)
    return deps.listConfigEntries(kind)
  })

  app.get('/v1/config/:kind/:name', {
    schema: { params: kindParams, querystring: { type: 'object', properties: { index: { type: 'string' }, wait: { type: 'string' } } } },
  }, async (request, reply) => {
    const { kind: rawKind, name } = request.params as { kind: string, name: string }
    const kind = checkKind(rawKind)
    await waitForBlocking(request, reply, deps)
    const entry = kind === SERVICE_INTENTIONS_KIND ? intentionEntry(deps, name) : deps.getConfigEntry(kind, name)
    if (entry === undefined) throw notFound(`Config entry not found for "${kind}" / "${name}"`)
    return entry
  })

  app.delete('/v1/config/:kind/:name', {
    schema: { params: kindParams, querystring: { type: 'object', properties: { cas: { type: 'string' } } } },
  }, async (request) => {
    const { kind: rawKind, name } = request.params as { kind: string, name: string }
    const kind = checkKind(rawKind)
    const casIndex = parseCas(request.query as Record<string, unknown>)
    if (kind === SERVICE_INTENTIONS_KIND) {
      // As for generic entries, a CAS delete never acts on index 0.
      if (casIndex !== undefined && (casIndex === 0 || !intentionCasHolds(deps, name, casIndex))) return false
      await deps.replaceIntentions(name, [])
      return casIndex === undefined ? {} : true
    }
    // Consul answers a CAS delete with whether it deleted, a plain delete with an empty object.
    const deleted = await deps.deleteConfigEntry(kind, name, { casIndex })
    return casIndex === undefined ? {} : deleted
  })
}
