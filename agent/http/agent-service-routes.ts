// The agent's local service and check API (Consul's /v1/agent/service*, /v1/agent/check*,
// /v1/agent/health/service/*): registration through agent/local's validation, status reports to
// TTL checks through the check manager, and aggregated health for load balancers.
// Registrations go through agent/local/register.ts, which validates a payload whole before the
// first write, so a bad request changes nothing.

import type { FastifyInstance, FastifyReply } from 'fastify'
import { compileFilter } from '../../catalog/filter.ts'
import type { HealthStatus, ServiceRecord } from '../../api/catalog-types.ts'
import { CheckNotFoundError, NotTtlCheckError } from '../local/checks/errors.ts'
import type { CheckStatus } from '../local/checks/types.ts'
import { aggregateStatus, httpCodeForStatus } from '../local/aggregate-health.ts'
import { checkView, serviceView } from '../local/agent-views.ts'
import { setNodeMaintenance, setServiceMaintenance } from '../local/maintenance.ts'
import { SidecarPortInUseError, UnknownCheckServiceError, isRegistrationError } from '../local/errors.ts'
import type { LocalCatalog } from '../local/local-catalog.ts'
import { deregisterLocalCheck, deregisterLocalService, registerCheckPayload, registerServicePayload } from '../local/register.ts'
import { parseBlockingParams } from './blocking.ts'
import type { PortProbe } from '../local/port-probe.ts'
import { HttpError, badRequest, notFound } from './errors.ts'

/** What the routes need from the check manager (CheckManager implements it). */
export interface AgentCheckControl {
  sync (scope?: { services?: Iterable<string>, checks?: Iterable<string> }): void
  updateTtl (checkId: string, status: CheckStatus, output: string): Promise<void>
}

export interface AgentServiceRoutesDeps {
  catalog: LocalCatalog
  checks: AgentCheckControl
  enableScriptChecks: boolean
  nodeName: string
  datacenter: string
  /** Tests whether a sidecar port can be bound before it is registered. */
  probePort: PortProbe
}

const idParams = { type: 'object', properties: { id: { type: 'string', minLength: 1 } }, required: ['id'] } as const
const nameParams = { type: 'object', properties: { name: { type: 'string', minLength: 1 } }, required: ['name'] } as const
const filterQuery = { type: 'object', properties: { filter: { type: 'string', maxLength: 8192 } } } as const
const formatQuery = { type: 'object', properties: { format: { type: 'string', enum: ['json', 'text'] } } } as const
const noteQuery = { type: 'object', properties: { note: { type: 'string', maxLength: 65536 } } } as const
const registerQuery = { type: 'object', properties: { 'replace-existing-checks': { type: 'string' } } } as const
const anyBody = { type: ['object', 'null'] } as const
const maintenanceQuery = { type: 'object', properties: { enable: { type: 'string' }, reason: { type: 'string', maxLength: 4096 } } } as const
const hashQuery = { type: 'object', properties: { hash: { type: 'string', maxLength: 128 }, wait: { type: 'string' } } } as const

/** Maps local, check-manager and catalog errors to Consul's answers; others propagate as 500. */
function toHttpError (error: unknown): unknown {
  if (error instanceof UnknownCheckServiceError) return new HttpError(404, error.code, error.message)
  if (isRegistrationError(error)) return new HttpError(400, error.code, error.message)
  // A valid payload the host's state refuses (another process holds the port): 409, not 400.
  if (error instanceof SidecarPortInUseError) return new HttpError(409, error.code, error.message)
  if (error instanceof CheckNotFoundError) return new HttpError(404, error.code, error.message)
  if (error instanceof NotTtlCheckError) return new HttpError(500, error.code, error.message)
  const code = (error as { code?: unknown } | null)?.code
  if (code === 'MESH_ERR_CATALOG_INVALID_ENTRY' || code === 'MESH_ERR_CATALOG_CAPACITY' || code === 'MESH_ERR_CATALOG_FILTER') {
    return new HttpError(400, code, (error as Error).message)
  }
  if (code === 'MESH_ERR_CATALOG_SERVICE_NOT_FOUND' || code === 'MESH_ERR_CATALOG_CHECK_NOT_FOUND') {
    return new HttpError(404, code, (error as Error).message)
  }
  return error
}

