// A minimal DER (ASN.1 Distinguished Encoding Rules) writer and reader: just the types X.509
// certificates and PKCS#10 requests need. The CA builds TBSCertificates with it directly because
// a generic ASN.1 object model (@peculiar/x509's) costs ~3 ms per certificate; concatenating
// pre-encoded buffers costs microseconds. The reader is strict about lengths so bytes from the
// network (CSRs) cannot make it read past its input.

import { CaBadDerError } from './errors.ts'

export const TAG = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  null: 0x05,
  oid: 0x06,
  utf8String: 0x0c,
  printableString: 0x13,
  ia5String: 0x16,
  utcTime: 0x17,
  generalizedTime: 0x18,
  sequence: 0x30,
  set: 0x31,
} as const

/** One TLV with the given tag byte around the concatenated parts, written into one allocation. */
function tlvOf (tag: number, parts: Buffer[]): Buffer {
  let length = 0
  for (const part of parts) length += part.length
  const lengthBytes = length < 0x80 ? 0 : length < 0x100 ? 1 : length < 0x10000 ? 2 : 3
  const out = Buffer.allocUnsafe(2 + lengthBytes + length)
  out[0] = tag
  if (lengthBytes === 0) {
    out[1] = length
  } else {
    out[1] = 0x80 | lengthBytes
    for (let index = 0; index < lengthBytes; index++) out[2 + index] = (length >> (8 * (lengthBytes - 1 - index))) & 0xff
  }
  let offset = 2 + lengthBytes
  for (const part of parts) { part.copy(out, offset); offset += part.length }
  return out
}

/** One TLV with the given tag byte around the content. */
export const tlv = (tag: number, content: Buffer): Buffer => tlvOf(tag, [content])
export const sequence = (...parts: Buffer[]): Buffer => tlvOf(TAG.sequence, parts)
export const set = (...parts: Buffer[]): Buffer => tlvOf(TAG.set, parts)
/** Context-specific constructed tag `[n]` (EXPLICIT, or IMPLICIT over a constructed type). */
export const contextConstructed = (n: number, ...parts: Buffer[]): Buffer => tlvOf(0xa0 | n, parts)
/** Context-specific primitive tag `[n]` IMPLICIT (e.g. GeneralName's uniformResourceIdentifier [6]). */
export const contextPrimitive = (n: number, content: Buffer): Buffer => tlv(0x80 | n, content)
export const octetString = (content: Buffer): Buffer => tlv(TAG.octetString, content)
export const utf8String = (text: string): Buffer => tlv(TAG.utf8String, Buffer.from(text, 'utf8'))
export const nullValue = (): Buffer => Buffer.from([TAG.null, 0])
export const booleanValue = (value: boolean): Buffer => Buffer.from([TAG.boolean, 1, value ? 0xff : 0])

/** BIT STRING whose content is whole bytes (keys, signatures). */
const ZERO_BYTE = Buffer.from([0])
export const bitString = (content: Buffer): Buffer => tlvOf(TAG.bitString, [ZERO_BYTE, content])

/** A named-bit BIT STRING (KeyUsage): bit 0 is the most significant bit; trailing zero bits are dropped as DER requires. */
export function namedBits (bits: number[]): Buffer {
  const highest = Math.max(...bits)
  const bytes = Buffer.alloc(Math.floor(highest / 8) + 1)
  for (const bit of bits) bytes[Math.floor(bit / 8)] |= 0x80 >> (bit % 8)
  const unused = 7 - (highest % 8)
  return tlv(TAG.bitString, Buffer.concat([Buffer.from([unused]), bytes]))
}

/** INTEGER from an unsigned big-endian magnitude, in minimal two's-complement form. */
export function unsignedInteger (magnitude: Buffer): Buffer {
  let start = 0
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++
  const trimmed = magnitude.subarray(start)
  const content = trimmed.length > 0 && (trimmed[0] & 0x80) !== 0 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed
  return tlv(TAG.integer, content.length === 0 ? Buffer.from([0]) : content)
}

export const smallInteger = (value: number): Buffer => unsignedInteger(Buffer.from([value]))

const oidCache = new Map<string, Buffer>()

export function oid (dotted: string): Buffer {
  const cached = oidCache.get(dotted)
  if (cached !== undefined) return cached
  const arcs = dotted.split('.').map(Number)
  const bytes: number[] = [arcs[0] * 40 + arcs[1]]
  for (const arc of arcs.slice(2)) {
    const chunk: number[] = [arc & 0x7f]
    for (let rest = Math.floor(arc / 128); rest > 0; rest = Math.floor(rest / 128)) chunk.unshift(0x80 | (rest & 0x7f))
    bytes.push(...chunk)
  }
  const encoded = tlv(TAG.oid, Buffer.from(bytes))
  oidCache.set(dotted, encoded)
  return encoded
}

