// Assembles the bytes of one answer from a prepared answer: shuffles the answer records, applies the
// UDP answer limit, fits everything into the size the transport allows and patches in the id.
//
// Size rules (RFC 1035, RFC 2181 section 9, RFC 6891): the answer section is filled first, in the
// shuffled order, while it fits; if any answer record is left out the TC bit is set, so the client
// retries over TCP (Consul sent cut answers without TC: hashicorp/consul#375, #1931). The
// additional records of the answers kept (then the whole-answer extras) come after, each only if it
// still fits; leaving additional records out does not set TC, as they are optional by definition.
// The SOA of the authority section and the OPT record are always kept.

import type { AnswerEntry, PreparedAnswer } from './lookup.ts'
import { FLAG_AA, FLAG_CD, FLAG_QR, FLAG_RA, FLAG_RD, FLAG_TC, HEADER_SIZE_BYTES, RCODE_REFUSED } from './wire.ts'

export interface AssembleRequest {
  /** The query packet; its bytes [12, questionEnd) are the question, copied as asked. */
  packet: Buffer
  questionEnd: number
  id: number
  requestFlags: number
  /** Largest answer the transport carries: 512 or the EDNS0 size over UDP, 65535 over TCP. */
  maxSizeBytes: number
  /** Most answer records to send (Consul's `udp_answer_limit`); Infinity for none. */
  answerLimit: number
  /** OPT record to append (the client sent one), or undefined. */
  opt: Buffer | undefined
  recursionAvailable: boolean
  random: () => number
}

function shuffled (answers: AnswerEntry[], random: () => number): AnswerEntry[] {
  if (answers.length < 2) return answers
  const order = answers.slice()
  for (let index = order.length - 1; index > 0; index--) {
    const other = Math.floor(random() * (index + 1))
    const held = order[index]!
    order[index] = order[other]!
    order[other] = held
  }
  return order
}

export function assembleAnswer (prepared: PreparedAnswer, request: AssembleRequest): Buffer {
  const questionBytes = request.questionEnd - HEADER_SIZE_BYTES
  const optBytes = request.opt?.length ?? 0
  let size = HEADER_SIZE_BYTES + questionBytes + optBytes
  for (const record of prepared.authority) size += record.length

  let truncated = false
  const answers: Buffer[] = []
  const candidates = shuffled(prepared.answers, request.random)
  const limit = Math.min(candidates.length, request.answerLimit)
  const kept: AnswerEntry[] = []
  for (let index = 0; index < limit; index++) {
    const entry = candidates[index]!
    if (size + entry.record.length > request.maxSizeBytes) { truncated = true; break }
    size += entry.record.length
    answers.push(entry.record)
    kept.push(entry)
  }

  const additionals: Buffer[] = []
  if (kept.length > 0 && (kept.some((entry) => entry.additionals.length > 0) || prepared.extra.length > 0)) {
    const added = new Set<Buffer>()
    const consider = (record: Buffer): void => {
      if (added.has(record) || size + record.length > request.maxSizeBytes) return
      added.add(record)
      size += record.length
      additionals.push(record)
    }
    for (const entry of kept) for (const record of entry.additionals) consider(record)
    for (const record of prepared.extra) consider(record)
  }

  const out = Buffer.allocUnsafe(size)
  out.writeUInt16BE(request.id, 0)
  // Authoritative for our names, found or not; a refusal speaks for no zone.
  const authoritative = prepared.rcode === RCODE_REFUSED ? 0 : FLAG_AA
  const flags = FLAG_QR | authoritative | (truncated ? FLAG_TC : 0) | (request.recursionAvailable ? FLAG_RA : 0) |
    (request.requestFlags & (FLAG_RD | FLAG_CD)) | prepared.rcode
  out.writeUInt16BE(flags, 2)
  out.writeUInt16BE(1, 4)
  out.writeUInt16BE(answers.length, 6)
  out.writeUInt16BE(prepared.authority.length, 8)
  out.writeUInt16BE(additionals.length + (request.opt === undefined ? 0 : 1), 10)
  let offset = HEADER_SIZE_BYTES + request.packet.copy(out, HEADER_SIZE_BYTES, HEADER_SIZE_BYTES, request.questionEnd)
  for (const record of answers) offset += record.copy(out, offset)
  for (const record of prepared.authority) offset += record.copy(out, offset)
  for (const record of additionals) offset += record.copy(out, offset)
  if (request.opt !== undefined) request.opt.copy(out, offset)
  return out
}
