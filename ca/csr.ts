// PKCS#10 certificate signing requests: making one for an agent's intermediate key, and parsing
// one that arrived from the network. Parsing checks structure and the self-signature only; what
// the request may ask for (key type, SPIFFE ID) is the signing policy's business
// (agent/connect/sign-request.ts).

import { createPublicKey, verify } from 'node:crypto'
import type { KeyObject } from 'node:crypto'
import {
  TAG, bitString, bitStringBytes, children, contextConstructed, decodeOid, expectTag, fromPemAll,
  oid, readWhole, sequence, set, smallInteger, toPem,
} from './der.ts'
import { CaBadCsrError, CaError } from './errors.ts'
import { keySpecOf, loadPrivateKey, signWith, signerFor, spkiDerOf } from './keys.ts'
import type { KeySpec } from './keys.ts'
import { OID, commonNameDer, parseSubjectAltNames, subjectAltNameExtension } from './x509.ts'

/** Requests larger than this are refused before parsing (a P-256 CSR is ~400 bytes, RSA-4096 ~1.7 kB). */
export const MAX_CSR_PEM_BYTES = 8 * 1024

export interface CsrInit {
  privateKeyPem: string
  commonName: string
  uris: string[]
}

export function createCsr (init: CsrInit): string {
  const key = loadPrivateKey(init.privateKeyPem)
  const extensionRequest = sequence(oid(OID.extensionRequest), set(sequence(subjectAltNameExtension(init.uris))))
  const info = sequence(smallInteger(0), commonNameDer(init.commonName), spkiDerOf(key), contextConstructed(0, extensionRequest))
  const signer = signerFor(key)
  return toPem(sequence(info, signer.algorithmDer, bitString(signWith(signer, info))), 'CERTIFICATE REQUEST')
}

export interface ParsedCsr {
  spkiDer: Buffer
  publicKey: KeyObject
  keySpec: KeySpec
  uris: string[]
  dnsNames: string[]
}

const HASH_BY_SIGNATURE_OID: Record<string, string> = {
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.113549.1.1.11': 'sha256',
}

/** Parses and checks the self-signature; throws CaBadCsrError for anything malformed or forged. */
export function parseCsr (pem: string): ParsedCsr {
  if (typeof pem !== 'string' || pem.length > MAX_CSR_PEM_BYTES) throw new CaBadCsrError(`expected a PEM string of at most ${MAX_CSR_PEM_BYTES} bytes`)
  const blocks = fromPemAll(pem, 'CERTIFICATE REQUEST')
  if (blocks.length !== 1) throw new CaBadCsrError('expected exactly one CERTIFICATE REQUEST PEM block')
  try {
    const [info, algorithm, signature] = children(expectTag(readWhole(blocks[0]), TAG.sequence, 'CertificationRequest'))
    const [version, , spki, attributes] = children(expectTag(info, TAG.sequence, 'CertificationRequestInfo'))
    if (expectTag(version, TAG.integer, 'version').content.length !== 1 || version.content[0] !== 0) throw new CaBadCsrError('version must be 0 (v1)')
    const spkiDer = expectTag(spki, TAG.sequence, 'subjectPKInfo').raw
    let publicKey: KeyObject
    try {
      publicKey = createPublicKey({ key: spkiDer, format: 'der', type: 'spki' })
    } catch {
      throw new CaBadCsrError('unparsable public key')
    }
    const keySpec = keySpecOf(publicKey)
    const hash = HASH_BY_SIGNATURE_OID[decodeOid(children(expectTag(algorithm, TAG.sequence, 'signatureAlgorithm'))[0])]
    if (hash === undefined) throw new CaBadCsrError('unsupported signature algorithm')
    if (!verify(hash, info.raw, publicKey, bitStringBytes(signature))) throw new CaBadCsrError('signature does not verify with the request\'s own key')
    const names = { uris: [] as string[], dnsNames: [] as string[] }
    for (const attribute of attributes === undefined ? [] : children(expectTag(attributes, 0xa0, 'attributes'))) {
      const [type, values] = children(attribute)
      if (decodeOid(type) !== OID.extensionRequest) continue
      for (const extension of children(children(values)[0])) {
        const parts = children(extension)
        if (decodeOid(parts[0]) !== OID.subjectAltName) continue
        const found = parseSubjectAltNames(parts[parts.length - 1].content)
        names.uris.push(...found.uris)
        names.dnsNames.push(...found.dnsNames)
      }
    }
    return { spkiDer, publicKey, keySpec, ...names }
  } catch (error) {
    if (error instanceof CaBadCsrError) throw error
    throw new CaBadCsrError(error instanceof CaError ? error.message : `malformed request: ${String(error)}`)
  }
}
