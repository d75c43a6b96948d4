// Validation of the config entries that shape traffic: service-resolver (timeouts and Subsets by
// filter), service-splitter (weighted Splits, for canaries), and the traffic fields of
// service-defaults — Consul's RateLimits (InstanceLevel and per-route) plus mesh's RateLimits.Consumers
// (per calling service), FaultInjection and UpstreamConfig.Defaults.Limits. Each rule names the
// field it refuses.

import { compileFilter } from '../../catalog/filter.ts'
import { parseDurationMs } from '../../api/duration.ts'
import { badRequest } from './errors.ts'
import { isRecord } from '../../api/guards.ts'
import { compileFullMatchRegex } from '../../api/intentions/match.ts'
import { validateServiceName } from '../../api/intentions/validate.ts'

export const SERVICE_RESOLVER_KIND = 'service-resolver'
export const SERVICE_SPLITTER_KIND = 'service-splitter'
export const SERVICE_ROUTER_KIND = 'service-router'

export const TRAFFIC_FIELDS: Record<string, readonly string[]> = {
  [SERVICE_RESOLVER_KIND]: ['Kind', 'Name', 'Namespace', 'Partition', 'DefaultSubset', 'Subsets', 'ConnectTimeout', 'RequestTimeout', 'Meta', 'CreateIndex', 'ModifyIndex'],
  [SERVICE_SPLITTER_KIND]: ['Kind', 'Name', 'Namespace', 'Partition', 'Splits', 'Meta', 'CreateIndex', 'ModifyIndex'],
  [SERVICE_ROUTER_KIND]: ['Kind', 'Name', 'Namespace', 'Partition', 'Routes', 'Meta', 'CreateIndex', 'ModifyIndex'],
}

/** Protocols whose requests a router, splitter or resolver can look into (Consul's IsProtocolHTTPLike). */
export const HTTP_LIKE_PROTOCOLS: ReadonlySet<string> = new Set(['http', 'http2', 'grpc'])

const SUBSET_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/
const MAX_SUBSETS = 64
const MAX_SPLITS = 64
const MAX_RULES = 256
const MAX_FAULT_DELAY_MS = 60_000

function number (value: unknown, field: string, min: number, max: number, required = false): void {
  if (value === undefined && !required) return
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw badRequest(`${field} must be a number from ${min} to ${max}`)
  }
}

/** As `number`, for counts and status codes: the proxy refuses a snapshot carrying a fraction. */
function wholeNumber (value: unknown, field: string, min: number, max: number): void {
  number(value, field, min, max)
  if (value !== undefined && !Number.isInteger(value)) throw badRequest(`${field} must be a whole number from ${min} to ${max}`)
}

function list (value: unknown, field: string, max: number): unknown[] {
  if (value === undefined) return []
  if (!Array.isArray(value)) throw badRequest(`${field} must be a list`)
  if (value.length > max) throw badRequest(`${field} has more than ${max} items`)
  return value
}

function duration (value: unknown, field: string): void {
  if (value === undefined || value === '') return
  try {
    parseDurationMs(value as string | number)
  } catch (error) {
    throw badRequest(`${field}: ${(error as Error).message}`)
  }
}

function validateResolver (entry: Record<string, unknown>): void {
  duration(entry.ConnectTimeout, 'ConnectTimeout')
  duration(entry.RequestTimeout, 'RequestTimeout')
  if (entry.Subsets !== undefined && !isRecord(entry.Subsets)) throw badRequest('Subsets must be an object of name → subset')
  const subsets = Object.entries(entry.Subsets ?? {})
  if (subsets.length > MAX_SUBSETS) throw badRequest(`Subsets has more than ${MAX_SUBSETS} entries`)
  for (const [name, subset] of subsets) {
    if (!SUBSET_NAME.test(name)) throw badRequest(`Subset name "${name}" must be a DNS label of lower-case letters, digits and '-'`)
    if (!isRecord(subset)) throw badRequest(`Subsets["${name}"] must be an object`)
    if (subset.Filter !== undefined) {
      if (typeof subset.Filter !== 'string') throw badRequest(`Subsets["${name}"].Filter must be a string`)
      try {
        compileFilter(subset.Filter)
      } catch (error) {
        throw badRequest(`Subsets["${name}"].Filter: ${(error as Error).message}`)
      }
    }
    if (subset.OnlyPassing !== undefined && typeof subset.OnlyPassing !== 'boolean') throw badRequest(`Subsets["${name}"].OnlyPassing must be a boolean`)
  }
  if (entry.DefaultSubset !== undefined && entry.DefaultSubset !== '' && !subsets.some(([name]) => name === entry.DefaultSubset)) {
    throw badRequest(`DefaultSubset "${String(entry.DefaultSubset)}" is not one of the Subsets`)
  }
}

