// The hot-path reader of DNS queries: header, the single question and the EDNS0 OPT record, read
// straight from the bytes. A full dns-packet decode allocates an object per section and record and
// costs more than the rest of answering a cached query, so the server only reads what it needs:
// the id and flags to echo, where the question ends (its raw bytes are the cache key and are
// copied into the answer as asked, case preserved), the type, and the client's UDP size.

export const TYPE_A = 1
export const TYPE_SOA = 6
export const TYPE_TXT = 16
export const TYPE_AAAA = 28
export const TYPE_SRV = 33
export const TYPE_OPT = 41
export const TYPE_ANY = 255

export const CLASS_IN = 1
export const CLASS_ANY = 255

export const RCODE_NOERROR = 0
export const RCODE_FORMERR = 1
export const RCODE_SERVFAIL = 2
export const RCODE_NXDOMAIN = 3
export const RCODE_NOTIMP = 4
export const RCODE_REFUSED = 5
/** Extended RCODE 16 (BADVERS): its upper 8 bits travel in the OPT record. */
export const EXTENDED_RCODE_BADVERS = 16

export const FLAG_QR = 0x8000
export const FLAG_AA = 0x0400
export const FLAG_TC = 0x0200
export const FLAG_RD = 0x0100
export const FLAG_RA = 0x0080
export const FLAG_CD = 0x0010
export const OPT_FLAG_DO = 0x8000

/** RFC 1035 limit for UDP answers to clients that do not offer EDNS0. */
export const CLASSIC_UDP_SIZE_BYTES = 512
export const HEADER_SIZE_BYTES = 12
const MAX_NAME_BYTES = 255

/** A packet we do not answer at all: too short for a header, or itself a response. */
export interface DroppedPacket { kind: 'drop' }

/** A header we could read, followed by something we could not: answered with FORMERR. */
export interface MalformedPacket { kind: 'malformed', id: number, flags: number, reason: string }

/** A query whose opcode is not QUERY: answered with NOTIMP. */
export interface UnsupportedOpcode { kind: 'notimp', id: number, flags: number }

export interface ParsedQuery {
  kind: 'query'
  id: number
  flags: number
  /** The question's bytes are `packet[12, questionEnd)`: name, type and class. */
  questionEnd: number
  qtype: number
  qclass: number
  /** Whether the client sent an OPT record; the answer then carries one too (RFC 6891). */
  hasEdns: boolean
  /** UDP payload size the client offers (0 without EDNS0). */
  ednsUdpSizeBytes: number
  ednsVersion: number
  dnssecOk: boolean
}

export type ReadResult = DroppedPacket | MalformedPacket | UnsupportedOpcode | ParsedQuery

const DROP: DroppedPacket = { kind: 'drop' }

/** Offset just past the (possibly compressed) name at `offset`, or -1 if it runs off the packet. */
function skipName (packet: Buffer, offset: number): number {
  const length = packet.length
  while (offset < length) {
    const labelLength = packet[offset]!
    if (labelLength === 0) return offset + 1
    if ((labelLength & 0xc0) === 0xc0) return offset + 2 <= length ? offset + 2 : -1
    if ((labelLength & 0xc0) !== 0) return -1
    offset += labelLength + 1
  }
  return -1
}

