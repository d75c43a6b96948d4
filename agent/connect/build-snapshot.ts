// Builds a sidecar's ProxySnapshot from what the agent knows: the proxy's registration, its leaf
// and roots, the destination services' healthy sidecars in the catalog, and the config entries
// that shape traffic — service-defaults (Protocol, RateLimits, UpstreamConfig limits, mesh's
// FaultInjection), service-router (routes by path, header, query and method, in Consul's
// discovery-chain order router → splitter → resolver: each route's destination service resolved
// with its own splitter and resolver), service-resolver (timeouts, Subsets by filter) and
// service-splitter (Splits by subset, for canaries). A pure function of its inputs, so the routing decisions are testable
// without sockets; entries that do not parse are reported through `warn` and ignored.

import type { HealthServiceResult } from '../../api/catalog-types.ts'
import type { ServiceRecord } from '../../api/catalog-types.ts'
import type { Authorizer } from '../../api/authorizer.ts'
import type { Endpoint, FaultInjection, HeaderMutation, ProxyLimits, ProxyProtocol, ProxySnapshot, RateLimit, RouteDestinationSnapshot, RouteHeaderMatch, RouteMatch, RouteQueryMatch, RouteSnapshot, SplitLeg, UpstreamSnapshot } from '../../proxy/snapshot.ts'
import { parseDurationMs } from '../../api/duration.ts'
import { isRecord } from '../../api/guards.ts'

export const DEFAULT_CONNECT_TIMEOUT_MS = 5000
export const DEFAULT_REQUEST_TIMEOUT_MS = 15_000

export interface SnapshotInputs {
  proxy: ServiceRecord
  nodeAddress: string
  trustDomain: string
  datacenter: string
  leaf: { CertPEM: string, PrivateKeyPEM: string }
  rootsPem: string[]
  configEntry: (kind: string, name: string) => Record<string, unknown> | undefined
  /** Sidecars (connect-proxy services) in front of `service`, with their health. */
  sidecarsOf: (service: string) => HealthServiceResult[]
  authorizer: (destination: string, protocol: ProxyProtocol) => Authorizer
  compileFilter: (expression: string) => (value: unknown) => boolean
  warn: (message: string) => void
}

const positive = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : undefined

export function protocolOf (inputs: Pick<SnapshotInputs, 'configEntry'>, service: string): ProxyProtocol {
  const defaults = inputs.configEntry('service-defaults', service)
  const global = inputs.configEntry('proxy-defaults', 'global')
  const configured = defaults?.Protocol ?? (isRecord(global?.Config) ? (global.Config.protocol ?? global.Config.Protocol) : undefined)
  if (configured === 'http') return 'http'
  if (configured === 'http2' || configured === 'grpc') return 'http2'
  return 'tcp'
}

function durationMs (value: unknown, fallback: number, field: string, warn: (message: string) => void): number {
  if (value === undefined) return fallback
  try {
    const ms = parseDurationMs(value as string | number)
    return ms > 0 ? ms : fallback
  } catch {
    warn(`${field}: invalid duration ${JSON.stringify(value)}`)
    return fallback
  }
}

function rateLimitsOf (defaults: Record<string, unknown> | undefined): RateLimit[] {
  const limits: RateLimit[] = []
  const config = isRecord(defaults?.RateLimits) ? defaults.RateLimits : undefined
  const instance = isRecord(config?.InstanceLevel) ? config.InstanceLevel : undefined
  const perSecond = positive(instance?.RequestsPerSecond)
  if (perSecond !== undefined) {
    limits.push({ scope: 'service', requestsPerSecond: perSecond, burst: positive(instance?.RequestsMaxBurst) ?? perSecond })
  }
  for (const route of Array.isArray(instance?.Routes) ? instance.Routes : []) {
    if (!isRecord(route)) continue
    const prefix = typeof route.PathPrefix === 'string' ? route.PathPrefix : typeof route.PathExact === 'string' ? route.PathExact : undefined
    const rate = positive(route.RequestsPerSecond)
    if (prefix === undefined || rate === undefined) continue
    limits.push({ scope: 'path', pathPrefix: prefix, requestsPerSecond: rate, burst: positive(route.RequestsMaxBurst) ?? rate })
  }
  for (const consumer of Array.isArray(config?.Consumers) ? config.Consumers : []) {
    if (!isRecord(consumer)) continue
    const rate = positive(consumer.RequestsPerSecond)
    if (rate === undefined) continue
    limits.push({
      scope: 'consumer',
      ...(typeof consumer.Name === 'string' ? { consumer: consumer.Name } : {}),
      ...(typeof consumer.PathPrefix === 'string' ? { pathPrefix: consumer.PathPrefix } : {}),
      requestsPerSecond: rate,
      burst: positive(consumer.RequestsMaxBurst) ?? rate,
    })
  }
  return limits
}