function validateSplitter (entry: Record<string, unknown>): void {
  const splits = list(entry.Splits, 'Splits', MAX_SPLITS)
  if (splits.length === 0) throw badRequest('Splits must have at least one split')
  let total = 0
  for (const [index, split] of splits.entries()) {
    if (!isRecord(split)) throw badRequest(`Splits[${index}] must be an object`)
    number(split.Weight, `Splits[${index}].Weight`, 0, 100, true)
    total += split.Weight as number
    if (split.ServiceSubset !== undefined && (typeof split.ServiceSubset !== 'string' || (split.ServiceSubset !== '' && !SUBSET_NAME.test(split.ServiceSubset)))) {
      throw badRequest(`Splits[${index}].ServiceSubset must be a subset name`)
    }
    if (split.Service !== undefined && split.Service !== entry.Name) throw badRequest(`Splits[${index}].Service: mesh splits only between subsets of ${String(entry.Name)}`)
  }
  // Consul's rule: the weights add up to 100, to two decimal places.
  if (Math.round(total * 100) !== 10_000) throw badRequest(`the sum of all split weights must be 100, not ${Math.round(total * 100) / 100}`)
}

const MAX_ROUTES = 256
const HTTP_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE'])
/** Consul's isValidRetryCondition. */
const RETRY_CONDITIONS = new Set(['5xx', 'gateway-error', 'reset', 'connect-failure', 'envoy-ratelimited', 'retriable-4xx',
  'refused-stream', 'cancelled', 'deadline-exceeded', 'internal', 'resource-exhausted', 'unavailable'])
const HTTP_MATCH_FIELDS = new Set(['PathExact', 'PathPrefix', 'PathRegex', 'Header', 'QueryParam', 'Methods'])
const HEADER_FIELDS = new Set(['Name', 'Present', 'Exact', 'Prefix', 'Suffix', 'Regex', 'Invert'])
const QUERY_FIELDS = new Set(['Name', 'Present', 'Exact', 'Regex'])
const DESTINATION_FIELDS = new Set(['Service', 'ServiceSubset', 'Namespace', 'Partition', 'PrefixRewrite', 'RequestTimeout', 'IdleTimeout',
  'NumRetries', 'RetryOnConnectFailure', 'RetryOnStatusCodes', 'RetryOn', 'RequestHeaders', 'ResponseHeaders'])
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/

function knownFields (value: Record<string, unknown>, known: ReadonlySet<string>, field: string): void {
  for (const key of Object.keys(value)) if (!known.has(key)) throw badRequest(`${field}: unknown field "${key}"`)
}

function optionalString (value: unknown, field: string): string {
  if (value === undefined) return ''
  if (typeof value !== 'string') throw badRequest(`${field} must be a string`)
  return value
}

function optionalBoolean (value: unknown, field: string): boolean {
  if (value === undefined) return false
  if (typeof value !== 'boolean') throw badRequest(`${field} must be a boolean`)
  return value
}

function regex (pattern: string, field: string): void {
  try {
    compileFullMatchRegex(pattern, field)
  } catch (error) {
    throw badRequest((error as Error).message)
  }
}

function headerName (value: unknown, field: string): void {
  if (typeof value !== 'string' || value === '') throw badRequest(`${field} missing required Name field`)
  if (!HEADER_NAME.test(value)) throw badRequest(`${field} Name ${JSON.stringify(value)} is not a valid header name`)
}

