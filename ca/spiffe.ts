// SPIFFE IDs as Consul forms them: the trust domain `<cluster-uuid>.consul`, service identities
// `spiffe://<td>/ns/default/dc/<dc>/svc/<service>` and agent identities
// `spiffe://<td>/agent/client/dc/<dc>/id/<node>`. Building and parsing live together so the two
// can never disagree.

import { CaBadSpiffeIdError } from './errors.ts'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
/** Path segments: what Consul allows in service, datacenter and node names, without `/`. */
const SEGMENT = /^[A-Za-z0-9._-]{1,253}$/

export type SpiffeId =
  | { kind: 'service', trustDomain: string, namespace: string, datacenter: string, service: string }
  | { kind: 'agent', trustDomain: string, datacenter: string, node: string }
  | { kind: 'signing', trustDomain: string }

export function trustDomainFor (clusterId: string): string {
  if (!UUID.test(clusterId)) throw new CaBadSpiffeIdError(`cluster id "${clusterId}" is not a lower-case UUID`)
  return `${clusterId}.consul`
}

function checkSegment (value: string, what: string): string {
  if (!SEGMENT.test(value)) throw new CaBadSpiffeIdError(`${what} "${value}" must be 1-253 of A-Z a-z 0-9 . _ -`)
  return value
}

export function serviceSpiffeId (trustDomain: string, datacenter: string, service: string): string {
  return `spiffe://${trustDomain}/ns/default/dc/${checkSegment(datacenter, 'datacenter')}/svc/${checkSegment(service, 'service')}`
}

export function agentSpiffeId (trustDomain: string, datacenter: string, node: string): string {
  return `spiffe://${trustDomain}/agent/client/dc/${checkSegment(datacenter, 'datacenter')}/id/${checkSegment(node, 'node')}`
}

export function signingSpiffeId (trustDomain: string): string {
  return `spiffe://${trustDomain}`
}

/** Parses any of the three forms; throws CaBadSpiffeIdError for anything else. */
export function parseSpiffeId (uri: string): SpiffeId {
  const match = /^spiffe:\/\/([a-z0-9.-]{1,255})(\/.*)?$/.exec(uri)
  if (match === null) throw new CaBadSpiffeIdError(`"${uri}" is not spiffe://<trust-domain>/<path>`)
  const trustDomain = match[1]
  const path = match[2] ?? ''
  if (path === '') return { kind: 'signing', trustDomain }
  const parts = path.slice(1).split('/')
  if (parts.length === 6 && parts[0] === 'ns' && parts[2] === 'dc' && parts[4] === 'svc') {
    return {
      kind: 'service',
      trustDomain,
      namespace: checkSegment(parts[1], 'namespace'),
      datacenter: checkSegment(parts[3], 'datacenter'),
      service: checkSegment(parts[5], 'service'),
    }
  }
  if (parts.length === 6 && parts[0] === 'agent' && parts[1] === 'client' && parts[2] === 'dc' && parts[4] === 'id') {
    return { kind: 'agent', trustDomain, datacenter: checkSegment(parts[3], 'datacenter'), node: checkSegment(parts[5], 'node') }
  }
  throw new CaBadSpiffeIdError(`"${uri}" is neither a service, an agent nor a signing identity`)
}
