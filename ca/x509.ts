// X.509 v3 certificates at the DER level: the extensions the CA's profiles use, assembling and
// signing a TBSCertificate, and reading back the few fields the CA needs (subject, key ids,
// SANs, validity). Profiles (which extensions go in which certificate) live in ca/profiles.ts.

import { createHash } from 'node:crypto'
import {
  TAG, bitString, bitStringBytes, booleanValue, children, contextConstructed, contextPrimitive,
  decodeOid, expectTag, fromPemAll, namedBits, octetString, oid, readWhole, sequence, set,
  smallInteger, time, toPem, unsignedInteger, utf8String,
} from './der.ts'
import type { DerNode } from './der.ts'
import { CaBadCertificateError, CaError } from './errors.ts'
import { signWith } from './keys.ts'
import type { Signer } from './keys.ts'

export const OID = {
  commonName: '2.5.4.3',
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  extensionRequest: '1.2.840.113549.1.9.14',
} as const

/** KeyUsage bit numbers (RFC 5280 4.2.1.3). */
export const KEY_USAGE = { digitalSignature: 0, keyEncipherment: 2, keyCertSign: 5, cRLSign: 6 } as const

function extension (extnId: string, critical: boolean, value: Buffer): Buffer {
  return critical
    ? sequence(oid(extnId), booleanValue(true), octetString(value))
    : sequence(oid(extnId), octetString(value))
}

export const basicConstraintsExtension = (isCa: boolean, pathLength?: number): Buffer =>
  extension(OID.basicConstraints, true, isCa
    ? sequence(booleanValue(true), ...(pathLength === undefined ? [] : [smallInteger(pathLength)]))
    : sequence())

export const keyUsageExtension = (bits: number[]): Buffer => extension(OID.keyUsage, true, namedBits(bits))

export const extKeyUsageExtension = (oids: string[]): Buffer =>
  extension(OID.extKeyUsage, false, sequence(...oids.map(oid)))

/** SAN with URIs ([6] IA5String) and DNS names ([2]); critical only when the subject is empty. */
export function subjectAltNameExtension (uris: string[], dnsNames: string[] = [], critical = false): Buffer {
  const names = [
    ...uris.map(uri => contextPrimitive(6, Buffer.from(uri, 'ascii'))),
    ...dnsNames.map(name => contextPrimitive(2, Buffer.from(name, 'ascii'))),
  ]
  return extension(OID.subjectAltName, critical, sequence(...names))
}

export const subjectKeyIdExtension = (keyId: Buffer): Buffer => extension(OID.subjectKeyIdentifier, false, octetString(keyId))
export const authorityKeyIdExtension = (keyId: Buffer): Buffer =>
  extension(OID.authorityKeyIdentifier, false, sequence(contextPrimitive(0, keyId)))

/** A Name with one CN attribute, UTF8String as RFC 5280 recommends. */
export const commonNameDer = (commonName: string): Buffer =>
  sequence(set(sequence(oid(OID.commonName), utf8String(commonName))))

/** RFC 5280 4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING value. */
export function keyIdOf (spkiDer: Buffer): Buffer {
  const [, key] = children(readWhole(spkiDer))
  return createHash('sha1').update(bitStringBytes(key)).digest()
}

export interface TbsSpec {
  /** Unsigned big-endian serial number. */
  serial: Buffer
  issuerDer: Buffer
  subjectDer: Buffer
  notBeforeMs: number
  notAfterMs: number
  spkiDer: Buffer
  extensionsDer: Buffer[]
}

/** Builds and signs a v3 certificate, returns its DER. */
export function signCertificate (spec: TbsSpec, signer: Signer): Buffer {
  const tbs = sequence(
    contextConstructed(0, smallInteger(2)),
    unsignedInteger(spec.serial),
    signer.algorithmDer,
    spec.issuerDer,
    sequence(time(spec.notBeforeMs), time(spec.notAfterMs)),
    spec.subjectDer,
    spec.spkiDer,
    contextConstructed(3, sequence(...spec.extensionsDer))
  )
  return sequence(tbs, signer.algorithmDer, bitString(signWith(signer, tbs)))
}

export const certificatePem = (der: Buffer): string => toPem(der, 'CERTIFICATE')

export function certificatesFromPem (text: string): Buffer[] {
  return fromPemAll(text, 'CERTIFICATE')
}

export interface ParsedExtension { critical: boolean, value: Buffer }

export interface ParsedCertificate {
  der: Buffer
  serial: Buffer
  issuerDer: Buffer
  subjectDer: Buffer
  spkiDer: Buffer
  notBeforeMs: number
  notAfterMs: number
  extensions: Map<string, ParsedExtension>
}

