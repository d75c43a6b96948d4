// SPIFFE IDs of services as Consul writes them (spiffe://<td>/ns/<ns>/dc/<dc>/svc/<name>) and
// their extraction from a peer certificate's URI SANs. Only service IDs name a caller: an agent
// ID or any other URI is no identity the intentions can be checked against.

import type { PeerCertificate } from 'node:tls'

export interface ServiceSpiffeId {
  trustDomain: string
  namespace: string
  datacenter: string
  service: string
}

const SERVICE_ID = /^spiffe:\/\/([a-z0-9.-]+)\/ns\/([A-Za-z0-9_-]+)\/dc\/([A-Za-z0-9_-]+)\/svc\/([A-Za-z0-9_.-]+)$/

export function parseServiceSpiffeId (uri: string): ServiceSpiffeId | null {
  const match = SERVICE_ID.exec(uri)
  if (match === null) return null
  return { trustDomain: match[1]!, namespace: match[2]!, datacenter: match[3]!, service: match[4]! }
}

export function formatServiceSpiffeId (id: ServiceSpiffeId): string {
  return `spiffe://${id.trustDomain}/ns/${id.namespace}/dc/${id.datacenter}/svc/${id.service}`
}

/** URI SANs of a certificate as Node reports them (`URI:a, DNS:b`, values quoted when needed). */
export function uriSans (certificate: PeerCertificate | null | undefined): string[] {
  const altNames = certificate?.subjectaltname
  if (altNames === undefined || altNames === '') return []
  const uris: string[] = []
  for (const entry of altNames.split(', ')) {
    if (!entry.startsWith('URI:')) continue
    let value = entry.slice(4)
    if (value.startsWith('"') && value.endsWith('"')) value = JSON.parse(value) as string
    uris.push(value)
  }
  return uris
}

/**
 * The service SPIFFE ID of a peer certificate, or null. An SVID carries exactly one URI SAN;
 * several are refused rather than guessing which one names the caller.
 */
export function peerServiceId (certificate: PeerCertificate | null | undefined, trustDomain: string): { uri: string, id: ServiceSpiffeId } | null {
  const uris = uriSans(certificate)
  if (uris.length !== 1) return null
  const id = parseServiceSpiffeId(uris[0]!)
  if (id === null || id.trustDomain !== trustDomain) return null
  return { uri: uris[0]!, id }
}
