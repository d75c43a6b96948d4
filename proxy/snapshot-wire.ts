// The snapshot as it travels from the agent to a standalone sidecar over HTTP
// (`GET /v1/mesh/proxy/:id/snapshot`): the snapshot's data, which is everything but `authorize`
// (a function cannot travel), plus the intentions that can govern the destination and the default
// policy, from which the proxy builds the same authorizer the agent's in-process sidecars get.
//
// The body comes from the network, so it is parsed, not trusted: every field is type-checked and
// copied into a fresh object (unknown fields are dropped), and a body of the wrong shape is refused
// with MESH_ERR_PROXY_INVALID_SNAPSHOT naming the field. The semantic rules (ports, PEM, percentages)
// stay in validate.ts, which every snapshot passes before it is applied.

import type { DefaultPolicy, Intention } from '../api/intentions/model.ts'
import { isRecord } from '../api/guards.ts'
import { InvalidSnapshotError } from './errors.ts'
import type { Endpoint, FaultInjection, HeaderMutation, ProxyLimits, ProxyProtocol, ProxySnapshot, RateLimit, RouteDestinationSnapshot, RouteHeaderMatch, RouteMatch, RouteQueryMatch, RouteSnapshot, SplitLeg, UpstreamSnapshot } from './snapshot.ts'

export type ProxySnapshotData = Omit<ProxySnapshot, 'authorize'>

export interface SidecarSnapshotBody {
  ProxyID: string
  Snapshot: ProxySnapshotData
  /** Intentions whose destination is the proxied service or `*`, in evaluation order. */
  Intentions: readonly Intention[]
  DefaultIntentionPolicy: DefaultPolicy
}

/** What the proxy takes from a body: typed snapshot data, and the intentions still to be validated. */
export interface ParsedSidecarSnapshot {
  snapshot: ProxySnapshotData
  intentions: unknown[]
  defaultPolicy: DefaultPolicy
}

function fail (path: string, expected: string): never {
  throw new InvalidSnapshotError(`invalid proxy snapshot from the agent: ${path} must be ${expected}`)
}

function record (value: unknown, path: string): Record<string, unknown> {
  return isRecord(value) ? value : fail(path, 'an object')
}

function text (value: unknown, path: string): string {
  return typeof value === 'string' ? value : fail(path, 'a string')
}

function number (value: unknown, path: string): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fail(path, 'a number')
}

function list (value: unknown, path: string): unknown[] {
  return Array.isArray(value) ? value : fail(path, 'an array')
}

function protocol (value: unknown, path: string): ProxyProtocol {
  return value === 'tcp' || value === 'http' || value === 'http2' ? value : fail(path, 'tcp, http or http2')
}

/** Copies the optional fields of `source` that are present, each checked by its reader. */
function optional<T extends object> (source: Record<string, unknown>, path: string, readers: { [K in keyof T]-?: (value: unknown, path: string) => T[K] }): T {
  const result: Record<string, unknown> = {}
  for (const [name, read] of Object.entries(readers) as Array<[string, (value: unknown, path: string) => unknown]>) {
    if (source[name] !== undefined) result[name] = read(source[name], `${path}.${name}`)
  }
  return result as T
}

function limits (value: unknown, path: string): ProxyLimits {
  return optional<ProxyLimits>(record(value, path), path, { maxConnections: number, maxConcurrentRequests: number, maxPendingRequests: number })
}

function faults (value: unknown, path: string): FaultInjection[] {
  return list(value, path).map((fault, index) => optional<FaultInjection>(record(fault, `${path}[${index}]`), `${path}[${index}]`, {
    pathPrefix: text, delayMs: number, delayPercent: number, abortStatusCode: number, abortPercent: number,
  }))
}