/** Reads a query packet; never throws whatever the bytes are. */
export function readQuery (packet: Buffer): ReadResult {
  if (packet.length < HEADER_SIZE_BYTES) return DROP
  const id = (packet[0]! << 8) | packet[1]!
  const flags = (packet[2]! << 8) | packet[3]!
  if ((flags & FLAG_QR) !== 0) return DROP
  if (((flags >> 11) & 0xf) !== 0) return { kind: 'notimp', id, flags }
  const questionCount = (packet[4]! << 8) | packet[5]!
  if (questionCount !== 1) return { kind: 'malformed', id, flags, reason: `question count ${questionCount}` }

  // The question name: plain labels only (nothing earlier in the packet for a pointer to reach).
  let offset = HEADER_SIZE_BYTES
  for (;;) {
    if (offset >= packet.length) return { kind: 'malformed', id, flags, reason: 'question name runs past the packet' }
    const labelLength = packet[offset]!
    if (labelLength === 0) { offset++; break }
    if (labelLength > 63) return { kind: 'malformed', id, flags, reason: 'bad label in question name' }
    offset += labelLength + 1
    if (offset - HEADER_SIZE_BYTES > MAX_NAME_BYTES) return { kind: 'malformed', id, flags, reason: 'question name too long' }
  }
  if (offset + 4 > packet.length) return { kind: 'malformed', id, flags, reason: 'question type and class missing' }
  const qtype = (packet[offset]! << 8) | packet[offset + 1]!
  const qclass = (packet[offset + 2]! << 8) | packet[offset + 3]!
  const questionEnd = offset + 4

  const query: ParsedQuery = {
    kind: 'query', id, flags, questionEnd, qtype, qclass, hasEdns: false, ednsUdpSizeBytes: 0, ednsVersion: 0, dnssecOk: false
  }
  const answerCount = (packet[6]! << 8) | packet[7]!
  const authorityCount = (packet[8]! << 8) | packet[9]!
  const additionalCount = (packet[10]! << 8) | packet[11]!
  if (additionalCount === 0) return query

  // Walk every record after the question to find the OPT one (usually the only one).
  offset = questionEnd
  const recordCount = answerCount + authorityCount + additionalCount
  for (let index = 0; index < recordCount; index++) {
    offset = skipName(packet, offset)
    if (offset < 0 || offset + 10 > packet.length) return { kind: 'malformed', id, flags, reason: 'record runs past the packet' }
    const type = (packet[offset]! << 8) | packet[offset + 1]!
    const dataLength = (packet[offset + 8]! << 8) | packet[offset + 9]!
    if (type === TYPE_OPT && index >= answerCount + authorityCount) {
      if (query.hasEdns) return { kind: 'malformed', id, flags, reason: 'more than one OPT record' }
      query.hasEdns = true
      query.ednsUdpSizeBytes = (packet[offset + 2]! << 8) | packet[offset + 3]!
      query.ednsVersion = packet[offset + 5]!
      query.dnssecOk = (packet[offset + 6]! & 0x80) !== 0
    }
    offset += 10 + dataLength
    if (offset > packet.length) return { kind: 'malformed', id, flags, reason: 'record data runs past the packet' }
  }
  return query
}

/** The question name as asked (case preserved, no trailing dot); `questionEnd` from `readQuery`. */
export function questionName (packet: Buffer, questionEnd: number): string {
  const labels: string[] = []
  let offset = HEADER_SIZE_BYTES
  const nameEnd = questionEnd - 4
  while (offset < nameEnd) {
    const labelLength = packet[offset]!
    if (labelLength === 0) break
    labels.push(packet.toString('latin1', offset + 1, offset + 1 + labelLength))
    offset += labelLength + 1
  }
  return labels.join('.')
}

/** A header-only answer (FORMERR, NOTIMP, SERVFAIL...): id echoed, RD and CD kept, no sections. */
export function headerOnlyAnswer (id: number, requestFlags: number, rcode: number): Buffer {
  const answer = Buffer.alloc(HEADER_SIZE_BYTES)
  answer.writeUInt16BE(id, 0)
  answer.writeUInt16BE(FLAG_QR | (requestFlags & (0x7800 | FLAG_RD | FLAG_CD)) | rcode, 2)
  return answer
}

/** A 2-byte big-endian length prefix followed by `message` (DNS over TCP framing, RFC 1035 4.2.2). */
export function frameForTcp (message: Buffer): Buffer {
  const framed = Buffer.allocUnsafe(message.length + 2)
  framed.writeUInt16BE(message.length, 0)
  message.copy(framed, 2)
  return framed
}