async function mapped<T> (work: () => Promise<T> | T): Promise<T> {
  try {
    return await work()
  } catch (error) {
    throw toHttpError(error)
  }
}

/** Consul's flags are true when present without a value. */
const flag = (value: string | undefined): boolean => value !== undefined && value !== 'false' && value !== '0'

/** Consul's `?enable=` of the maintenance endpoints: required, a Go boolean. */
function enableParam (value: string | undefined): boolean {
  if (value === undefined || value === '') throw badRequest('Missing value for enable')
  if (['true', '1', 't', 'TRUE', 'True', 'T'].includes(value)) return true
  if (['false', '0', 'f', 'FALSE', 'False', 'F'].includes(value)) return false
  throw badRequest(`Invalid value for enable: "${value}"`)
}

function filtered<T> (values: T[], expression: string | undefined): T[] {
  if (expression === undefined || expression === '') return values
  const predicate = compileFilter(expression)
  return values.filter(value => predicate(value))
}

export function registerAgentServiceRoutes (app: FastifyInstance, deps: AgentServiceRoutesDeps): void {
  const { catalog, checks, nodeName, datacenter } = deps

  app.put('/v1/agent/service/register', { schema: { querystring: registerQuery, body: anyBody } }, async (request) => {
    const replaceExistingChecks = flag((request.query as Record<string, string | undefined>)['replace-existing-checks'])
    await mapped(() => registerServicePayload(deps, request.body, { replaceExistingChecks }))
    return ''
  })

  app.put('/v1/agent/service/deregister/:id', { schema: { params: idParams } }, async (request) => {
    const { id } = request.params as { id: string }
    const removed = await mapped(() => deregisterLocalService(deps, id))
    if (!removed) throw notFound(`Unknown service ID "${id}". Ensure that the service ID is passed, not the service name.`)
    return ''
  })

  app.put('/v1/agent/service/maintenance/:id', { schema: { params: idParams, querystring: maintenanceQuery } }, async (request) => {
    const { id } = request.params as { id: string }
    const { enable, reason } = request.query as { enable?: string, reason?: string }
    const enabled = enableParam(enable)
    const known = await mapped(() => setServiceMaintenance(catalog, id, enabled, reason ?? ''))
    if (!known) throw notFound(`Unknown service ID "${id}"`)
    checks.sync()
    return ''
  })

  app.put('/v1/agent/maintenance', { schema: { querystring: maintenanceQuery } }, async (request) => {
    const { enable, reason } = request.query as { enable?: string, reason?: string }
    const enabled = enableParam(enable)
    await mapped(() => setNodeMaintenance(catalog, enabled, reason ?? ''))
    checks.sync()
    return ''
  })

  app.get('/v1/agent/services', { schema: { querystring: filterQuery } }, async (request) => {
    const { filter } = request.query as { filter?: string }
    const views = await mapped(() => filtered(catalog.localServices().map(service => serviceView(service, datacenter)), filter))
    return Object.fromEntries(views.sort((a, b) => a.ID.localeCompare(b.ID)).map(view => [view.ID, view]))
  })

  // Consul's hash-based blocking: with ?hash= equal to the current ContentHash the request waits
  // (up to ?wait=, default 5 min) until the service changes; standalone proxies watch this way.
  app.get('/v1/agent/service/:id', { schema: { params: idParams, querystring: hashQuery } }, async (request, reply) => {
    const { id } = request.params as { id: string }
    const { hash } = request.query as { hash?: string }
    const current = () => {
      const service = catalog.localService(id)
      return service === undefined ? undefined : serviceView(service, datacenter)
    }
    let index = catalog.index
    let view = current()
    if (hash !== undefined && hash !== '' && view?.ContentHash === hash) {
      const { waitMs } = parseBlockingParams(request.query as Record<string, unknown>)
      const deadlineMs = Date.now() + waitMs
      const controller = new AbortController()
      const onClose = (): void => controller.abort()
      reply.raw.once('close', onClose)
      try {
        while (view?.ContentHash === hash && !controller.signal.aborted && Date.now() < deadlineMs) {
          await catalog.waitForIndex(index, { timeoutMs: deadlineMs - Date.now(), signal: controller.signal })
          index = catalog.index
          view = current()
        }
      } finally {
        reply.raw.off('close', onClose)
      }
    }
    if (view === undefined) throw notFound(`unknown service ID: ${id}`)
    reply.header('X-Consul-ContentHash', view.ContentHash)
    return view
  })

  app.get('/v1/agent/checks', { schema: { querystring: filterQuery } }, async (request) => {
    const { filter } = request.query as { filter?: string }
    const views = await mapped(() => filtered(catalog.localChecks().map(check => checkView(check, nodeName)), filter))
    return Object.fromEntries(views.sort((a, b) => a.CheckID.localeCompare(b.CheckID)).map(view => [view.CheckID, view]))
  })

  app.put('/v1/agent/check/register', { schema: { body: anyBody } }, async (request) => {
    await mapped(() => registerCheckPayload(deps, request.body))
    return ''
  })

  app.put('/v1/agent/check/deregister/:id', { schema: { params: idParams } }, async (request) => {
    const { id } = request.params as { id: string }
    await mapped(async () => {
      if (!await deregisterLocalCheck(deps, id)) throw new CheckNotFoundError(id)
    })
    return ''
  })

  for (const [verb, status] of [['pass', 'passing'], ['warn', 'warning'], ['fail', 'critical']] as const) {
    app.put(`/v1/agent/check/${verb}/:id`, { schema: { params: idParams, querystring: noteQuery } }, async (request) => {
      const { id } = request.params as { id: string }
      const { note } = request.query as { note?: string }
      await mapped(() => checks.updateTtl(id, status, note ?? ''))
      return ''
    })
  }

  app.put('/v1/agent/check/update/:id', { schema: { params: idParams, body: anyBody } }, async (request) => {
    const { id } = request.params as { id: string }
    const body = (request.body ?? {}) as Record<string, unknown>
    const status = body.Status ?? body.status
    const output = body.Output ?? body.output ?? ''
    if (status !== 'passing' && status !== 'warning' && status !== 'critical') {
      throw badRequest(`Invalid check status: '${String(status ?? '')}'`)
    }
    if (typeof output !== 'string') throw badRequest('Request decode failed: Output must be a string')
    await mapped(() => checks.updateTtl(id, status, output))
    return ''
  })

  const healthOf = (service: ServiceRecord) => {
    const serviceChecks = catalog.localChecks().filter(check => check.ServiceID === service.ID)
    const status = aggregateStatus(serviceChecks)
    return {
      status,
      info: {
        AggregatedStatus: status,
        Service: serviceView(service, datacenter),
        Checks: serviceChecks.sort((a, b) => a.CheckID.localeCompare(b.CheckID)).map(check => checkView(check, nodeName)),
      },
    }
  }
  const answer = (reply: FastifyReply, text: boolean, code: number, status: string, body: unknown): unknown => {
    reply.code(code)
    if (text) return reply.type('text/plain; charset=utf-8').send(status)
    return reply.type('application/json; charset=utf-8').send(JSON.stringify(body))
  }

  app.get('/v1/agent/health/service/id/:id', { schema: { params: idParams, querystring: formatQuery } }, async (request, reply) => {
    const { id } = request.params as { id: string }
    const text = (request.query as { format?: string }).format === 'text'
    const service = catalog.localService(id)
    if (service === undefined) {
      const reason = `ServiceId ${id} not found`
      return answer(reply, text, 404, reason, { AggregatedStatus: 'critical', Service: null, Checks: null })
    }
    const { status, info } = healthOf(service)
    return answer(reply, text, httpCodeForStatus(status), status, info)
  })

  app.get('/v1/agent/health/service/name/:name', { schema: { params: nameParams, querystring: formatQuery } }, async (request, reply) => {
    const { name } = request.params as { name: string }
    const text = (request.query as { format?: string }).format === 'text'
    const instances = catalog.localServices().filter(service => service.Service === name)
      .sort((a, b) => a.ID.localeCompare(b.ID)).map(healthOf)
    if (instances.length === 0) return answer(reply, text, 404, `ServiceName ${name} Not Found`, [])
    const worst: HealthStatus = aggregateStatus(instances.map(instance => ({ Status: instance.status })))
    return answer(reply, text, httpCodeForStatus(worst), worst, instances.map(instance => instance.info))
  })
}
