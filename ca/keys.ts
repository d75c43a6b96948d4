// Key pairs and signature algorithms of the CA, over node:crypto only: ECDSA P-256 (default) or
// P-384, RSA 2048 or 4096, as Consul's PrivateKeyType/PrivateKeyBits allow. node:crypto generates
// P-256 pairs ~6x faster than WebCrypto here, which is what makes the leaf fast path possible.

import { createECDH, createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign } from 'node:crypto'
import type { KeyObject } from 'node:crypto'
import { bitString, contextConstructed, nullValue, octetString, oid, sequence, smallInteger, toPem } from './der.ts'
import { CaBadKeyError } from './errors.ts'

export type PrivateKeyType = 'ec' | 'rsa'

export interface KeySpec {
  type: PrivateKeyType
  /** EC: 256 or 384 (curve size); RSA: 2048 or 4096 (modulus). */
  bits: number
}

export const DEFAULT_KEY_SPEC: KeySpec = { type: 'ec', bits: 256 }

const CURVE_BY_BITS: Record<number, string> = { 256: 'prime256v1', 384: 'secp384r1' }
const CURVE_OID_BY_BITS: Record<number, string> = { 256: '1.2.840.10045.3.1.7', 384: '1.3.132.0.34' }
const EC_PUBLIC_KEY_OID = '1.2.840.10045.2.1'
const BITS_BY_CURVE: Record<string, number> = { prime256v1: 256, secp384r1: 384 }

export function checkKeySpec (spec: KeySpec): KeySpec {
  if (spec.type === 'ec' && (spec.bits === 256 || spec.bits === 384)) return spec
  if (spec.type === 'rsa' && (spec.bits === 2048 || spec.bits === 4096)) return spec
  throw new CaBadKeyError(`PrivateKeyType "${spec.type}" with PrivateKeyBits ${spec.bits}: expected ec 256/384 or rsa 2048/4096`)
}

export interface GeneratedKey {
  /** SubjectPublicKeyInfo, DER. */
  spkiDer: Buffer
  /** RFC 5280 key identifier (SHA-1 of the subjectPublicKey bits), when computed cheaply at generation. */
  keyId?: Buffer
  /** PKCS#8 PEM. */
  privateKeyPem: string
}

/**
 * An EC pair through node's ECDH object, encoded by hand. Asking generateKeyPairSync for SPKI
 * and PKCS#8 output goes through OpenSSL 3's encoder framework, which costs 3-4x the key
 * generation itself; the raw scalar and point plus two fixed DER layouts cost almost nothing.
 */
function generateEcKey (bits: number): GeneratedKey {
  const ecdh = createECDH(CURVE_BY_BITS[bits])
  const point = ecdh.generateKeys()
  const scalarBytes = bits / 8
  const raw = ecdh.getPrivateKey()
  const scalar = raw.length === scalarBytes ? raw : Buffer.concat([Buffer.alloc(scalarBytes - raw.length), raw])
  const algorithm = sequence(oid(EC_PUBLIC_KEY_OID), oid(CURVE_OID_BY_BITS[bits]))
  // RFC 5915 ECPrivateKey inside RFC 5208 PrivateKeyInfo; the curve is named in the algorithm.
  const ecPrivateKey = sequence(smallInteger(1), octetString(scalar), contextConstructed(1, bitString(point)))
  return {
    spkiDer: sequence(algorithm, bitString(point)),
    keyId: createHash('sha1').update(point).digest(),
    privateKeyPem: toPem(sequence(smallInteger(0), algorithm, octetString(ecPrivateKey)), 'PRIVATE KEY'),
  }
}

export function generateKey (spec: KeySpec): GeneratedKey {
  checkKeySpec(spec)
  if (spec.type === 'ec') return generateEcKey(spec.bits)
  const publicKeyEncoding = { type: 'spki', format: 'der' } as const
  const privateKeyEncoding = { type: 'pkcs8', format: 'pem' } as const
  const pair = generateKeyPairSync('rsa', { modulusLength: spec.bits, publicKeyEncoding, privateKeyEncoding })
  return { spkiDer: pair.publicKey, privateKeyPem: pair.privateKey }
}

export function loadPrivateKey (pem: string): KeyObject {
  try {
    const key = createPrivateKey(pem)
    keySpecOf(key)
    return key
  } catch (error) {
    if (error instanceof CaBadKeyError) throw error
    throw new CaBadKeyError(`cannot parse PEM: ${(error as Error).message}`)
  }
}

/** The spec of a private or public key; throws for key types the CA does not use. */
export function keySpecOf (key: KeyObject): KeySpec {
  const details = key.asymmetricKeyDetails ?? {}
  if (key.asymmetricKeyType === 'ec') {
    const bits = BITS_BY_CURVE[details.namedCurve ?? '']
    if (bits === undefined) throw new CaBadKeyError(`unsupported curve ${details.namedCurve ?? '(none)'}`)
    return { type: 'ec', bits }
  }
  if (key.asymmetricKeyType === 'rsa') return checkKeySpec({ type: 'rsa', bits: details.modulusLength ?? 0 })
  throw new CaBadKeyError(`unsupported key type ${key.asymmetricKeyType ?? '(none)'}`)
}

export function spkiDerOf (key: KeyObject): Buffer {
  return createPublicKey(key).export({ type: 'spki', format: 'der' })
}

/** A private key with the AlgorithmIdentifier and hash its signatures use. */
export interface Signer {
  key: KeyObject
  spec: KeySpec
  /** AlgorithmIdentifier DER for `signature` / `signatureAlgorithm`. */
  algorithmDer: Buffer
  hash: 'sha256' | 'sha384'
}

export function signerFor (key: KeyObject): Signer {
  const spec = keySpecOf(key)
  if (spec.type === 'rsa') {
    // sha256WithRSAEncryption; RFC 4055 requires the NULL parameter.
    return { key, spec, algorithmDer: sequence(oid('1.2.840.113549.1.1.11'), nullValue()), hash: 'sha256' }
  }
  // ecdsa-with-SHA256 / -SHA384; RFC 5758 requires absent parameters. The hash matches the curve.
  return spec.bits === 384
    ? { key, spec, algorithmDer: sequence(oid('1.2.840.10045.4.3.3')), hash: 'sha384' }
    : { key, spec, algorithmDer: sequence(oid('1.2.840.10045.4.3.2')), hash: 'sha256' }
}

/** Signature over `data` (ECDSA signatures come out DER-encoded, as X.509 wants). */
export function signWith (signer: Signer, data: Buffer): Buffer {
  return sign(signer.hash, data, signer.key)
}
