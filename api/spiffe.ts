// SPIFFE IDs: one grammar for the whole mesh, the CA issuing and verifying certificates, the
// intentions naming callers and the proxy reading peer certificates. Per the SPIFFE spec an ID is
// `spiffe://<trust-domain><path>`: a trust domain of lower-case letters, digits, `.`, `-` and `_`;
// path segments of letters, digits, `.`, `-` and `_`, never empty, `.` or `..` (so no escaping is
// ever needed, and none is decoded); at most 2048 characters. Mesh gives meaning to Consul's forms:
// - service: `spiffe://<td>/ns/<ns>/dc/<dc>/svc/<service>`, optionally with `/ap/<partition>`
//   before `/ns` as Consul Enterprise writes it (absent: the default partition);
// - agent: `spiffe://<td>/agent/client/dc/<dc>/id/<node>`;
// - signing (a CA's own identity): `spiffe://<td>`.
// Anything else names nothing mesh knows. Parsing never throws: each caller turns `undefined` into
// its own error (the CA's code, the intentions API's Consul messages), and building IDs from
// segments that break the grammar is the CA's to refuse (ca/spiffe.ts).

/** Longest ID considered, as the SPIFFE spec caps URIs at 2048 bytes. */
export const MAX_SPIFFE_ID_LENGTH_CHARS = 2048

export interface ServiceSpiffeId {
  trustDomain: string
  /** Only when the ID names one (`/ap/<partition>`); absent means the default partition. */
  partition?: string
  namespace: string
  datacenter: string
  service: string
}

export interface AgentSpiffeId {
  trustDomain: string
  datacenter: string
  node: string
}

export type SpiffeId =
  | ({ kind: 'service' } & ServiceSpiffeId)
  | ({ kind: 'agent' } & AgentSpiffeId)
  | { kind: 'signing', trustDomain: string }

const SCHEME = 'spiffe://'
const TRUST_DOMAIN = /^[a-z0-9._-]{1,255}$/
/** Segment characters per the spec; 253 is the longest name Consul accepts (a DNS name). */
const SEGMENT = /^[A-Za-z0-9._-]{1,253}$/

export function isTrustDomain (value: string): boolean {
  return TRUST_DOMAIN.test(value)
}

export function isSpiffeSegment (value: string): boolean {
  return SEGMENT.test(value) && value !== '.' && value !== '..'
}

function servicePath (parts: string[]): Omit<ServiceSpiffeId, 'trustDomain'> | undefined {
  if (parts.length === 8 && parts[0] === 'ap') {
    const rest = servicePath(parts.slice(2))
    return rest === undefined ? undefined : { partition: parts[1], ...rest }
  }
  if (parts.length !== 6 || parts[0] !== 'ns' || parts[2] !== 'dc' || parts[4] !== 'svc') return undefined
  return { namespace: parts[1], datacenter: parts[3], service: parts[5] }
}

/** Parses any of the three forms; undefined for anything else. */
export function parseSpiffeId (uri: string): SpiffeId | undefined {
  if (uri.length > MAX_SPIFFE_ID_LENGTH_CHARS || !uri.startsWith(SCHEME)) return undefined
  const rest = uri.slice(SCHEME.length)
  const slash = rest.indexOf('/')
  const trustDomain = slash === -1 ? rest : rest.slice(0, slash)
  if (!isTrustDomain(trustDomain)) return undefined
  if (slash === -1) return { kind: 'signing', trustDomain }
  const parts = rest.slice(slash + 1).split('/')
  if (!parts.every(isSpiffeSegment)) return undefined
  const service = servicePath(parts)
  if (service !== undefined) return { kind: 'service', trustDomain, ...service }
  if (parts.length === 6 && parts[0] === 'agent' && parts[1] === 'client' && parts[2] === 'dc' && parts[4] === 'id') {
    return { kind: 'agent', trustDomain, datacenter: parts[3], node: parts[5] }
  }
  return undefined
}

/** A service's ID parts, or undefined when `uri` is not a service SPIFFE ID. */
export function parseServiceSpiffeId (uri: string): ServiceSpiffeId | undefined {
  const id = parseSpiffeId(uri)
  if (id?.kind !== 'service') return undefined
  const { kind: _kind, ...service } = id
  return service
}

export function formatServiceSpiffeId (id: ServiceSpiffeId): string {
  const partition = id.partition === undefined ? '' : `/ap/${id.partition}`
  return `${SCHEME}${id.trustDomain}${partition}/ns/${id.namespace}/dc/${id.datacenter}/svc/${id.service}`
}

export function formatAgentSpiffeId (id: AgentSpiffeId): string {
  return `${SCHEME}${id.trustDomain}/agent/client/dc/${id.datacenter}/id/${id.node}`
}

export function formatSigningSpiffeId (trustDomain: string): string {
  return `${SCHEME}${trustDomain}`
}
