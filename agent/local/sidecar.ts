// Turns a service's Connect.SidecarService into the sidecar proxy's own registration, as Consul's
// agent/sidecar_service.go: ID "<id>-sidecar-proxy", Name "<name>-sidecar-proxy", Kind
// connect-proxy, the proxy pointed at the service on 127.0.0.1:<service port>, tags and meta
// inherited when not given, a port from 21000–21255 that no other local service uses and that is
// not listed as unavailable (bound by another process: register.ts probes) when not given (the
// port it already had when re-registered), and by default two checks: a TCP check on
// the sidecar's port and an alias of the service (a sidecar is only as healthy as its app).

import type { ServiceRecord } from '../../api/catalog-types.ts'
import { normalizeCheckPayload, serviceCheckPayloads } from './check-payload.ts'
import type { CheckPayloadContext } from './check-payload.ts'
import { InvalidServiceError, SidecarPortExhaustedError } from './errors.ts'
import type { LocalCheck } from './local-catalog.ts'
import { PayloadFields } from './payload-fields.ts'
import { DEFAULT_LOCAL_ADDRESS, parseProxyPayload } from './proxy-payload.ts'
import { sidecarIdFor } from './sidecar-ids.ts'

export const DEFAULT_SIDECAR_MIN_PORT = 21000
export const DEFAULT_SIDECAR_MAX_PORT = 21255
export const SIDECAR_CHECK_INTERVAL = '10s'

export interface SidecarContext {
  enableScriptChecks: boolean
  nodeName?: string
  /** Services already registered here: their ports are taken. */
  localServices: ServiceRecord[]
  sidecarMinPort?: number
  sidecarMaxPort?: number
  /**
   * The address the agent's sidecars listen on when theirs is not given (the node's advertise
   * address), which the default TCP check must probe; 127.0.0.1 when unknown.
   */
  nodeAddress?: string
  /** Ports of the range found bound by other processes; an assigned port skips them. */
  unavailablePorts?: ReadonlySet<number>
}

export interface BuiltSidecar {
  service: ServiceRecord
  checks: LocalCheck[]
  /** True when the port was picked from the range, false when the payload gave it. */
  portAssigned: boolean
}

const hostPort = (host: string, port: number): string => host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`

/** Where a sidecar listens: its own Address, else the node's advertise address. */
export const sidecarListenHost = (service: ServiceRecord, nodeAddress: string | undefined): string =>
  service.Address !== '' ? service.Address : nodeAddress ?? DEFAULT_LOCAL_ADDRESS

/** The lowest free port in the range; a sidecar re-registered keeps the port it had. */
export function allocateSidecarPort (
  sidecarId: string,
  localServices: ServiceRecord[],
  minPort: number,
  maxPort: number,
  unavailablePorts: ReadonlySet<number> = new Set()
): number {
  const existing = localServices.find(service => service.ID === sidecarId)
  if (existing !== undefined && existing.Port >= minPort && existing.Port <= maxPort) return existing.Port
  const used = new Set(localServices.filter(service => service.ID !== sidecarId).map(service => service.Port))
  for (let port = minPort; port <= maxPort; port++) if (!used.has(port) && !unavailablePorts.has(port)) return port
  throw new SidecarPortExhaustedError(minPort, maxPort)
}

export function buildSidecar (
  parent: ServiceRecord,
  payload: Record<string, unknown>,
  context: SidecarContext
): BuiltSidecar {
  const prefix = 'Connect.SidecarService.'
  const fail = (message: string): Error => new InvalidServiceError(`Invalid SidecarService: ${message}`)
  const fields = new PayloadFields(payload, fail, prefix)
  const id = sidecarIdFor(parent.ID)
  const givenId = fields.string('ID')
  if (givenId !== undefined && givenId !== '' && givenId !== id) throw fields.error('ID', `cannot be set: a sidecar's ID is always "${id}"`)
  const kind = fields.string('Kind') ?? ''
  if (kind !== '' && kind !== 'connect-proxy') throw fields.error('Kind', 'must be "connect-proxy"')
  const connect = fields.object('Connect')
  if (connect !== undefined && new PayloadFields(connect, fail).has('SidecarService')) {
    throw fail('A SidecarService cannot have a nested SidecarService')
  }

  const proxyPayload = fields.object('Proxy') ?? {}
  const proxy = parseProxyPayload(proxyPayload, fail, `${prefix}Proxy.`)
  const givenPort = fields.integer('Port', 0, 65535) ?? 0
  const port = givenPort > 0
    ? givenPort
    : allocateSidecarPort(id, context.localServices, context.sidecarMinPort ?? DEFAULT_SIDECAR_MIN_PORT, context.sidecarMaxPort ?? DEFAULT_SIDECAR_MAX_PORT, context.unavailablePorts)
  fields.identifier('ID', id)
  const name = fields.string('Name') ?? ''
  if (name !== '') fields.identifier('Name', name)
  else fields.identifier('Name', `${parent.Service}-sidecar-proxy`)
  const address = fields.string('Address') ?? ''
  const weights = fields.object('Weights')
  const service: ServiceRecord = {
    ID: id,
    Service: name === '' ? `${parent.Service}-sidecar-proxy` : name,
    Kind: 'connect-proxy',
    Tags: fields.stringArray('Tags') ?? [...parent.Tags],
    Address: address === '' ? parent.Address : address,
    Port: port,
    Meta: fields.stringMap('Meta') ?? { ...parent.Meta },
    Weights: weights === undefined ? { ...parent.Weights } : {
      Passing: new PayloadFields(weights, fail, `${prefix}Weights.`).integer('Passing', 1, 65535) ?? 1,
      Warning: new PayloadFields(weights, fail, `${prefix}Weights.`).integer('Warning', 0, 65535) ?? 1,
    },
    EnableTagOverride: fields.boolean('EnableTagOverride') ?? false,
    Proxy: {
      ...proxy,
      DestinationServiceName: proxy.DestinationServiceName ?? parent.Service,
      DestinationServiceID: proxy.DestinationServiceID ?? parent.ID,
      LocalServiceAddress: proxy.LocalServiceAddress ?? DEFAULT_LOCAL_ADDRESS,
      LocalServicePort: proxy.LocalServicePort ?? parent.Port,
      Upstreams: proxy.Upstreams ?? [],
    },
  }

  const checkPayloads = serviceCheckPayloads(fields)
  if (checkPayloads.length === 0) {
    checkPayloads.push(
      { Name: 'Connect Sidecar Listening', TCP: hostPort(sidecarListenHost(service, context.nodeAddress), port), Interval: SIDECAR_CHECK_INTERVAL },
      { Name: `Connect Sidecar Aliasing ${parent.ID}`, AliasService: parent.ID }
    )
  }
  const checkContext: CheckPayloadContext = { enableScriptChecks: context.enableScriptChecks, nodeName: context.nodeName, owner: service }
  const checks = checkPayloads.map((check, index) => normalizeCheckPayload(check, {
    ...checkContext,
    defaultCheckId: checkPayloads.length > 1 ? `service:${id}:${index + 1}` : `service:${id}`,
  }))
  return { service, checks, portAssigned: givenPort === 0 }
}
