// Wire codec of membership messages: versioned JSON in a Uint8Array, size-bounded, and a decoder
// that validates every field and bound before anything reaches the state machine.

import { identifierProblem } from '../../api/identifiers.ts'
import { describeReceived, MessageDecodeError, MessageTooLargeError, UnsupportedVersionError } from './errors.ts'
import type { GossipEntry, MemberState, MemberStatus, MembershipMessage } from './types.ts'

export const PROTOCOL_VERSION = 1

/**
 * The highest incarnation a member may hold (memberlist's uint32). Accusations (suspect, dead,
 * leave) are bounded one below it, so the accused can always refute at accusation + 1; a member
 * already at the bound answers an accusation with its alive at the bound, which wins the tie
 * (see state.ts). Anything above is refused at decode, so no datagram can push a member past
 * the point where it could answer.
 */
export const MAX_INCARNATION = 0xffff_ffff
/** The highest incarnation an accusation may carry: its refutation still fits. */
export const MAX_ACCUSATION_INCARNATION = MAX_INCARNATION - 1

/** The incarnation an accusation about a member at `incarnation` goes out with: one below the bound at most. */
export function accusationIncarnation (incarnation: number): number {
  return Math.min(incarnation, MAX_ACCUSATION_INCARNATION)
}

export const limits = Object.freeze({
  nameChars: 128,
  idChars: 128,
  addrChars: 256,
  metaKeys: 64,
  metaKeyChars: 128,
  metaValueChars: 512,
  gossipEntries: 256,
  pushPullMembers: 20_000
})

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

/** Bytes of the UTF-8 JSON of a value: what it costs inside a datagram's budget. */
export function encodedSizeBytes (value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value))
}

export function encodeMessage (message: MembershipMessage, maxBytes: number): Uint8Array {
  const bytes = encoder.encode(JSON.stringify({ v: PROTOCOL_VERSION, ...message }))
  if (bytes.byteLength > maxBytes) throw new MessageTooLargeError(bytes.byteLength, maxBytes)
  return bytes
}

/** Decodes and validates one message; throws a MembershipError subclass, never anything else. */
export function decodeMessage (bytes: Uint8Array, maxBytes: number): MembershipMessage {
  if (bytes.byteLength > maxBytes) throw new MessageTooLargeError(bytes.byteLength, maxBytes)
  let raw: unknown
  try {
    raw = JSON.parse(decoder.decode(bytes))
  } catch {
    throw new MessageDecodeError('not UTF-8 JSON')
  }
  const body = record(raw, 'message')
  if (body.v !== PROTOCOL_VERSION) throw new UnsupportedVersionError(body.v)
  switch (body.type) {
    case 'ping':
      return { type: 'ping', seq: seq(body.seq), target: text(body.target, 'target', limits.nameChars), gossip: gossipList(body.gossip) }
    case 'ping-req':
      return {
        type: 'ping-req',
        seq: seq(body.seq),
        target: text(body.target, 'target', limits.nameChars),
        targetAddr: text(body.targetAddr, 'targetAddr', limits.addrChars),
        gossip: gossipList(body.gossip)
      }
    case 'ack':
    case 'nack':
      return { type: body.type, seq: seq(body.seq), gossip: gossipList(body.gossip) }
    case 'gossip':
      return { type: 'gossip', gossip: gossipList(body.gossip) }
    case 'push-pull':
      return { type: 'push-pull', join: bool(body.join, 'join'), reply: bool(body.reply, 'reply'), members: memberList(body.members) }
    default:
      throw new MessageDecodeError(`unknown type ${describeReceived(body.type)}`)
  }
}

/** Validates metadata as the decoder would; used for the local member's own meta too. */
export function validateMeta (value: unknown): Record<string, string> {
  const meta = record(value, 'meta')
  const keys = Object.keys(meta)
  if (keys.length > limits.metaKeys) throw new MessageDecodeError(`meta has more than ${limits.metaKeys} keys`)
  const clean: Record<string, string> = {}
  for (const key of keys) {
    if (key.length === 0 || key.length > limits.metaKeyChars) throw new MessageDecodeError('meta key length out of bounds')
    clean[key] = text(meta[key], `meta.${key.slice(0, 40)}`, limits.metaValueChars, true)
  }
  return clean
}