/** A fault's share of requests in percent; absent means every request, and 0 means none (not absent). */
const percent = (value: unknown): number =>
  typeof value === 'number' && Number.isFinite(value) ? Math.min(100, Math.max(0, value)) : 100

function faultsOf (defaults: Record<string, unknown> | undefined): FaultInjection[] {
  const faults: FaultInjection[] = []
  for (const fault of Array.isArray(defaults?.FaultInjection) ? defaults.FaultInjection : []) {
    if (!isRecord(fault)) continue
    const entry: FaultInjection = {}
    if (typeof fault.PathPrefix === 'string') entry.pathPrefix = fault.PathPrefix
    if (positive(fault.DelayMs) !== undefined) { entry.delayMs = fault.DelayMs as number; entry.delayPercent = percent(fault.DelayPercent) }
    const status = fault.AbortStatusCode
    if (typeof status === 'number' && Number.isInteger(status) && status >= 200 && status <= 599) {
      entry.abortStatusCode = status
      entry.abortPercent = percent(fault.AbortPercent)
    }
    if (entry.delayMs !== undefined || entry.abortStatusCode !== undefined) faults.push(entry)
  }
  return faults
}

const count = (value: unknown): number | undefined =>
  Number.isInteger(value) && (value as number) > 0 ? value as number : undefined

function limitsOf (defaults: Record<string, unknown> | undefined): ProxyLimits | undefined {
  const upstream = isRecord(defaults?.UpstreamConfig) && isRecord(defaults.UpstreamConfig.Defaults) ? defaults.UpstreamConfig.Defaults : undefined
  const limits = isRecord(upstream?.Limits) ? upstream.Limits : undefined
  if (limits === undefined) return undefined
  const result: ProxyLimits = {}
  if (count(limits.MaxConnections) !== undefined) result.maxConnections = limits.MaxConnections as number
  if (count(limits.MaxPendingRequests) !== undefined) result.maxPendingRequests = limits.MaxPendingRequests as number
  if (count(limits.MaxConcurrentRequests) !== undefined) result.maxConcurrentRequests = limits.MaxConcurrentRequests as number
  return Object.keys(result).length === 0 ? undefined : result
}

function endpointsOf (inputs: SnapshotInputs, destination: string, resolver: Record<string, unknown> | undefined): Endpoint[] {
  const subsets: Array<{ name: string, matches: (value: unknown) => boolean }> = []
  if (isRecord(resolver?.Subsets)) {
    for (const [name, subset] of Object.entries(resolver.Subsets)) {
      if (!isRecord(subset) || typeof subset.Filter !== 'string') continue
      try {
        subsets.push({ name, matches: inputs.compileFilter(subset.Filter) })
      } catch (error) {
        inputs.warn(`service-resolver ${destination}: subset ${name}: ${(error as Error).message}`)
      }
    }
  }
  const endpoints: Endpoint[] = []
  for (const result of inputs.sidecarsOf(destination)) {
    const worst = result.Checks.some((check) => check.Status === 'critical' || check.Status === 'maintenance')
      ? 'critical'
      : result.Checks.some((check) => check.Status === 'warning') ? 'warning' : 'passing'
    if (worst === 'critical') continue
    // Subsets are defined over the destination service instance the sidecar fronts.
    const destinationId = result.Service.Proxy?.DestinationServiceID
    const fronted = { Node: result.Node, Service: { ...result.Service, Meta: result.Service.Meta, ID: destinationId ?? result.Service.ID }, Checks: result.Checks }
    const subset = subsets.find((candidate) => candidate.matches(fronted))?.name
    endpoints.push({
      id: `${result.Node.Node}/${result.Service.ID}`,
      address: result.Service.Address !== '' ? result.Service.Address : result.Node.Address,
      port: result.Service.Port,
      spiffeId: `spiffe://${inputs.trustDomain}/ns/default/dc/${result.Node.Datacenter}/svc/${destination}`,
      weight: worst === 'warning' ? result.Service.Weights.Warning : result.Service.Weights.Passing,
      ...(subset === undefined ? {} : { subset }),
    })
  }
  return endpoints
}

function splitOf (splitter: Record<string, unknown> | undefined): SplitLeg[] | undefined {
  if (!Array.isArray(splitter?.Splits)) return undefined
  const legs: SplitLeg[] = []
  for (const split of splitter.Splits) {
    if (!isRecord(split) || typeof split.Weight !== 'number' || split.Weight < 0) continue
    legs.push({ subset: typeof split.ServiceSubset === 'string' ? split.ServiceSubset : '', weight: split.Weight })
  }
  return legs.length === 0 ? undefined : legs
}

const str = (value: unknown): string | undefined => typeof value === 'string' && value !== '' ? value : undefined

