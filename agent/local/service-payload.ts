// Validates and normalises a service registration as Consul accepts it (the body of
// PUT /v1/agent/service/register, or one entry of the agent config file's `services`) into the
// records the catalog stores: the service, its checks and, for Connect.SidecarService, the
// sidecar proxy's own registration. Nothing is written here: a payload is either wholly valid or
// refused with an error naming the field, so a bad request never leaves a partial registration.
//
// Consul's defaults: ID is the Name; Weights {Passing: 1, Warning: 1}; checks get IDs
// "service:<id>" (one check) or "service:<id>:<n>" (several, 1-based, Check first then Checks)
// and the name "Service '<name>' check"; a check starts critical unless its Status says otherwise.

import type { ServiceRecord } from '../../api/catalog-types.ts'
import { normalizeCheckPayload, serviceCheckPayloads } from './check-payload.ts'
import { InvalidServiceError } from './errors.ts'
import type { LocalCheck } from './local-catalog.ts'
import { PayloadFields } from './payload-fields.ts'
import { parseProxyPayload } from './proxy-payload.ts'
import { buildSidecar } from './sidecar.ts'
import type { BuiltSidecar, SidecarContext } from './sidecar.ts'
import { isRecord } from '../../api/guards.ts'

export type ServicePayloadContext = SidecarContext

export interface NormalizedRegistration {
  service: ServiceRecord
  checks: LocalCheck[]
  sidecar?: BuiltSidecar
}

const META_MAX_PAIRS = 64
const META_KEY_MAX_LENGTH = 128
const META_VALUE_MAX_LENGTH = 512
const invalid = (message: string): Error => new InvalidServiceError(message)

export function normalizeServicePayload (payload: unknown, context: ServicePayloadContext): NormalizedRegistration {
  if (!isRecord(payload)) throw invalid('Request decode failed: a service definition must be a JSON object')
  const fields = new PayloadFields(payload, message => invalid(`Invalid service: ${message}`))
  const name = fields.string('Name', ['Service']) ?? ''
  if (name === '') throw invalid('Missing service name')
  fields.identifier('Name', name)
  const givenId = fields.string('ID') ?? ''
  const id = fields.identifier('ID', givenId === '' ? name : givenId)

  const kind = fields.string('Kind') ?? ''
  if (kind !== '' && kind !== 'connect-proxy') throw invalid(`Invalid service: Kind ${JSON.stringify(kind)} is not supported; use "" or "connect-proxy"`)

  const service: ServiceRecord = {
    ID: id,
    Service: name,
    Tags: fields.stringArray('Tags') ?? [],
    Address: fields.string('Address') ?? '',
    Port: fields.integer('Port', 0, 65535) ?? 0,
    Meta: validMeta(fields.stringMap('Meta') ?? {}),
    Weights: parseWeights(fields.object('Weights')),
    EnableTagOverride: fields.boolean('EnableTagOverride') ?? false,
  }
  if (kind !== '') service.Kind = kind
  const taggedAddresses = parseTaggedAddresses(fields.object('TaggedAddresses'))
  if (taggedAddresses !== undefined) service.TaggedAddresses = taggedAddresses

  const proxyPayload = fields.object('Proxy')
  if (kind === 'connect-proxy') {
    const proxy = parseProxyPayload(proxyPayload ?? {}, message => invalid(`Invalid service: ${message}`), 'Proxy.')
    if (proxy.DestinationServiceName === undefined) throw invalid('Proxy.DestinationServiceName must be non-empty for Connect proxy services')
    if (service.Port === 0) throw invalid('Port must be set for a Connect proxy')
    service.Proxy = { ...proxy, DestinationServiceName: proxy.DestinationServiceName }
  } else if (proxyPayload !== undefined && Object.keys(proxyPayload).length > 0) {
    throw invalid('Invalid service: Proxy may only be set on a service of Kind "connect-proxy"')
  }

  const connect = fields.object('Connect')
  let sidecarPayload: Record<string, unknown> | undefined
  if (connect !== undefined) {
    const connectFields = new PayloadFields(connect, message => invalid(`Invalid service: ${message}`), 'Connect.')
    const native = connectFields.boolean('Native') ?? false
    sidecarPayload = connectFields.opaqueObject('SidecarService')
    if (kind === 'connect-proxy' && native) throw invalid('A Proxy cannot also be Connect Native, only typical services')
    if (kind === 'connect-proxy' && sidecarPayload !== undefined) throw invalid('A SidecarService cannot be specified on a Connect proxy')
    if (native && sidecarPayload !== undefined) throw invalid('Services that are Connect native cannot have a sidecar service')
    if (native || sidecarPayload !== undefined) {
      service.Connect = {}
      if (native) service.Connect.Native = true
      if (sidecarPayload !== undefined) service.Connect.SidecarService = structuredClone(sidecarPayload)
    }
  }

  const checkPayloads = serviceCheckPayloads(fields)
  const checks = checkPayloads.map((check, index) => normalizeCheckPayload(check, {
    enableScriptChecks: context.enableScriptChecks,
    nodeName: context.nodeName,
    owner: service,
    defaultCheckId: checkPayloads.length > 1 ? `service:${id}:${index + 1}` : `service:${id}`,
  }))
  const seen = new Set<string>()
  for (const check of checks) {
    if (seen.has(check.CheckID)) throw invalid(`Invalid check: duplicate check ID ${JSON.stringify(check.CheckID)} in service ${JSON.stringify(id)}`)
    seen.add(check.CheckID)
  }

  const registration: NormalizedRegistration = { service, checks }
  if (sidecarPayload !== undefined) {
    registration.sidecar = buildSidecar(service, sidecarPayload, {
      ...context,
      // The service being registered takes its own port, and replaces any older copy of itself.
      localServices: [...context.localServices.filter(other => other.ID !== id), service],
    })
  }
  return registration
}

