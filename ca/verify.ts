// Chain verification against trusted roots, and reading the SPIFFE identity a certificate
// carries. Path building is small on purpose: the mesh's chains are at most leaf → intermediate →
// cross-signed root → root, so a depth-first search over the offered certificates is enough.
// Signature and issuer checks use node:crypto's X509Certificate (OpenSSL underneath).

import { X509Certificate } from 'node:crypto'
import { CaBadCertificateError, CaChainInvalidError } from './errors.ts'
import { requireSpiffeId } from './spiffe.ts'
import type { SpiffeId } from '../api/spiffe.ts'
import { OID, certificatesFromPem, parseCertificate, parseSubjectAltNames } from './x509.ts'

const MAX_CHAIN_DEPTH = 5

/** The URI SANs of a certificate (PEM or DER). */
export function uriSansOf (certificate: string | Buffer): string[] {
  const der = typeof certificate === 'string' ? certificatesFromPem(certificate)[0] : certificate
  if (der === undefined) throw new CaBadCertificateError('no CERTIFICATE PEM block')
  const extension = parseCertificate(der).extensions.get(OID.subjectAltName)
  return extension === undefined ? [] : parseSubjectAltNames(extension.value).uris
}

/** The SPIFFE ID of an X.509-SVID: exactly one URI SAN, parsed. */
export function spiffeIdOf (certificate: string | Buffer): SpiffeId & { uri: string } {
  const uris = uriSansOf(certificate)
  if (uris.length !== 1) throw new CaBadCertificateError(`an SVID has exactly one URI SAN, found ${uris.length}`)
  return { ...requireSpiffeId(uris[0]), uri: uris[0] }
}

function toX509 (pem: string): X509Certificate[] {
  return certificatesFromPem(pem).map(der => new X509Certificate(der))
}

function isValidAt (certificate: X509Certificate, nowMs: number): boolean {
  return Date.parse(certificate.validFrom) <= nowMs && nowMs <= Date.parse(certificate.validTo)
}

export interface VerifyInit {
  /** Leaf first, then any intermediates (cross-signed roots included), PEM. */
  chainPem: string
  /** Trusted root certificates, PEM each. */
  rootsPem: string[]
  nowMs: number
}

export interface VerifiedChain {
  /** Certificates from the leaf up to and including the trusted root. */
  path: X509Certificate[]
  spiffeId: SpiffeId & { uri: string }
}

/** Verifies the first certificate of chainPem up to one of rootsPem; throws CaChainInvalidError. */
export function verifyChain (init: VerifyInit): VerifiedChain {
  const [leaf, ...offered] = toX509(init.chainPem)
  if (leaf === undefined) throw new CaChainInvalidError('the chain holds no certificate')
  const roots = init.rootsPem.flatMap(toX509)
  const isRoot = (candidate: X509Certificate): boolean => roots.some(root => root.fingerprint256 === candidate.fingerprint256)

  const extend = (path: X509Certificate[]): X509Certificate[] | undefined => {
    const current = path[path.length - 1]
    if (!isValidAt(current, init.nowMs)) return undefined
    if (isRoot(current)) return path
    if (path.length > MAX_CHAIN_DEPTH) return undefined
    for (const issuer of [...roots, ...offered]) {
      if (path.includes(issuer) || !issuer.ca) continue
      if (current.checkIssued(issuer) && current.verify(issuer.publicKey)) {
        const found = extend([...path, issuer])
        if (found !== undefined) return found
      }
    }
    return undefined
  }

  if (leaf.ca) throw new CaChainInvalidError('the first certificate is a CA certificate, not a leaf')
  if (!isValidAt(leaf, init.nowMs)) throw new CaChainInvalidError(`the leaf is not valid at ${new Date(init.nowMs).toISOString()} (valid ${leaf.validFrom} to ${leaf.validTo})`)
  const path = extend([leaf])
  if (path === undefined) throw new CaChainInvalidError('no valid path from the leaf to a trusted root')
  return { path, spiffeId: spiffeIdOf(leaf.raw) }
}