function headerModifiers (value: unknown, field: string): void {
  if (value === undefined) return
  if (!isRecord(value)) throw badRequest(`${field} must be an object`)
  knownFields(value, new Set(['Add', 'Set', 'Remove']), field)
  for (const key of ['Add', 'Set']) {
    const map = value[key]
    if (map === undefined) continue
    if (!isRecord(map)) throw badRequest(`${field}.${key} must be an object of header name → value`)
    for (const [name, headerValue] of Object.entries(map)) {
      if (!HEADER_NAME.test(name)) throw badRequest(`${field}.${key}: ${JSON.stringify(name)} is not a valid header name`)
      if (typeof headerValue !== 'string' || /[\r\n\0]/.test(headerValue)) throw badRequest(`${field}.${key}["${name}"] must be a string without CR, LF or NUL`)
    }
  }
  for (const [index, name] of list(value.Remove, `${field}.Remove`, MAX_RULES).entries()) {
    if (typeof name !== 'string' || !HEADER_NAME.test(name)) throw badRequest(`${field}.Remove[${index}] must be a header name`)
  }
}

function validateRouteMatch (match: unknown, at: string): boolean {
  if (match === undefined) return false
  if (!isRecord(match)) throw badRequest(`${at} Match must be an object`)
  knownFields(match, new Set(['HTTP']), `${at} Match`)
  const http = match.HTTP
  if (http === undefined) return false
  if (!isRecord(http)) throw badRequest(`${at} Match.HTTP must be an object`)
  knownFields(http, HTTP_MATCH_FIELDS, `${at} Match.HTTP`)
  const pathExact = optionalString(http.PathExact, `${at} PathExact`)
  const pathPrefix = optionalString(http.PathPrefix, `${at} PathPrefix`)
  const pathRegex = optionalString(http.PathRegex, `${at} PathRegex`)
  if (pathExact !== '' && !pathExact.startsWith('/')) throw badRequest(`${at} PathExact doesn't start with '/': ${JSON.stringify(pathExact)}`)
  if (pathPrefix !== '' && !pathPrefix.startsWith('/')) throw badRequest(`${at} PathPrefix doesn't start with '/': ${JSON.stringify(pathPrefix)}`)
  if ([pathExact, pathPrefix, pathRegex].filter((path) => path !== '').length > 1) throw badRequest(`${at} should only contain at most one of PathExact, PathPrefix, or PathRegex`)
  if (pathRegex !== '') regex(pathRegex, `${at} PathRegex`)
  for (const [index, header] of list(http.Header, `${at} Header`, MAX_RULES).entries()) {
    const field = `${at} Header[${index}]`
    if (!isRecord(header)) throw badRequest(`${field} must be an object`)
    knownFields(header, HEADER_FIELDS, field)
    headerName(header.Name, field)
    const present = optionalBoolean(header.Present, `${field}.Present`)
    optionalBoolean(header.Invert, `${field}.Invert`)
    const kinds = ['Exact', 'Prefix', 'Suffix', 'Regex'].filter((key) => optionalString(header[key], `${field}.${key}`) !== '')
    if (kinds.length + (present ? 1 : 0) !== 1) throw badRequest(`${field} should only contain one of Present, Exact, Prefix, Suffix, or Regex`)
    if (header.Regex !== undefined && header.Regex !== '') regex(header.Regex as string, `${field}.Regex`)
  }
  for (const [index, param] of list(http.QueryParam, `${at} QueryParam`, MAX_RULES).entries()) {
    const field = `${at} QueryParam[${index}]`
    if (!isRecord(param)) throw badRequest(`${field} must be an object`)
    knownFields(param, QUERY_FIELDS, field)
    if (typeof param.Name !== 'string' || param.Name === '') throw badRequest(`${field} missing required Name field`)
    const present = optionalBoolean(param.Present, `${field}.Present`)
    const kinds = ['Exact', 'Regex'].filter((key) => optionalString(param[key], `${field}.${key}`) !== '')
    if (kinds.length + (present ? 1 : 0) !== 1) throw badRequest(`${field} should only contain one of Present, Exact, or Regex`)
    if (param.Regex !== undefined && param.Regex !== '') regex(param.Regex as string, `${field}.Regex`)
  }
  const seen = new Set<string>()
  for (const method of list(http.Methods, `${at} Methods`, HTTP_METHODS.size)) {
    const upper = typeof method === 'string' ? method.toUpperCase() : ''
    if (!HTTP_METHODS.has(upper)) throw badRequest(`${at} Methods contains an invalid method ${JSON.stringify(method)}`)
    if (seen.has(upper)) throw badRequest(`${at} Methods contains ${JSON.stringify(upper)} more than once`)
    seen.add(upper)
  }
  return pathExact !== '' || pathPrefix !== ''
}