function parseWeights (value: Record<string, unknown> | undefined): ServiceRecord['Weights'] {
  if (value === undefined) return { Passing: 1, Warning: 1 }
  const fields = new PayloadFields(value, message => invalid(`Invalid Weights: ${message}`))
  const passing = fields.integer('Passing', 0, 65535) ?? 0
  const warning = fields.integer('Warning', 0, 65535) ?? 0
  // Consul treats an all-zero Weights object as absent.
  if (passing === 0 && warning === 0) return { Passing: 1, Warning: 1 }
  if (passing < 1) throw invalid('Invalid Weights: Passing must be greater than 0')
  return { Passing: passing, Warning: warning }
}

function validMeta (meta: Record<string, string>): Record<string, string> {
  const entries = Object.entries(meta)
  if (entries.length > META_MAX_PAIRS) throw invalid(`Invalid Service Meta: at most ${META_MAX_PAIRS} pairs are allowed, got ${entries.length}`)
  for (const [key, value] of entries) {
    if (key === '') throw invalid('Invalid Service Meta: keys cannot be blank')
    if (key.length > META_KEY_MAX_LENGTH) throw invalid(`Invalid Service Meta: key "${key.slice(0, 32)}…" is longer than ${META_KEY_MAX_LENGTH} characters`)
    if (!/^[a-zA-Z0-9_-]+$/.test(key)) throw invalid(`Invalid Service Meta: key ${JSON.stringify(key)} contains characters other than letters, digits, _ and -`)
    if (key.startsWith('consul-')) throw invalid(`Invalid Service Meta: key ${JSON.stringify(key)} uses the reserved "consul-" prefix`)
    if (value.length > META_VALUE_MAX_LENGTH) throw invalid(`Invalid Service Meta: value of ${JSON.stringify(key)} is longer than ${META_VALUE_MAX_LENGTH} characters`)
  }
  return meta
}

function parseTaggedAddresses (value: Record<string, unknown> | undefined): ServiceRecord['TaggedAddresses'] {
  if (value === undefined) return undefined
  const result: NonNullable<ServiceRecord['TaggedAddresses']> = {}
  for (const [tag, entry] of Object.entries(value)) {
    if (!isRecord(entry)) throw invalid(`Invalid service: TaggedAddresses.${tag} must be an object with Address and Port`)
    const fields = new PayloadFields(entry, message => invalid(`Invalid service: ${message}`), `TaggedAddresses.${tag}.`)
    result[tag] = { Address: fields.string('Address') ?? '', Port: fields.integer('Port', 0, 65535) ?? 0 }
  }
  return Object.keys(result).length === 0 ? undefined : result
}
