// Validation of the config entries that shape traffic: service-resolver (timeouts and Subsets by
// filter), service-splitter (weighted Splits, for canaries), and the traffic fields of
// service-defaults — Consul's RateLimits (InstanceLevel and per-route) plus mesh's RateLimits.Consumers
// (per calling service), FaultInjection and UpstreamConfig.Defaults.Limits. Each rule names the
// field it refuses.

import { compileFilter } from '../../catalog/filter.ts'
import { parseDurationMs } from '../../api/duration.ts'
import { badRequest } from './errors.ts'
import { isRecord } from '../../api/guards.ts'

export const SERVICE_RESOLVER_KIND = 'service-resolver'
export const SERVICE_SPLITTER_KIND = 'service-splitter'

export const TRAFFIC_FIELDS: Record<string, readonly string[]> = {
  [SERVICE_RESOLVER_KIND]: ['Kind', 'Name', 'Namespace', 'Partition', 'DefaultSubset', 'Subsets', 'ConnectTimeout', 'RequestTimeout', 'Meta', 'CreateIndex', 'ModifyIndex'],
  [SERVICE_SPLITTER_KIND]: ['Kind', 'Name', 'Namespace', 'Partition', 'Splits', 'Meta', 'CreateIndex', 'ModifyIndex'],
}

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
  else if (kind === 'service-defaults') validateDefaultsTraffic(entry)
}