function validateRouteDestination (destination: unknown, at: string, eligibleForPrefixRewrite: boolean): void {
  if (destination === undefined) return
  if (!isRecord(destination)) throw badRequest(`${at} Destination must be an object`)
  knownFields(destination, DESTINATION_FIELDS, `${at} Destination`)
  const service = optionalString(destination.Service, `${at} Destination.Service`)
  if (service !== '') {
    try {
      validateServiceName(service, `${at} Destination.Service`)
    } catch (error) {
      throw badRequest((error as Error).message)
    }
  }
  const subset = optionalString(destination.ServiceSubset, `${at} Destination.ServiceSubset`)
  if (subset !== '' && !SUBSET_NAME.test(subset)) throw badRequest(`${at} Destination.ServiceSubset must be a subset name`)
  for (const key of ['Namespace', 'Partition']) {
    const value = optionalString(destination[key], `${at} Destination.${key}`)
    if (value !== '' && value !== 'default') throw badRequest(`${at} Destination.${key} "${value}" is not supported: mesh has only "default"`)
  }
  const rewrite = optionalString(destination.PrefixRewrite, `${at} Destination.PrefixRewrite`)
  if (rewrite !== '' && !eligibleForPrefixRewrite) throw badRequest(`${at} cannot make use of PrefixRewrite without configuring either PathExact or PathPrefix`)
  if (rewrite !== '' && !rewrite.startsWith('/')) throw badRequest(`${at} Destination.PrefixRewrite must begin with '/'`)
  duration(destination.RequestTimeout, `${at} Destination.RequestTimeout`)
  duration(destination.IdleTimeout, `${at} Destination.IdleTimeout`)
  wholeNumber(destination.NumRetries, `${at} Destination.NumRetries`, 0, 100)
  optionalBoolean(destination.RetryOnConnectFailure, `${at} Destination.RetryOnConnectFailure`)
  for (const [index, code] of list(destination.RetryOnStatusCodes, `${at} Destination.RetryOnStatusCodes`, 100).entries()) {
    wholeNumber(code, `${at} Destination.RetryOnStatusCodes[${index}]`, 100, 599)
  }
  for (const condition of list(destination.RetryOn, `${at} Destination.RetryOn`, RETRY_CONDITIONS.size)) {
    if (typeof condition !== 'string' || !RETRY_CONDITIONS.has(condition)) throw badRequest(`${at} contains an invalid retry condition: ${JSON.stringify(condition)}`)
  }
  headerModifiers(destination.RequestHeaders, `${at} Destination.RequestHeaders`)
  headerModifiers(destination.ResponseHeaders, `${at} Destination.ResponseHeaders`)
}

/** Consul's ServiceRouterConfigEntry.Validate, with its messages, plus the types JSON leaves open. */
function validateRouter (entry: Record<string, unknown>): void {
  for (const [index, route] of list(entry.Routes, 'Routes', MAX_ROUTES).entries()) {
    const at = `Route[${index}]`
    if (!isRecord(route)) throw badRequest(`${at} must be an object`)
    knownFields(route, new Set(['Match', 'Destination']), at)
    const eligible = validateRouteMatch(route.Match, at)
    validateRouteDestination(route.Destination, at, eligible)
  }
}

/** The services a router leads to, the router's own (the default route) first. */
export function routerDestinations (entry: Record<string, unknown>): string[] {
  const name = String(entry.Name)
  const services = new Set([name])
  for (const route of Array.isArray(entry.Routes) ? entry.Routes : []) {
    const service = isRecord(route) && isRecord(route.Destination) ? route.Destination.Service : undefined
    services.add(typeof service === 'string' && service !== '' ? service : name)
  }
  return [...services]
}

/** Only UpstreamConfig.Defaults.Limits has an effect in mesh, so only it is checked. */
function validateUpstreamLimits (upstreamConfig: unknown): void {
  if (!isRecord(upstreamConfig) || !isRecord(upstreamConfig.Defaults) || upstreamConfig.Defaults.Limits === undefined) return
  const limits = upstreamConfig.Defaults.Limits
  if (!isRecord(limits)) throw badRequest('UpstreamConfig.Defaults.Limits must be an object')
  for (const key of ['MaxConnections', 'MaxPendingRequests', 'MaxConcurrentRequests']) {
    wholeNumber(limits[key], `UpstreamConfig.Defaults.Limits.${key}`, 0, 1e9)
  }
}

