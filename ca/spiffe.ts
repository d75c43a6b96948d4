// The CA's rules for the SPIFFE IDs it puts in certificates (the grammar itself is api/spiffe.ts):
// the trust domain is `<cluster-uuid>.consul`, IDs are built only from names the grammar accepts,
// and a certificate's ID must be one of Consul's forms; anything else is CaBadSpiffeIdError.

import { formatAgentSpiffeId, formatServiceSpiffeId, isSpiffeSegment, parseSpiffeId } from '../api/spiffe.ts'
import type { SpiffeId } from '../api/spiffe.ts'
import { CaBadSpiffeIdError } from './errors.ts'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

export function trustDomainFor (clusterId: string): string {
  if (!UUID.test(clusterId)) throw new CaBadSpiffeIdError(`cluster id "${clusterId}" is not a lower-case UUID`)
  return `${clusterId}.consul`
}

function checkSegment (value: string, what: string): string {
  if (!isSpiffeSegment(value)) throw new CaBadSpiffeIdError(`${what} "${value}" must be 1-253 of A-Z a-z 0-9 . _ -`)
  return value
}

export function serviceSpiffeId (trustDomain: string, datacenter: string, service: string): string {
  return formatServiceSpiffeId({ trustDomain, namespace: 'default', datacenter: checkSegment(datacenter, 'datacenter'), service: checkSegment(service, 'service') })
}

export function agentSpiffeId (trustDomain: string, datacenter: string, node: string): string {
  return formatAgentSpiffeId({ trustDomain, datacenter: checkSegment(datacenter, 'datacenter'), node: checkSegment(node, 'node') })
}

/** Parses any of Consul's three forms; throws CaBadSpiffeIdError for anything else. */
export function requireSpiffeId (uri: string): SpiffeId {
  const id = parseSpiffeId(uri)
  if (id === undefined) throw new CaBadSpiffeIdError(`"${uri}" is not a service, agent or signing identity of the form spiffe://<trust-domain>/<path>`)
  return id
}