function rateLimits (value: unknown, path: string): RateLimit[] {
  return list(value, path).map((item, index) => {
    const where = `${path}[${index}]`
    const limit = record(item, where)
    const scope = limit.scope === 'service' || limit.scope === 'consumer' || limit.scope === 'path' ? limit.scope : fail(`${where}.scope`, 'service, consumer or path')
    return {
      scope,
      ...optional<Pick<RateLimit, 'pathPrefix' | 'consumer'>>(limit, where, { pathPrefix: text, consumer: text }),
      requestsPerSecond: number(limit.requestsPerSecond, `${where}.requestsPerSecond`),
      burst: number(limit.burst, `${where}.burst`),
    }
  })
}

function endpoint (value: unknown, path: string): Endpoint {
  const source = record(value, path)
  return {
    id: text(source.id, `${path}.id`),
    address: text(source.address, `${path}.address`),
    port: number(source.port, `${path}.port`),
    spiffeId: text(source.spiffeId, `${path}.spiffeId`),
    weight: number(source.weight, `${path}.weight`),
    ...optional<Pick<Endpoint, 'subset'>>(source, path, { subset: text }),
  }
}

function split (value: unknown, path: string): SplitLeg[] {
  return list(value, path).map((leg, index) => {
    const source = record(leg, `${path}[${index}]`)
    return { subset: text(source.subset, `${path}[${index}].subset`), weight: number(source.weight, `${path}[${index}].weight`) }
  })
}

function flag (value: unknown, path: string): boolean {
  return typeof value === 'boolean' ? value : fail(path, 'a boolean')
}

function texts (value: unknown, path: string): string[] {
  return list(value, path).map((item, index) => text(item, `${path}[${index}]`))
}

function numbers (value: unknown, path: string): number[] {
  return list(value, path).map((item, index) => number(item, `${path}[${index}]`))
}

function textMap (value: unknown, path: string): Record<string, string> {
  const source = record(value, path)
  const result: Record<string, string> = {}
  for (const [name, item] of Object.entries(source)) result[name] = text(item, `${path}.${name}`)
  return result
}

function headerMutation (value: unknown, path: string): HeaderMutation {
  return optional<HeaderMutation>(record(value, path), path, { add: textMap, set: textMap, remove: texts })
}

function routeMatch (value: unknown, path: string): RouteMatch {
  return optional<RouteMatch>(record(value, path), path, {
    pathExact: text,
    pathPrefix: text,
    pathRegex: text,
    headers: (items, where) => list(items, where).map((item, index): RouteHeaderMatch => ({
      name: text(record(item, `${where}[${index}]`).name, `${where}[${index}].name`),
      ...optional<Omit<RouteHeaderMatch, 'name'>>(record(item, `${where}[${index}]`), `${where}[${index}]`, { present: flag, exact: text, prefix: text, suffix: text, regex: text, invert: flag }),
    })),
    queryParams: (items, where) => list(items, where).map((item, index): RouteQueryMatch => ({
      name: text(record(item, `${where}[${index}]`).name, `${where}[${index}].name`),
      ...optional<Omit<RouteQueryMatch, 'name'>>(record(item, `${where}[${index}]`), `${where}[${index}]`, { present: flag, exact: text, regex: text }),
    })),
    methods: texts,
  })
}

function routes (value: unknown, path: string): RouteSnapshot[] {
  return list(value, path).map((item, index) => {
    const where = `${path}[${index}]`
    const source = record(item, where)
    return {
      match: routeMatch(source.match, `${where}.match`),
      destination: text(source.destination, `${where}.destination`),
      ...optional<Omit<RouteSnapshot, 'match' | 'destination'>>(source, where, {
        subset: text,
        prefixRewrite: text,
        requestTimeoutMs: number,
        numRetries: number,
        retryOnConnectFailure: flag,
        retryOnStatusCodes: numbers,
        retryOn: texts,
        requestHeaders: headerMutation,
        responseHeaders: headerMutation,
      }),
    }
  })
}

