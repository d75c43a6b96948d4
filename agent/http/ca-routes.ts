// HTTP routes of the connect CA, as Consul serves them: the roots (agent and catalog paths, both
// blocking), a local service's leaf certificate (blocking until it rotates), the CA configuration
// (GET, PUT with validation), and the mesh-only POST /v1/mesh/ca/rotate. CA errors map to
// Consul's status codes here and nowhere else.

import type { FastifyInstance } from 'fastify'
import { CaError } from '../../ca/errors.ts'
import type { LeafCert } from '../connect/leaf-cache.ts'
import type { ConsulCaRoots } from '../connect/state.ts'
import type { BlockingSource } from './blocking.ts'
import { waitForBlocking } from './blocking.ts'
import { HttpError, badRequest, forbidden, unavailable } from './errors.ts'

/** What the routes need from the connect CA (agent/connect/manager.ts's ConnectCA has it). */
export interface CaRoutesCa {
  roots (): ConsulCaRoots
  readonly rootsSource: BlockingSource
  leaf (service: string): LeafCert
  leafSource (service: string): BlockingSource
  configuration (): unknown
  setConfiguration (configuration: unknown): Promise<unknown>
  rotate (): Promise<unknown>
}

export interface CaRoutesDeps {
  ca: CaRoutesCa
  /** Blocking jitter source; injectable for tests. */
  random?: () => number
}

const STATUS_BY_CODE: Record<string, (message: string) => HttpError> = {
  MESH_ERR_CA_NOT_LOCAL_SERVICE: forbidden,
  MESH_ERR_CA_BAD_CONFIG: badRequest,
  MESH_ERR_CA_BAD_KEY: badRequest,
  MESH_ERR_CA_BAD_CERTIFICATE: badRequest,
  MESH_ERR_CA_NOT_READY: unavailable,
  MESH_ERR_CA_NO_ROOT_KEY: unavailable,
  MESH_ERR_CA_RATE_LIMITED: (message) => new HttpError(429, 'MESH_ERR_HTTP_TOO_MANY_REQUESTS', message),
}

/** Runs `action`, turning CA errors into Consul-style HTTP errors. */
async function asHttp<T> (action: () => T | Promise<T>): Promise<T> {
  try {
    return await action()
  } catch (error) {
    const toHttp = error instanceof CaError ? STATUS_BY_CODE[error.code] : undefined
    if (toHttp !== undefined) throw toHttp((error as Error).message)
    throw error
  }
}

const serviceParams = {
  type: 'object',
  required: ['service'],
  properties: { service: { type: 'string', minLength: 1, maxLength: 253, pattern: '^[A-Za-z0-9._-]+$' } },
} as const

const configurationBody = {
  type: 'object',
  properties: {
    Provider: { type: 'string' },
    Config: { type: 'object' },
  },
} as const

export function registerCaRoutes (app: FastifyInstance, deps: CaRoutesDeps): void {
  const { ca } = deps
  const roots = async (request: Parameters<typeof waitForBlocking>[0], reply: Parameters<typeof waitForBlocking>[1]): Promise<ConsulCaRoots> => {
    await waitForBlocking(request, reply, ca.rootsSource, deps.random)
    return ca.roots()
  }
  app.get('/v1/agent/connect/ca/roots', roots)
  app.get('/v1/connect/ca/roots', roots)

  app.get<{ Params: { service: string } }>('/v1/agent/connect/ca/leaf/:service', { schema: { params: serviceParams } }, async (request, reply) => {
    const { service } = request.params
    await asHttp(() => ca.leaf(service))
    await waitForBlocking(request, reply, await asHttp(() => ca.leafSource(service)), deps.random)
    return await asHttp(() => ca.leaf(service))
  })

  app.get('/v1/connect/ca/configuration', async () => ca.configuration())

  app.put('/v1/connect/ca/configuration', { schema: { body: configurationBody } }, async (request) => {
    if (request.body === undefined || request.body === null) throw badRequest('Request decode failed: missing body')
    await asHttp(() => ca.setConfiguration(request.body))
    return true
  })

  app.post('/v1/mesh/ca/rotate', async () => {
    await asHttp(() => ca.rotate())
    return ca.roots()
  })
}
