// The proxy's whole input: a configuration snapshot the agent (or a standalone `mesh proxy`
// fed by the HTTP API) builds from the catalog, the CA and the intentions. The proxy never
// reads LevelDB or gossip; a new snapshot replaces the old one atomically and live traffic
// keeps flowing across the change.

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
}

export interface UpstreamSnapshot {
  destinationName: string
  /** Listener the local app connects to. */
  localBindAddress: string
  localBindPort: number
  protocol: ProxyProtocol
  /** Healthy (passing or warning) endpoints; the proxy drains removed ones, never cuts them. */
  endpoints: Endpoint[]
  /** Traffic split for canaries: weights per subset name; endpoints carry `subset` via id prefix. */
  connectTimeoutMs: number
  requestTimeoutMs: number
}

export interface AuthorizeRequest {
  /** SPIFFE URI SAN of the caller's client certificate. */
  sourceSpiffeId: string
  /** Caller service name parsed from the SPIFFE ID. */
  sourceService: string
  /** Absent for an L4 (connection) decision. */
  http?: { method: string, path: string, headers: Record<string, string | string[] | undefined> }
}

export interface AuthorizeDecision {
  allowed: boolean
  /** Human-readable reason, returned in 403 bodies and logs. */
  reason: string
}

/** Intention evaluation for this proxy's destination service; pure and cached by the caller. */
export type Authorizer = (request: AuthorizeRequest) => AuthorizeDecision

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
  }
  upstreams: UpstreamSnapshot[]
  authorize: Authorizer
}