/** A member's name: what the catalog and the API's paths name its node by (api/identifiers.ts). */
export function validateName (value: unknown, field: string): string {
  return identifier(text(value, field, limits.nameChars), field)
}

export function validateId (value: unknown, field: string): string {
  return identifier(text(value, field, limits.idChars), field)
}

function identifier (value: string, field: string): string {
  const problem = identifierProblem(value, { pathSegment: true })
  if (problem !== undefined) throw new MessageDecodeError(`${field} ${problem}`)
  return value
}

export function validateAddr (value: unknown, field: string): string {
  return text(value, field, limits.addrChars)
}

function gossipList (value: unknown): GossipEntry[] {
  if (!Array.isArray(value)) throw new MessageDecodeError('gossip must be an array')
  if (value.length > limits.gossipEntries) throw new MessageDecodeError(`more than ${limits.gossipEntries} gossip entries`)
  return value.map(gossipEntry)
}

function gossipEntry (value: unknown): GossipEntry {
  const entry = record(value, 'gossip entry')
  const name = validateName(entry.name, 'name')
  switch (entry.type) {
    case 'alive':
      return { type: 'alive', name, id: validateId(entry.id, 'id'), addr: validateAddr(entry.addr, 'addr'), meta: validateMeta(entry.meta), incarnation: incarnationOf(entry.incarnation, false) }
    case 'suspect':
    case 'dead':
      return { type: entry.type, name, incarnation: incarnationOf(entry.incarnation, true), from: validateName(entry.from, 'from') }
    default:
      throw new MessageDecodeError('unknown gossip entry type')
  }
}

const statuses: ReadonlySet<string> = new Set<MemberStatus>(['alive', 'suspect', 'dead', 'left'])

function memberList (value: unknown): MemberState[] {
  if (!Array.isArray(value)) throw new MessageDecodeError('members must be an array')
  if (value.length > limits.pushPullMembers) throw new MessageDecodeError(`more than ${limits.pushPullMembers} members`)
  return value.map(item => {
    const member = record(item, 'member')
    if (typeof member.status !== 'string' || !statuses.has(member.status)) throw new MessageDecodeError('bad member status')
    return {
      name: validateName(member.name, 'name'),
      id: validateId(member.id, 'id'),
      addr: validateAddr(member.addr, 'addr'),
      meta: validateMeta(member.meta),
      incarnation: incarnationOf(member.incarnation, member.status !== 'alive'),
      status: member.status as MemberStatus
    }
  })
}

function record (value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new MessageDecodeError(`${what} must be an object`)
  return value as Record<string, unknown>
}

function text (value: unknown, field: string, maxChars: number, allowEmpty = false): string {
  if (typeof value !== 'string') throw new MessageDecodeError(`${field} must be a string`)
  if ((!allowEmpty && value.length === 0) || value.length > maxChars) throw new MessageDecodeError(`${field} length out of bounds (max ${maxChars})`)
  return value
}

function seq (value: unknown): number {
  return counter(value, 'seq')
}

function counter (value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw new MessageDecodeError(`${field} must be a non-negative integer`)
  return value
}

/** An incarnation within its bound: MAX_INCARNATION, or one below it for an accusation. */
function incarnationOf (value: unknown, accusation: boolean): number {
  const incarnation = counter(value, 'incarnation')
  const max = accusation ? MAX_ACCUSATION_INCARNATION : MAX_INCARNATION
  if (incarnation > max) {
    throw new MessageDecodeError(`${accusation ? 'an accusation\'s incarnation' : 'incarnation'} must be at most ${max}`)
  }
  return incarnation
}

function bool (value: unknown, field: string): boolean {
  if (typeof value !== 'boolean') throw new MessageDecodeError(`${field} must be a boolean`)
  return value
}