const recentTimes = new Map<number, Buffer>()

/**
 * RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050; whole seconds, Zulu. Leaves
 * issued within the same second share validity bounds, so the last few encodings are remembered.
 */
export function time (ms: number): Buffer {
  const seconds = Math.floor(ms / 1000)
  const cached = recentTimes.get(seconds)
  if (cached !== undefined) return cached
  const date = new Date(seconds * 1000)
  const digits = date.toISOString().slice(0, 19).replace(/[-T:]/g, '') + 'Z' // 20261126111207Z
  const year = date.getUTCFullYear()
  const encoded = year >= 1950 && year < 2050
    ? tlv(TAG.utcTime, Buffer.from(digits.slice(2), 'ascii'))
    : tlv(TAG.generalizedTime, Buffer.from(digits, 'ascii'))
  if (recentTimes.size >= 8) recentTimes.delete(recentTimes.keys().next().value as number)
  recentTimes.set(seconds, encoded)
  return encoded
}

/** The DER text of `type` as PEM with 64-column lines. */
export function toPem (der: Buffer, type: string): string {
  const base64 = der.toString('base64')
  const lines: string[] = []
  for (let offset = 0; offset < base64.length; offset += 64) lines.push(base64.slice(offset, offset + 64))
  return `-----BEGIN ${type}-----\n${lines.join('\n')}\n-----END ${type}-----\n`
}

/** All PEM blocks of `type` in `text`, decoded. */
export function fromPemAll (text: string, type: string): Buffer[] {
  const pattern = new RegExp(`-----BEGIN ${type}-----([A-Za-z0-9+/=\\s]+?)-----END ${type}-----`, 'g')
  return [...text.matchAll(pattern)].map(match => Buffer.from(match[1].replace(/\s+/g, ''), 'base64'))
}

export interface DerNode {
  tag: number
  /** The whole TLV. */
  raw: Buffer
  /** The value bytes only. */
  content: Buffer
}

/** Reads one TLV at `offset`; throws CaBadDerError on truncated or non-minimal lengths. */
export function readNode (buffer: Buffer, offset = 0): DerNode {
  if (offset + 2 > buffer.length) throw new CaBadDerError('truncated header')
  const tag = buffer[offset]
  if ((tag & 0x1f) === 0x1f) throw new CaBadDerError('multi-byte tags are not used in X.509')
  let length = buffer[offset + 1]
  let header = 2
  if (length & 0x80) {
    const count = length & 0x7f
    if (count === 0 || count > 4) throw new CaBadDerError('unsupported length encoding')
    if (offset + 2 + count > buffer.length) throw new CaBadDerError('truncated length')
    length = 0
    for (let index = 0; index < count; index++) length = length * 256 + buffer[offset + 2 + index]
    if (length < 0x80 || buffer[offset + 2] === 0) throw new CaBadDerError('non-minimal length')
    header += count
  }
  const end = offset + header + length
  if (end > buffer.length) throw new CaBadDerError('value runs past the end of its container')
  return { tag, raw: buffer.subarray(offset, end), content: buffer.subarray(offset + header, end) }
}

/** The children of a constructed node, in order. */
export function children (node: DerNode): DerNode[] {
  const result: DerNode[] = []
  let offset = 0
  while (offset < node.content.length) {
    const child = readNode(node.content, offset)
    result.push(child)
    offset += child.raw.length
  }
  return result
}

/** Reads a buffer that must hold exactly one TLV. */
export function readWhole (buffer: Buffer): DerNode {
  const node = readNode(buffer, 0)
  if (node.raw.length !== buffer.length) throw new CaBadDerError('trailing bytes after the value')
  return node
}

export function expectTag (node: DerNode | undefined, tag: number, what: string): DerNode {
  if (node === undefined || node.tag !== tag) throw new CaBadDerError(`expected ${what}`)
  return node
}

export function decodeOid (node: DerNode): string {
  expectTag(node, TAG.oid, 'an OBJECT IDENTIFIER')
  const bytes = node.content
  if (bytes.length === 0) throw new CaBadDerError('empty OBJECT IDENTIFIER')
  const arcs: number[] = [Math.min(2, Math.floor(bytes[0] / 40)), bytes[0] - Math.min(2, Math.floor(bytes[0] / 40)) * 40]
  let value = 0
  for (const byte of bytes.subarray(1)) {
    value = value * 128 + (byte & 0x7f)
    if ((byte & 0x80) === 0) { arcs.push(value); value = 0 }
  }
  return arcs.join('.')
}

/** BIT STRING content without its unused-bits byte. */
export function bitStringBytes (node: DerNode): Buffer {
  expectTag(node, TAG.bitString, 'a BIT STRING')
  if (node.content.length === 0) throw new CaBadDerError('empty BIT STRING')
  return node.content.subarray(1)
}
