// The CA's certificate profiles (SPIFFE X.509-SVID): self-signed roots, signing intermediates,
// cross-signed roots for rotation, and leaf SVIDs for services and agents. Leaves take the fast
// path: everything that depends only on the issuer (its name, key id extension, signature
// algorithm, the fixed extensions) is encoded once per issuer, so a leaf costs one key pair, a few
// small buffer concatenations and one signature.
//
// Profiles, as the X.509-SVID spec and `openssl verify -x509_strict` require:
// - signing certificates (root, intermediate, cross-signed root): basicConstraints cA=true
//   (critical), keyUsage keyCertSign+cRLSign (critical), exactly one URI SAN `spiffe://<td>`,
//   SKI, and AKI when signed by another key; intermediates have pathLen 0;
// - leaves: cA=false (critical), keyUsage digitalSignature (critical; plus keyEncipherment for RSA
//   keys), extKeyUsage serverAuth+clientAuth, exactly one URI SAN, SKI and AKI.
// Every certificate gets a random 128-bit serial and a NotBefore one minute in the past, so a peer
// whose clock is slightly behind accepts it at once.

import { randomBytes } from 'node:crypto'
import type { KeyObject } from 'node:crypto'
import { CaBadKeyError } from './errors.ts'
import { DEFAULT_KEY_SPEC, generateKey, loadPrivateKey, signerFor, spkiDerOf } from './keys.ts'
import type { KeySpec, Signer } from './keys.ts'
import { formatSigningSpiffeId } from '../api/spiffe.ts'
import {
  KEY_USAGE, OID, authorityKeyIdExtension, basicConstraintsExtension, certificatePem, certificatesFromPem,
  commonNameDer, extKeyUsageExtension, keyIdOf, keyUsageExtension, parseCertificate, serialHex,
  signCertificate, subjectAltNameExtension, subjectKeyIdExtension, subjectKeyIdOf,
} from './x509.ts'
import type { ParsedCertificate } from './x509.ts'

export const CLOCK_SKEW_MS = 60_000
export const DEFAULT_LEAF_TTL_MS = 72 * 3_600_000
export const DEFAULT_INTERMEDIATE_TTL_MS = 8_760 * 3_600_000
export const DEFAULT_ROOT_TTL_MS = 87_600 * 3_600_000
/** RFC 5280's upper bound for a CommonName; the identity is the URI SAN, the CN is only a label. */
const MAX_COMMON_NAME_LENGTH = 64

const SIGNING_KEY_USAGE = [KEY_USAGE.keyCertSign, KEY_USAGE.cRLSign]

export const newSerial = (): Buffer => randomBytes(16)

/**
 * Roots get 53 random bits: Consul's roots API carries SerialNumber as a JSON uint64, and a
 * JavaScript number holds integers exactly only up to 2^53. Leaves and intermediates keep 128 bits.
 */
function newRootSerial (): Buffer {
  const bytes = randomBytes(7)
  bytes[0] &= 0x1f
  return bytes
}

/** A CA certificate together with the private key that signs under it. */
export interface Issuer {
  certPem: string
  certificate: ParsedCertificate
  signer: Signer
  keyId: Buffer
  /** AKI extension every certificate this issuer signs carries. */
  authorityKeyIdDer: Buffer
}

/** Pairs a CA certificate with its private key; throws CaBadKeyError when they do not match. */
export function createIssuer (certPem: string, privateKey: KeyObject | string): Issuer {
  const key = typeof privateKey === 'string' ? loadPrivateKey(privateKey) : privateKey
  const [der] = certificatesFromPem(certPem)
  const certificate = parseCertificate(der ?? Buffer.alloc(0))
  if (!spkiDerOf(key).equals(certificate.spkiDer)) throw new CaBadKeyError('the private key does not match the certificate\'s public key')
  const keyId = subjectKeyIdOf(certificate)
  return { certPem: certificatePem(der), certificate, signer: signerFor(key), keyId, authorityKeyIdDer: authorityKeyIdExtension(keyId) }
}

const label = (text: string): string => text.slice(0, MAX_COMMON_NAME_LENGTH)

function signingExtensions (spkiDer: Buffer, trustDomain: string, pathLength: number | undefined, authorityKeyIdDer?: Buffer): Buffer[] {
  return [
    basicConstraintsExtension(true, pathLength),
    keyUsageExtension(SIGNING_KEY_USAGE),
    subjectAltNameExtension([formatSigningSpiffeId(trustDomain)]),
    subjectKeyIdExtension(keyIdOf(spkiDer)),
    ...(authorityKeyIdDer === undefined ? [] : [authorityKeyIdDer]),
  ]
}

export interface RootInit {
  trustDomain: string
  keySpec?: KeySpec
  ttlMs?: number
  nowMs: number
  commonName?: string
}

export interface CreatedRoot { certPem: string, privateKeyPem: string }

