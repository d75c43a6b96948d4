// Validates and normalises one check definition from Consul's payloads (the body of
// PUT /v1/agent/check/register, a service's Check/Checks, a config file's checks) into the
// LocalCheck the catalog stores, with its normalised definition in `Definition`.
//
// Consul's rules: exactly one probe kind (HTTP, TCP, GRPC, Args, TTL, AliasService); interval
// kinds need Interval > 0 and no TTL; a TTL check needs TTL > 0; an alias check takes neither.
// The initial status is critical unless Status says otherwise, so a new instance receives no
// traffic before its first passing result. Script checks are refused unless enabled on the agent.

import { formatDuration } from '../../api/duration.ts'
import { splitHostPort } from './checks/tcp-check.ts'
import type { CheckSpec } from './checks/definition.ts'
import type { HealthStatus } from '../../api/catalog-types.ts'
import { InvalidCheckError, ScriptChecksDisabledError, UnknownCheckServiceError } from './errors.ts'
import { PayloadFields } from './payload-fields.ts'
import type { LocalCheck } from './local-catalog.ts'
import { isRecord } from '../../api/guards.ts'

export interface CheckOwner {
  ID: string
  Service: string
  Tags: string[]
}

export interface CheckPayloadContext {
  enableScriptChecks: boolean
  /** Set for checks embedded in a service definition; the check then belongs to it. */
  owner?: CheckOwner
  /** ID when the payload gives none: service:<id> or service:<id>:<n> for embedded checks. */
  defaultCheckId?: string
  /** This agent's node: alias checks can only follow services registered here. */
  nodeName?: string
  /** Resolves ServiceID of a standalone check; undefined means no such local service. */
  lookupService?: (serviceId: string) => CheckOwner | undefined
}

const PROBE_FIELDS = ['HTTP', 'TCP', 'GRPC', 'Args', 'TTL', 'AliasService'] as const
const UNSUPPORTED_FIELDS = ['H2PING', 'UDP', 'DockerContainerID', 'OSService', 'Shell']
const STATUSES: HealthStatus[] = ['passing', 'warning', 'critical']
const COUNTER_MAX = 1_000_000
const invalid = (message: string): Error => new InvalidCheckError(`Invalid check: ${message}`)

/**
 * A service's `Check`/`Checks` entries, as Consul reads them: an entry whose fields are all zero
 * values ({} or nulls, empty strings, zeros, false) is no check at all and is skipped.
 */
export function serviceCheckPayloads (fields: PayloadFields): unknown[] {
  const payloads: unknown[] = []
  const single = fields.raw('Check')
  if (single !== undefined) payloads.push(single)
  payloads.push(...(fields.array('Checks') ?? []))
  return payloads.filter(payload => !(isRecord(payload) && Object.values(payload).every(isZeroValue)))
}

function isZeroValue (value: unknown): boolean {
  if (value === null || value === undefined || value === '' || value === 0 || value === false) return true
  if (Array.isArray(value)) return value.length === 0
  return isRecord(value) && Object.keys(value).length === 0
}

export function normalizeCheckPayload (payload: unknown, context: CheckPayloadContext): LocalCheck {
  if (!isRecord(payload)) throw invalid('a check definition must be an object')
  const fields = new PayloadFields(payload, invalid)
  for (const field of UNSUPPORTED_FIELDS) {
    if (fields.has(field)) throw invalid(`${field} checks are not supported by mesh; use HTTP, TCP, GRPC, Args, TTL or AliasService`)
  }
  if (fields.has('Script')) throw invalid('Script is not supported; give the command as an Args array')

  const owner = context.owner ?? resolveStandaloneOwner(fields, context)
  let name = fields.string('Name')
  if (name === undefined || name === '') {
    if (context.owner === undefined) throw new InvalidCheckError('Missing check name')
    name = `Service '${context.owner.Service}' check`
  }
  // A check's name is text (it may hold "/", as "HTTP /health" does) but must still be well formed.
  fields.identifier('Name', name, { pathSegment: false })
  const explicitId = fields.string('CheckID', ['ID'])
  // A check ID may hold "/" as Consul's does (a standalone check's ID defaults to its name, e.g.
  // "HTTP /health"); the check routes take it percent-encoded as one segment ("HTTP%20%2Fhealth").
  const checkId = fields.identifier('CheckID', explicitId !== undefined && explicitId !== '' ? explicitId : (context.defaultCheckId ?? name), { pathSegment: false })

  const statusText = fields.string('Status')
  if (statusText !== undefined && statusText !== '' && !STATUSES.includes(statusText as HealthStatus)) {
    throw invalid(`Status must be one of passing, warning or critical, got ${JSON.stringify(statusText)}`)
  }
  const status: HealthStatus = statusText === undefined || statusText === '' ? 'critical' : statusText as HealthStatus

  const spec = checkSpecFromFields(fields, checkId, context.enableScriptChecks, context.nodeName)
  const record: LocalCheck = {
    CheckID: checkId,
    Name: name,
    Status: status,
    Notes: fields.string('Notes') ?? '',
    Output: '',
    ServiceID: owner?.ID ?? '',
    ServiceName: owner?.Service ?? '',
    ServiceTags: owner === undefined ? [] : [...owner.Tags],
    Type: spec.Type,
    Definition: spec as unknown as Record<string, unknown>,
  }
  if (spec.Type !== 'ttl' && spec.Type !== 'alias') {
    record.Interval = formatDuration(spec.IntervalMs)
    if (spec.TimeoutMs !== undefined) record.Timeout = formatDuration(spec.TimeoutMs)
  }
  return record
}

