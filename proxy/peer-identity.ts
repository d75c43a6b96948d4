// The caller identity of a peer certificate: its URI SANs as Node reports them, and the service
// SPIFFE ID (api/spiffe.ts) they name. Only a service ID names a caller: an agent ID or any other
// URI is no identity the intentions can be checked against.

import type { PeerCertificate } from 'node:tls'
import { parseServiceSpiffeId } from '../api/spiffe.ts'
import type { ServiceSpiffeId } from '../api/spiffe.ts'

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
  if (id === undefined || id.trustDomain !== trustDomain) return null
  return { uri: uris[0]!, id }
}