/** A new self-signed root with a fresh key. No pathLen: cross-signing may put a level above intermediates. */
export function createRoot (init: RootInit): CreatedRoot {
  const key = generateKey(init.keySpec ?? DEFAULT_KEY_SPEC)
  const signer = signerFor(loadPrivateKey(key.privateKeyPem))
  const name = commonNameDer(label(init.commonName ?? `pri-${randomBytes(4).toString('hex')}.ca.${init.trustDomain}`))
  const keyId = keyIdOf(key.spkiDer)
  const der = signCertificate({
    serial: newRootSerial(),
    issuerDer: name,
    subjectDer: name,
    notBeforeMs: init.nowMs - CLOCK_SKEW_MS,
    notAfterMs: init.nowMs + (init.ttlMs ?? DEFAULT_ROOT_TTL_MS),
    spkiDer: key.spkiDer,
    extensionsDer: signingExtensions(key.spkiDer, init.trustDomain, undefined, authorityKeyIdExtension(keyId)),
  }, signer)
  return { certPem: certificatePem(der), privateKeyPem: key.privateKeyPem }
}

export interface IntermediateInit {
  spkiDer: Buffer
  trustDomain: string
  ttlMs?: number
  nowMs: number
  commonName?: string
}

/** Signs an intermediate (pathLen 0) for the given public key; never outlives its issuer. */
export function signIntermediate (issuer: Issuer, init: IntermediateInit): string {
  const der = signCertificate({
    serial: newSerial(),
    issuerDer: issuer.certificate.subjectDer,
    subjectDer: commonNameDer(label(init.commonName ?? `int-${randomBytes(4).toString('hex')}.ca.${init.trustDomain}`)),
    notBeforeMs: init.nowMs - CLOCK_SKEW_MS,
    notAfterMs: Math.min(init.nowMs + (init.ttlMs ?? DEFAULT_INTERMEDIATE_TTL_MS), issuer.certificate.notAfterMs),
    spkiDer: init.spkiDer,
    extensionsDer: signingExtensions(init.spkiDer, init.trustDomain, 0, issuer.authorityKeyIdDer),
  }, issuer.signer)
  return certificatePem(der)
}

/**
 * The new root's subject and key, signed by the old root: a chain leaf → intermediate → cross →
 * old root verifies for peers that only know the old root yet.
 */
export function crossSignRoot (oldRoot: Issuer, newRootPem: string, trustDomain: string, nowMs: number): string {
  const newRoot = parseCertificate(certificatesFromPem(newRootPem)[0] ?? Buffer.alloc(0))
  const der = signCertificate({
    serial: newSerial(),
    issuerDer: oldRoot.certificate.subjectDer,
    subjectDer: newRoot.subjectDer,
    notBeforeMs: nowMs - CLOCK_SKEW_MS,
    notAfterMs: Math.min(newRoot.notAfterMs, oldRoot.certificate.notAfterMs),
    spkiDer: newRoot.spkiDer,
    extensionsDer: signingExtensions(newRoot.spkiDer, trustDomain, undefined, oldRoot.authorityKeyIdDer),
  }, oldRoot.signer)
  return certificatePem(der)
}

export interface LeafInit {
  /** The single URI SAN: a service or agent SPIFFE ID. */
  spiffeId: string
  commonName: string
  ttlMs?: number
  nowMs: number
  keySpec?: KeySpec
  dnsNames?: string[]
}

export interface IssuedLeaf {
  certPem: string
  privateKeyPem: string
  /** Colon hex, as Consul shows serials. */
  serialNumber: string
  notBeforeMs: number
  notAfterMs: number
}

const fixedLeafExtensions = new WeakMap<Issuer, Map<string, Buffer[]>>()

/** Extensions that depend only on the issuer and the key type: encoded once, reused per leaf. */
function leafTemplate (issuer: Issuer, spec: KeySpec): Buffer[] {
  let byType = fixedLeafExtensions.get(issuer)
  if (byType === undefined) { byType = new Map(); fixedLeafExtensions.set(issuer, byType) }
  let fixed = byType.get(spec.type)
  if (fixed === undefined) {
    const usage = spec.type === 'rsa' ? [KEY_USAGE.digitalSignature, KEY_USAGE.keyEncipherment] : [KEY_USAGE.digitalSignature]
    fixed = [
      basicConstraintsExtension(false),
      keyUsageExtension(usage),
      extKeyUsageExtension([OID.serverAuth, OID.clientAuth]),
      issuer.authorityKeyIdDer,
    ]
    byType.set(spec.type, fixed)
  }
  return fixed
}

/** Issues a leaf SVID with a fresh key pair; it never outlives its issuer. */
export function issueLeaf (issuer: Issuer, init: LeafInit): IssuedLeaf {
  const spec = init.keySpec ?? DEFAULT_KEY_SPEC
  const key = generateKey(spec)
  const serial = newSerial()
  const notBeforeMs = Math.floor((init.nowMs - CLOCK_SKEW_MS) / 1000) * 1000
  const notAfterMs = Math.floor(Math.min(init.nowMs + (init.ttlMs ?? DEFAULT_LEAF_TTL_MS), issuer.certificate.notAfterMs) / 1000) * 1000
  const der = signCertificate({
    serial,
    issuerDer: issuer.certificate.subjectDer,
    subjectDer: commonNameDer(label(init.commonName)),
    notBeforeMs,
    notAfterMs,
    spkiDer: key.spkiDer,
    extensionsDer: [
      ...leafTemplate(issuer, spec),
      subjectAltNameExtension([init.spiffeId], init.dnsNames ?? []),
      subjectKeyIdExtension(key.keyId ?? keyIdOf(key.spkiDer)),
    ],
  }, issuer.signer)
  return { certPem: certificatePem(der), privateKeyPem: key.privateKeyPem, serialNumber: serialHex(serial), notBeforeMs, notAfterMs }
}