function destinations (value: unknown, path: string): RouteDestinationSnapshot[] {
  return list(value, path).map((item, index) => {
    const where = `${path}[${index}]`
    const source = record(item, where)
    return {
      name: text(source.name, `${where}.name`),
      endpoints: list(source.endpoints, `${where}.endpoints`).map((endpointItem, at) => endpoint(endpointItem, `${where}.endpoints[${at}]`)),
      connectTimeoutMs: number(source.connectTimeoutMs, `${where}.connectTimeoutMs`),
      requestTimeoutMs: number(source.requestTimeoutMs, `${where}.requestTimeoutMs`),
      ...optional<Pick<RouteDestinationSnapshot, 'split'>>(source, where, { split }),
    }
  })
}

function upstream (value: unknown, path: string): UpstreamSnapshot {
  const source = record(value, path)
  return {
    destinationName: text(source.destinationName, `${path}.destinationName`),
    localBindAddress: text(source.localBindAddress, `${path}.localBindAddress`),
    localBindPort: number(source.localBindPort, `${path}.localBindPort`),
    protocol: protocol(source.protocol, `${path}.protocol`),
    endpoints: list(source.endpoints, `${path}.endpoints`).map((item, index) => endpoint(item, `${path}.endpoints[${index}]`)),
    connectTimeoutMs: number(source.connectTimeoutMs, `${path}.connectTimeoutMs`),
    requestTimeoutMs: number(source.requestTimeoutMs, `${path}.requestTimeoutMs`),
    ...optional<Pick<UpstreamSnapshot, 'split' | 'limits' | 'faults' | 'routes' | 'destinations'>>(source, path, { split, limits, faults, routes, destinations }),
  }
}

function snapshotData (value: unknown): ProxySnapshotData {
  const source = record(value, 'Snapshot')
  const tls = record(source.tls, 'Snapshot.tls')
  const inbound = record(source.inbound, 'Snapshot.inbound')
  return {
    proxyId: text(source.proxyId, 'Snapshot.proxyId'),
    serviceName: text(source.serviceName, 'Snapshot.serviceName'),
    trustDomain: text(source.trustDomain, 'Snapshot.trustDomain'),
    datacenter: text(source.datacenter, 'Snapshot.datacenter'),
    tls: {
      certChainPem: text(tls.certChainPem, 'Snapshot.tls.certChainPem'),
      keyPem: text(tls.keyPem, 'Snapshot.tls.keyPem'),
      rootsPem: list(tls.rootsPem, 'Snapshot.tls.rootsPem').map((root, index) => text(root, `Snapshot.tls.rootsPem[${index}]`)),
    },
    inbound: {
      bindAddress: text(inbound.bindAddress, 'Snapshot.inbound.bindAddress'),
      bindPort: number(inbound.bindPort, 'Snapshot.inbound.bindPort'),
      localServiceAddress: text(inbound.localServiceAddress, 'Snapshot.inbound.localServiceAddress'),
      localServicePort: number(inbound.localServicePort, 'Snapshot.inbound.localServicePort'),
      protocol: protocol(inbound.protocol, 'Snapshot.inbound.protocol'),
      ...optional<Pick<ProxySnapshotData['inbound'], 'rateLimits' | 'faults' | 'limits'>>(inbound, 'Snapshot.inbound', { rateLimits, faults, limits }),
    },
    upstreams: list(source.upstreams, 'Snapshot.upstreams').map((item, index) => upstream(item, `Snapshot.upstreams[${index}]`)),
  }
}

/** Parses the agent's answer; throws InvalidSnapshotError naming the first field of the wrong type. */
export function parseSidecarSnapshotBody (body: unknown): ParsedSidecarSnapshot {
  const source = record(body, 'the body')
  const policy = source.DefaultIntentionPolicy
  return {
    snapshot: snapshotData(source.Snapshot),
    intentions: list(source.Intentions, 'Intentions'),
    defaultPolicy: policy === 'allow' || policy === 'deny' ? policy : fail('DefaultIntentionPolicy', 'allow or deny'),
  }
}