function headerMatchOf (header: Record<string, unknown>): RouteHeaderMatch {
  const result: RouteHeaderMatch = { name: String(header.Name).toLowerCase() }
  if (header.Present === true) result.present = true
  for (const [from, to] of [['Exact', 'exact'], ['Prefix', 'prefix'], ['Suffix', 'suffix'], ['Regex', 'regex']] as const) {
    const value = str(header[from])
    if (value !== undefined) result[to] = value
  }
  if (header.Invert === true) result.invert = true
  return result
}

function queryMatchOf (param: Record<string, unknown>): RouteQueryMatch {
  const result: RouteQueryMatch = { name: String(param.Name) }
  if (param.Present === true) result.present = true
  const exact = str(param.Exact)
  const regex = str(param.Regex)
  if (exact !== undefined) result.exact = exact
  if (regex !== undefined) result.regex = regex
  return result
}

function routeMatchOf (match: unknown): RouteMatch {
  const http = isRecord(match) && isRecord(match.HTTP) ? match.HTTP : undefined
  const result: RouteMatch = {}
  if (http === undefined) return result
  const pathExact = str(http.PathExact)
  const pathPrefix = str(http.PathPrefix)
  const pathRegex = str(http.PathRegex)
  if (pathExact !== undefined) result.pathExact = pathExact
  else if (pathPrefix !== undefined) result.pathPrefix = pathPrefix
  else if (pathRegex !== undefined) result.pathRegex = pathRegex
  const headers = (Array.isArray(http.Header) ? http.Header : []).filter(isRecord).map(headerMatchOf)
  if (headers.length > 0) result.headers = headers
  const queryParams = (Array.isArray(http.QueryParam) ? http.QueryParam : []).filter(isRecord).map(queryMatchOf)
  if (queryParams.length > 0) result.queryParams = queryParams
  const methods = (Array.isArray(http.Methods) ? http.Methods : []).filter((method): method is string => typeof method === 'string').map((method) => method.toUpperCase())
  if (methods.length > 0) result.methods = methods
  return result
}

function headerMutationOf (value: unknown): HeaderMutation | undefined {
  if (!isRecord(value)) return undefined
  const lower = (map: unknown): Record<string, string> | undefined => {
    if (!isRecord(map)) return undefined
    const entries = Object.entries(map).filter((entry): entry is [string, string] => typeof entry[1] === 'string')
    return entries.length === 0 ? undefined : Object.fromEntries(entries.map(([name, item]) => [name.toLowerCase(), item]))
  }
  const result: HeaderMutation = {}
  const add = lower(value.Add)
  const set = lower(value.Set)
  const remove = (Array.isArray(value.Remove) ? value.Remove : []).filter((name): name is string => typeof name === 'string').map((name) => name.toLowerCase())
  if (add !== undefined) result.add = add
  if (set !== undefined) result.set = set
  if (remove.length > 0) result.remove = remove
  return Object.keys(result).length === 0 ? undefined : result
}

/** One route of a service-router entry for the proxy; its Service defaults to the router's own. */
function routeOf (route: Record<string, unknown>, routerName: string, warn: (message: string) => void): RouteSnapshot {
  const destination = isRecord(route.Destination) ? route.Destination : {}
  const result: RouteSnapshot = { match: routeMatchOf(route.Match), destination: str(destination.Service) ?? routerName }
  const subset = str(destination.ServiceSubset)
  if (subset !== undefined) result.subset = subset
  const rewrite = str(destination.PrefixRewrite)
  if (rewrite !== undefined && (result.match.pathPrefix !== undefined || result.match.pathExact !== undefined)) result.prefixRewrite = rewrite
  if (destination.RequestTimeout !== undefined && destination.RequestTimeout !== '') {
    const timeout = durationMs(destination.RequestTimeout, 0, `service-router ${routerName}: RequestTimeout`, warn)
    if (timeout > 0) result.requestTimeoutMs = timeout
  }
  if (Number.isInteger(destination.NumRetries) && (destination.NumRetries as number) > 0) result.numRetries = destination.NumRetries as number
  if (destination.RetryOnConnectFailure === true) result.retryOnConnectFailure = true
  const codes = (Array.isArray(destination.RetryOnStatusCodes) ? destination.RetryOnStatusCodes : []).filter((code): code is number => Number.isInteger(code))
  if (codes.length > 0) result.retryOnStatusCodes = codes
  const retryOn = (Array.isArray(destination.RetryOn) ? destination.RetryOn : []).filter((condition): condition is string => typeof condition === 'string')
  if (retryOn.length > 0) result.retryOn = retryOn
  const requestHeaders = headerMutationOf(destination.RequestHeaders)
  const responseHeaders = headerMutationOf(destination.ResponseHeaders)
  if (requestHeaders !== undefined) result.requestHeaders = requestHeaders
  if (responseHeaders !== undefined) result.responseHeaders = responseHeaders
  return result
}