function parseTime (node: DerNode): number {
  const text = node.content.toString('ascii')
  const match = node.tag === TAG.utcTime
    ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text)
    : /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text)
  if (match === null) throw new CaBadCertificateError(`bad time "${text}"`)
  let year = Number(match[1])
  if (node.tag === TAG.utcTime) year += year < 50 ? 2000 : 1900
  return Date.UTC(year, Number(match[2]) - 1, Number(match[3]), Number(match[4]), Number(match[5]), Number(match[6]))
}

/** Reads the fields the CA uses from a certificate's DER. */
export function parseCertificate (der: Buffer): ParsedCertificate {
  try {
    const [tbs] = children(expectTag(readWhole(der), TAG.sequence, 'Certificate'))
    const fields = children(expectTag(tbs, TAG.sequence, 'TBSCertificate'))
    const offset = fields[0]?.tag === 0xa0 ? 1 : 0
    const [serial, , issuer, validity, subject, spki] = fields.slice(offset)
    const [notBefore, notAfter] = children(expectTag(validity, TAG.sequence, 'Validity'))
    const extensions = new Map<string, ParsedExtension>()
    const extensionsNode = fields.find(field => field.tag === 0xa3)
    if (extensionsNode !== undefined) {
      for (const entry of children(children(extensionsNode)[0])) {
        const parts = children(entry)
        const critical = parts.length === 3 && parts[1].content[0] !== 0
        extensions.set(decodeOid(parts[0]), { critical, value: expectTag(parts[parts.length - 1], TAG.octetString, 'extnValue').content })
      }
    }
    return {
      der,
      serial: expectTag(serial, TAG.integer, 'serialNumber').content,
      issuerDer: expectTag(issuer, TAG.sequence, 'issuer').raw,
      subjectDer: expectTag(subject, TAG.sequence, 'subject').raw,
      spkiDer: expectTag(spki, TAG.sequence, 'subjectPublicKeyInfo').raw,
      notBeforeMs: parseTime(notBefore),
      notAfterMs: parseTime(notAfter),
      extensions,
    }
  } catch (error) {
    if (error instanceof CaBadCertificateError) throw error
    throw new CaBadCertificateError(error instanceof CaError ? error.message : String(error))
  }
}

/** URIs and DNS names of a SubjectAltName extension value. */
export function parseSubjectAltNames (value: Buffer): { uris: string[], dnsNames: string[] } {
  const uris: string[] = []
  const dnsNames: string[] = []
  for (const name of children(expectTag(readWhole(value), TAG.sequence, 'GeneralNames'))) {
    if (name.tag === 0x86) uris.push(name.content.toString('ascii'))
    if (name.tag === 0x82) dnsNames.push(name.content.toString('ascii'))
  }
  return { uris, dnsNames }
}

/** The certificate's SubjectKeyIdentifier, or the RFC 5280 method-1 key id when it has none. */
export function subjectKeyIdOf (certificate: ParsedCertificate): Buffer {
  const extension = certificate.extensions.get(OID.subjectKeyIdentifier)
  if (extension === undefined) return keyIdOf(certificate.spkiDer)
  return expectTag(readWhole(extension.value), TAG.octetString, 'SubjectKeyIdentifier').content
}

/** Consul's colon-separated lower-case hex (`ab:cd:...`) for serials and key ids. */
export const colonHex = (bytes: Buffer): string => (bytes.toString('hex').match(/../g) ?? []).join(':')

/** Serial number as Consul shows it: colon hex of the magnitude without leading zero bytes (nor DER's sign byte). */
export function serialHex (serial: Buffer): string {
  let start = 0
  while (start < serial.length - 1 && serial[start] === 0) start++
  return colonHex(serial.subarray(start))
}

/** The first CommonName of a Name, or '' when it has none. */
export function commonNameOf (nameDer: Buffer): string {
  for (const relativeName of children(readWhole(nameDer))) {
    for (const attribute of children(relativeName)) {
      const [type, value] = children(attribute)
      if (decodeOid(type) === OID.commonName) return value.content.toString('utf8')
    }
  }
  return ''
}

export interface CertificateFacts {
  /** Consul's root ID: colon hex of the SHA-1 fingerprint of the DER. */
  id: string
  serialNumber: string
  /** Colon hex of the SubjectKeyIdentifier. */
  signingKeyId: string
  notBeforeMs: number
  notAfterMs: number
  subjectCommonName: string
}

/** What Consul's roots and leaf responses say about a certificate. */
export function certificateFacts (pem: string): CertificateFacts {
  const der = certificatesFromPem(pem)[0]
  if (der === undefined) throw new CaBadCertificateError('no CERTIFICATE PEM block')
  const parsed = parseCertificate(der)
  return {
    id: colonHex(createHash('sha1').update(der).digest()),
    serialNumber: serialHex(parsed.serial),
    signingKeyId: colonHex(subjectKeyIdOf(parsed)),
    notBeforeMs: parsed.notBeforeMs,
    notAfterMs: parsed.notAfterMs,
    subjectCommonName: commonNameOf(parsed.subjectDer),
  }
}
