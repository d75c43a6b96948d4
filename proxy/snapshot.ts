// The proxy's whole input: a configuration snapshot the agent (or a standalone `mesh proxy`
// fed by the HTTP API) builds from the catalog, the CA and the intentions. The proxy never
// reads LevelDB or gossip; a new snapshot replaces the old one atomically and live traffic
// keeps flowing across the change.

import type { Authorizer } from '../api/authorizer.ts'

export type ProxyProtocol = 'tcp' | 'http' | 'http2'

export interface TlsMaterial {
  /** PEM leaf certificate followed by the intermediate(s) that signed it. */
  certChainPem: string
  /** PEM PKCS#8 private key of the leaf. Never leaves the agent that made it. */
  keyPem: string
  /** PEM root certificates every peer must chain to (all active and not-yet-dropped roots). */
  rootsPem: string[]
}

export interface Endpoint {
  /** Stable key for balancing state (e.g. `node/serviceID`). */
  id: string
  /** Address and port of the destination's sidecar inbound listener. */
  address: string
  port: number
  /** SPIFFE ID the endpoint's server certificate must present (the destination service). */
  spiffeId: string
  /** Consul-style weights; 'warning' endpoints get Weights.Warning. */
  weight: number
  /** Version/subset the instance belongs to (e.g. `v1`, `canary`); used by `split`. */
  subset?: string
}

/** One leg of a traffic split: `weight` is relative to the sum of all legs' weights. */
export interface SplitLeg {
  /** The endpoints' `subset`; '' for every endpoint of the upstream. */
  subset: string
  weight: number
}

/**
 * Token-bucket rate limit. `scope` says whose traffic shares one bucket:
 * `service` one bucket for all callers, `consumer` one bucket per calling service,
 * `path` one bucket for requests whose path starts with `pathPrefix`.
 */
export interface RateLimit {
  scope: 'service' | 'consumer' | 'path'
  /** For `path`: the prefix matched; for any scope: limits only requests under it if set. */
  pathPrefix?: string
  /** For `consumer`: limit only this calling service (absent: every caller gets its own bucket). */
  consumer?: string
  requestsPerSecond: number
  /** Bucket size: how many requests may arrive at once after an idle period. */
  burst: number
}

/** Fault injection for resilience tests; percentages are 0–100 and drawn per request. */
export interface FaultInjection {
  /** Limit the fault to requests whose path starts with this prefix. */
  pathPrefix?: string
  delayMs?: number
  delayPercent?: number
  abortStatusCode?: number
  abortPercent?: number
}

/** Caps that turn overload into fast 503s instead of unbounded queues. */
export interface ProxyLimits {
  maxConnections?: number
  maxConcurrentRequests?: number
  maxPendingRequests?: number
}

export interface UpstreamSnapshot {
  destinationName: string
  /** Listener the local app connects to. */
  localBindAddress: string
  localBindPort: number
  protocol: ProxyProtocol
  /** Healthy (passing or warning) endpoints; the proxy drains removed ones, never cuts them. */
  endpoints: Endpoint[]
  connectTimeoutMs: number
  requestTimeoutMs: number
  /** Traffic split for canaries by endpoint `subset`; absent: all endpoints share the traffic. */
  split?: SplitLeg[]
  limits?: ProxyLimits
  /** Faults injected on requests this service sends to the upstream. */
  faults?: FaultInjection[]
  /** The service-router's routes in order, the default route (to this upstream) last; absent: no router. */
  routes?: RouteSnapshot[]
  /** Every other service a route leads to, each with its own endpoints, timeouts and split. */
  destinations?: RouteDestinationSnapshot[]
}

/** A destination service a route leads to, resolved as an upstream is (its splitter and resolver applied). */
export interface RouteDestinationSnapshot {
  name: string
  endpoints: Endpoint[]
  connectTimeoutMs: number
  requestTimeoutMs: number
  split?: SplitLeg[]
}

export interface ProxySnapshot {
  /** ID of the proxy service itself (e.g. `web-sidecar-proxy`). */
  proxyId: string
  /** Service the proxy fronts (`web`). */
  serviceName: string
  /** Trust domain, e.g. `11111111-2222-3333-4444-555555555555.consul`. */
  trustDomain: string
  datacenter: string
  tls: TlsMaterial
  inbound: {
    /** Public mTLS listener of the sidecar. */
    bindAddress: string
    bindPort: number
    /** The local application behind the sidecar. */
    localServiceAddress: string
    localServicePort: number
    protocol: ProxyProtocol
    /** Limits applied to callers of this service (429 when exceeded). */
    rateLimits?: RateLimit[]
    /** Faults injected on requests this service receives. */
    faults?: FaultInjection[]
    limits?: ProxyLimits
  }
  upstreams: UpstreamSnapshot[]
  authorize: Authorizer
}

/** A request header condition of a route (Consul's ServiceRouteHTTPMatchHeader): exactly one kind. */
export interface RouteHeaderMatch {
  /** Lower-cased header name. */
  name: string
  present?: boolean
  exact?: string
  prefix?: string
  suffix?: string
  /** Matched against the whole value. */
  regex?: string
  /** The condition holds when the match fails (an absent header satisfies only an inverted `present`). */
  invert?: boolean
}

/** A query parameter condition of a route (Consul's ServiceRouteHTTPMatchQueryParam): exactly one kind. */
export interface RouteQueryMatch {
  name: string
  present?: boolean
  exact?: string
  regex?: string
}

/** What a route matches; every condition given must hold, none given matches every request. */
export interface RouteMatch {
  pathExact?: string
  pathPrefix?: string
  /** Matched against the whole path, query excluded. */
  pathRegex?: string
  headers?: RouteHeaderMatch[]
  queryParams?: RouteQueryMatch[]
  /** Upper-case methods; absent or empty: any method. */
  methods?: string[]
}

/** Consul's HTTPHeaderModifiers, names lower-cased. */
export interface HeaderMutation {
  /** Appended to what is there. */
  add?: Record<string, string>
  /** Replaces what is there. */
  set?: Record<string, string>
  remove?: string[]
}

/** One route of a service-router, its destination resolved to endpoints by the agent. */
export interface RouteSnapshot {
  match: RouteMatch
  /** The destination service the route leads to (the upstream itself for the default route). */
  destination: string
  /** Endpoint subset of the destination; absent: the destination's own split or any endpoint. */
  subset?: string
  /** Replaces the matched PathPrefix / PathExact. */
  prefixRewrite?: string
  /** Overrides the destination's request timeout (total, retries included). */
  requestTimeoutMs?: number
  /** Retries on top of the first try; with none of the retry fields the proxy's default retry policy applies. */
  numRetries?: number
  retryOnConnectFailure?: boolean
  retryOnStatusCodes?: number[]
  /** Consul's RetryOn conditions mesh acts on: 5xx, gateway-error, reset, connect-failure. */
  retryOn?: string[]
  requestHeaders?: HeaderMutation
  responseHeaders?: HeaderMutation
}