/** A destination service resolved as an upstream is: its resolver's subsets and timeouts, its splitter. */
function destinationOf (inputs: SnapshotInputs, name: string): RouteDestinationSnapshot {
  const resolver = inputs.configEntry('service-resolver', name)
  const split = splitOf(inputs.configEntry('service-splitter', name))
  return {
    name,
    endpoints: endpointsOf(inputs, name, resolver),
    connectTimeoutMs: durationMs(resolver?.ConnectTimeout, DEFAULT_CONNECT_TIMEOUT_MS, `service-resolver ${name}: ConnectTimeout`, inputs.warn),
    requestTimeoutMs: durationMs(resolver?.RequestTimeout, DEFAULT_REQUEST_TIMEOUT_MS, `service-resolver ${name}: RequestTimeout`, inputs.warn),
    ...(split === undefined ? {} : { split }),
  }
}

/**
 * The upstream's compiled router, Consul's way: its routes in order, then the default route to
 * the upstream itself; undefined without a router or when the upstream does not speak HTTP (the
 * write-time check refuses that, so it only happens if the protocol changed afterwards).
 */
function routerOf (inputs: SnapshotInputs, upstream: string, protocol: ProxyProtocol): Pick<UpstreamSnapshot, 'routes' | 'destinations'> | undefined {
  const router = inputs.configEntry('service-router', upstream)
  if (router === undefined) return undefined
  if (protocol === 'tcp') {
    inputs.warn(`service-router ${upstream}: ignored, the service's protocol is tcp`)
    return undefined
  }
  const routes = (Array.isArray(router.Routes) ? router.Routes : []).filter(isRecord).map((route) => routeOf(route, upstream, inputs.warn))
  routes.push({ match: {}, destination: upstream })
  const others = [...new Set(routes.map((route) => route.destination))].filter((name) => name !== upstream)
  return { routes, destinations: others.map((name) => destinationOf(inputs, name)) }
}

export function buildProxySnapshot (inputs: SnapshotInputs): ProxySnapshot {
  const proxy = inputs.proxy.Proxy
  if (proxy === undefined) throw new Error(`service ${inputs.proxy.ID} is not a connect-proxy`)
  const serviceName = proxy.DestinationServiceName
  const ownDefaults = inputs.configEntry('service-defaults', serviceName)
  const ownProtocol = protocolOf(inputs, serviceName)
  const upstreams: UpstreamSnapshot[] = (proxy.Upstreams ?? []).map((upstream) => {
    const destination = upstream.DestinationName
    const resolver = inputs.configEntry('service-resolver', destination)
    const split = splitOf(inputs.configEntry('service-splitter', destination))
    const limits = limitsOf(inputs.configEntry('service-defaults', destination))
    const protocol = protocolOf(inputs, destination)
    const router = routerOf(inputs, destination, protocol)
    return {
      destinationName: destination,
      localBindAddress: upstream.LocalBindAddress ?? '127.0.0.1',
      localBindPort: upstream.LocalBindPort,
      protocol,
      endpoints: endpointsOf(inputs, destination, resolver),
      connectTimeoutMs: durationMs(resolver?.ConnectTimeout, DEFAULT_CONNECT_TIMEOUT_MS, `service-resolver ${destination}: ConnectTimeout`, inputs.warn),
      requestTimeoutMs: durationMs(resolver?.RequestTimeout, DEFAULT_REQUEST_TIMEOUT_MS, `service-resolver ${destination}: RequestTimeout`, inputs.warn),
      ...(split === undefined ? {} : { split }),
      ...(limits === undefined ? {} : { limits }),
      ...router,
    }
  })
  const rateLimits = rateLimitsOf(ownDefaults)
  const faults = faultsOf(ownDefaults)
  return {
    proxyId: inputs.proxy.ID,
    serviceName,
    trustDomain: inputs.trustDomain,
    datacenter: inputs.datacenter,
    tls: { certChainPem: inputs.leaf.CertPEM, keyPem: inputs.leaf.PrivateKeyPEM, rootsPem: inputs.rootsPem },
    inbound: {
      bindAddress: inputs.proxy.Address !== '' ? inputs.proxy.Address : inputs.nodeAddress,
      bindPort: inputs.proxy.Port,
      localServiceAddress: proxy.LocalServiceAddress ?? '127.0.0.1',
      localServicePort: proxy.LocalServicePort ?? 0,
      protocol: ownProtocol,
      ...(rateLimits.length === 0 ? {} : { rateLimits }),
      ...(faults.length === 0 ? {} : { faults }),
    },
    upstreams,
    authorize: inputs.authorizer(serviceName, ownProtocol),
  }
}