function validateDefaultsTraffic (entry: Record<string, unknown>): void {
  if (entry.RateLimits !== undefined) {
    if (!isRecord(entry.RateLimits)) throw badRequest('RateLimits must be an object')
    const instance = entry.RateLimits.InstanceLevel
    if (instance !== undefined) {
      if (!isRecord(instance)) throw badRequest('RateLimits.InstanceLevel must be an object')
      number(instance.RequestsPerSecond, 'RateLimits.InstanceLevel.RequestsPerSecond', 0, 1e9)
      number(instance.RequestsMaxBurst, 'RateLimits.InstanceLevel.RequestsMaxBurst', 0, 1e9)
      for (const [index, route] of list(instance.Routes, 'RateLimits.InstanceLevel.Routes', MAX_RULES).entries()) {
        const field = `RateLimits.InstanceLevel.Routes[${index}]`
        if (!isRecord(route)) throw badRequest(`${field} must be an object`)
        const paths = ['PathExact', 'PathPrefix', 'PathRegex'].filter((key) => route[key] !== undefined)
        if (paths.length !== 1) throw badRequest(`${field} needs exactly one of PathExact, PathPrefix, PathRegex`)
        if (route.PathRegex !== undefined) throw badRequest(`${field}.PathRegex is not supported by mesh; use PathPrefix or PathExact`)
        const path = route[paths[0]]
        if (typeof path !== 'string' || !path.startsWith('/')) throw badRequest(`${field}.${paths[0]} must begin with '/'`)
        number(route.RequestsPerSecond, `${field}.RequestsPerSecond`, 0, 1e9, true)
        number(route.RequestsMaxBurst, `${field}.RequestsMaxBurst`, 0, 1e9)
      }
    }
    for (const [index, consumer] of list(entry.RateLimits.Consumers, 'RateLimits.Consumers', MAX_RULES).entries()) {
      const field = `RateLimits.Consumers[${index}]`
      if (!isRecord(consumer)) throw badRequest(`${field} must be an object`)
      if (consumer.Name !== undefined && typeof consumer.Name !== 'string') throw badRequest(`${field}.Name must be a service name`)
      if (consumer.PathPrefix !== undefined && (typeof consumer.PathPrefix !== 'string' || !consumer.PathPrefix.startsWith('/'))) throw badRequest(`${field}.PathPrefix must begin with '/'`)
      number(consumer.RequestsPerSecond, `${field}.RequestsPerSecond`, 0, 1e9, true)
      number(consumer.RequestsMaxBurst, `${field}.RequestsMaxBurst`, 0, 1e9)
    }
  }
  validateUpstreamLimits(entry.UpstreamConfig)
  for (const [index, fault] of list(entry.FaultInjection, 'FaultInjection', MAX_RULES).entries()) {
    const field = `FaultInjection[${index}]`
    if (!isRecord(fault)) throw badRequest(`${field} must be an object`)
    if (fault.PathPrefix !== undefined && (typeof fault.PathPrefix !== 'string' || !fault.PathPrefix.startsWith('/'))) throw badRequest(`${field}.PathPrefix must begin with '/'`)
    number(fault.DelayMs, `${field}.DelayMs`, 0, MAX_FAULT_DELAY_MS)
    number(fault.DelayPercent, `${field}.DelayPercent`, 0, 100)
    wholeNumber(fault.AbortStatusCode, `${field}.AbortStatusCode`, 200, 599)
    number(fault.AbortPercent, `${field}.AbortPercent`, 0, 100)
    if (fault.DelayMs === undefined && fault.AbortStatusCode === undefined) throw badRequest(`${field} needs DelayMs or AbortStatusCode`)
  }
}

/** Throws a 400 HttpError naming the first problem in a traffic-shaping entry. */
export function validateTrafficEntry (kind: string, entry: Record<string, unknown>): void {
  if (kind === SERVICE_RESOLVER_KIND) validateResolver(entry)
  else if (kind === SERVICE_SPLITTER_KIND) validateSplitter(entry)
  else if (kind === SERVICE_ROUTER_KIND) validateRouter(entry)
  else if (kind === 'service-defaults') validateDefaultsTraffic(entry)
}
