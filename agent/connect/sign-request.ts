// The server side of `/mesh/ca/1.0.0`: the policy for signing another agent's intermediate. A
// request is signed only if its self-signature verifies, its key is one the CA uses (EC P-256/384,
// RSA 2048/4096), and it names exactly one identity: the SPIFFE agent ID of the node that sent it
// (`spiffe://<td>/agent/client/dc/<dc>/id/<node>`), where the node name comes from the
// authenticated transport, never from the request itself. Rate limiting is the caller's
// (ConnectCA), which also knows the clock.

import { parseCsr } from '../../ca/csr.ts'
import { CaBadCsrError, CaError } from '../../ca/errors.ts'
import { signIntermediate } from '../../ca/profiles.ts'
import type { Issuer } from '../../ca/profiles.ts'
import { agentSpiffeId } from '../../ca/spiffe.ts'

export interface SigningContext {
  /** The active root and its key. */
  issuer: Issuer
  trustDomain: string
  datacenter: string
  nowMs: number
  intermediateTtlMs: number
  /** Appended after the intermediate: the active root's cross-signed certificates. */
  extraChainPems: string[]
}

/** Validates `csrPem` from `requesterNodeName` and returns the chain PEM (intermediate first). */
export function signIntermediateRequest (csrPem: string, requesterNodeName: string, context: SigningContext): string {
  const csr = parseCsr(csrPem)
  let expected: string
  try {
    expected = agentSpiffeId(context.trustDomain, context.datacenter, requesterNodeName)
  } catch (error) {
    throw new CaBadCsrError(`requester: ${(error as CaError).message}`)
  }
  if (csr.uris.length !== 1) throw new CaBadCsrError(`expected exactly one URI SAN, found ${csr.uris.length}`)
  if (csr.uris[0] !== expected) throw new CaBadCsrError(`URI SAN "${csr.uris[0]}" is not the requester's agent identity "${expected}"`)
  if (csr.dnsNames.length > 0) throw new CaBadCsrError('a signing certificate request must not carry DNS names')
  const intermediatePem = signIntermediate(context.issuer, {
    spkiDer: csr.spkiDer,
    trustDomain: context.trustDomain,
    nowMs: context.nowMs,
    ttlMs: context.intermediateTtlMs,
    commonName: `int-${requesterNodeName}.ca.${context.trustDomain}`,
  })
  return [intermediatePem, ...context.extraChainPems].join('')
}
