// Parsing of service SPIFFE IDs, the caller identity intentions are checked against:
// `spiffe://<trust-domain>/ns/<ns>/dc/<dc>/svc/<service>`, optionally with `/ap/<partition>`
// before `/ns` as Consul Enterprise writes them. Anything else (an agent ID, a malformed URI) is
// not a service and can match no intention.

import { InvalidSpiffeIdError } from './errors.ts'

export interface ServiceSpiffeId {
  trustDomain: string
  partition: string
  namespace: string
  datacenter: string
  service: string
}

const SERVICE_ID = /^spiffe:\/\/([A-Za-z0-9.-]+)(?:\/ap\/([^/]+))?\/ns\/([^/]+)\/dc\/([^/]+)\/svc\/([^/]+)$/

/** Longest URI considered; SPIFFE caps IDs at 2048 bytes. */
export const MAX_SPIFFE_ID_LENGTH_CHARS = 2048

/** Parses a service SPIFFE ID, or returns undefined when `uri` is not one. */
export function parseServiceSpiffeId (uri: string): ServiceSpiffeId | undefined {
  if (uri.length > MAX_SPIFFE_ID_LENGTH_CHARS) return undefined
  const match = SERVICE_ID.exec(uri)
  if (match === null) return undefined
  try {
    return {
      trustDomain: match[1].toLowerCase(),
      partition: decodeURIComponent(match[2] ?? 'default'),
      namespace: decodeURIComponent(match[3]),
      datacenter: decodeURIComponent(match[4]),
      service: decodeURIComponent(match[5]),
    }
  } catch {
    return undefined
  }
}

/**
 * Like parseServiceSpiffeId but throws with Consul's messages: a URI that is no SPIFFE ID at all is
 * "not a valid Connect identifier", a SPIFFE ID of something else is "not a valid Service identifier".
 */
export function requireServiceSpiffeId (uri: string): ServiceSpiffeId {
  const parsed = parseServiceSpiffeId(uri)
  if (parsed !== undefined) return parsed
  if (!/^spiffe:\/\/[^/]+\/\S*$/.test(uri) || uri.length > MAX_SPIFFE_ID_LENGTH_CHARS) {
    throw new InvalidSpiffeIdError('ClientCertURI not a valid Connect identifier')
  }
  throw new InvalidSpiffeIdError('ClientCertURI not a valid Service identifier')
}