function resolveStandaloneOwner (fields: PayloadFields, context: CheckPayloadContext): CheckOwner | undefined {
  const serviceId = fields.string('ServiceID', ['ServiceId'])
  if (serviceId === undefined || serviceId === '') return undefined
  const owner = context.lookupService?.(serviceId)
  if (owner === undefined) throw new UnknownCheckServiceError(serviceId)
  return owner
}

function checkSpecFromFields (fields: PayloadFields, checkId: string, enableScriptChecks: boolean, nodeName: string | undefined): CheckSpec {
  const given = PROBE_FIELDS.filter(field => {
    const value = fields.raw(field, field === 'Args' ? ['ScriptArgs'] : [])
    return value !== undefined && value !== ''
  })
  if (given.length > 1) throw invalid(`only one of ${PROBE_FIELDS.join(', ')} may be set, got ${given.join(' and ')}`)
  const intervalMs = fields.durationMs('Interval')
  const ttlMs = fields.durationMs('TTL')
  const timeoutMs = fields.durationMs('Timeout')
  const kind = given[0]
  const isIntervalKind = kind === 'HTTP' || kind === 'TCP' || kind === 'GRPC' || kind === 'Args'
  if (intervalMs !== undefined && intervalMs > 0 && ttlMs !== undefined && ttlMs > 0) throw invalid('Interval and TTL cannot both be specified')
  if (isIntervalKind && (intervalMs === undefined || intervalMs <= 0)) throw invalid('Interval must be > 0 for Script, HTTP, TCP or GRPC checks')
  if (kind === 'AliasService' && intervalMs !== undefined && intervalMs > 0) throw invalid('Interval cannot be set for Alias checks')
  if (kind === undefined && (ttlMs === undefined || ttlMs <= 0)) throw invalid('TTL must be > 0 for TTL checks')

  const common = {
    SuccessBeforePassing: fields.integer('SuccessBeforePassing', 0, COUNTER_MAX),
    FailuresBeforeCritical: fields.integer('FailuresBeforeCritical', 0, COUNTER_MAX),
    FailuresBeforeWarning: fields.integer('FailuresBeforeWarning', 0, COUNTER_MAX),
    DeregisterCriticalServiceAfterMs: fields.durationMs('DeregisterCriticalServiceAfter'),
  }
  for (const key of Object.keys(common) as Array<keyof typeof common>) if (common[key] === undefined) delete common[key]
  const interval = { IntervalMs: intervalMs ?? 0, ...(timeoutMs !== undefined && timeoutMs > 0 ? { TimeoutMs: timeoutMs } : {}) }
  const tls = { TLSSkipVerify: fields.boolean('TLSSkipVerify') ?? false, TLSServerName: fields.string('TLSServerName') ?? '' }

  switch (kind) {
    case 'HTTP': {
      const url = fields.string('HTTP') as string
      let parsed: URL | undefined
      try { parsed = new URL(url) } catch { parsed = undefined }
      if (parsed === undefined || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
        throw invalid(`HTTP must be an http:// or https:// URL, got ${JSON.stringify(url)}`)
      }
      const method = fields.string('Method') ?? ''
      if (method !== '' && !/^[A-Za-z]{1,16}$/.test(method)) throw invalid(`Method ${JSON.stringify(method)} is not an HTTP method`)
      return { Type: 'http', HTTP: url, Method: method === '' ? 'GET' : method.toUpperCase(), Header: headerMap(fields), Body: fields.string('Body') ?? '', ...tls, ...interval, ...common }
    }
    case 'TCP': {
      const address = fields.string('TCP') as string
      try { splitHostPort(address) } catch { throw invalid(`TCP must be host:port, got ${JSON.stringify(address)}`) }
      return { Type: 'tcp', TCP: address, ...interval, ...common }
    }
    case 'GRPC': {
      const target = fields.string('GRPC') as string
      try { splitHostPort(target.split('/')[0]) } catch { throw invalid(`GRPC must be host:port or host:port/service, got ${JSON.stringify(target)}`) }
      return { Type: 'grpc', GRPC: target, GRPCUseTLS: fields.boolean('GRPCUseTLS') ?? false, ...tls, ...interval, ...common }
    }
    case 'Args': {
      const args = fields.stringArray('Args', ['ScriptArgs']) as string[]
      if (args.length === 0 || args[0] === '') throw invalid('Args must name the program to run')
      if (!enableScriptChecks) throw new ScriptChecksDisabledError(checkId)
      return { Type: 'script', Args: args, ...interval, ...common }
    }
    case 'AliasService': {
      if (ttlMs !== undefined && ttlMs > 0) throw invalid('TTL must not be set for Alias checks')
      const aliasNode = fields.string('AliasNode') ?? ''
      if (aliasNode !== '' && aliasNode !== nodeName) throw invalid(`AliasNode ${JSON.stringify(aliasNode)}: alias checks can only follow services on this agent`)
      return { Type: 'alias', AliasService: fields.string('AliasService') as string, AliasNode: aliasNode, ...common }
    }
    default:
      return { Type: 'ttl', TTLMs: ttlMs as number, ...common }
  }
}

function headerMap (fields: PayloadFields): Record<string, string[]> {
  const value = fields.object('Header') ?? {}
  const header: Record<string, string[]> = {}
  for (const [name, values] of Object.entries(value)) {
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) throw invalid(`Header name ${JSON.stringify(name)} is not a valid HTTP header name`)
    if (!Array.isArray(values) || !values.every(item => typeof item === 'string' && !/[\r\n\0]/.test(item))) {
      throw invalid(`Header ${JSON.stringify(name)} must be an array of strings without line breaks`)
    }
    header[name] = [...values] as string[]
  }
  return header
}
