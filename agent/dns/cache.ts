// The answer cache of the fast path: prepared answers keyed by the exact bytes of the question (so
// a client's letter case is answered back as asked), and for each a few fully encoded answers per
// transport and size, each with the answer records in a different random order. A cached query
// then costs a hash of its question bytes, one pick among those answers, a copy and an id patch.
//
// Why hash the bytes by hand instead of a Map keyed by `toString('latin1')`: measured here, building
// that string costs more than everything else a cache hit does.
//
// Why a few orders rather than a shuffle per query: a permutation per variant is computed once per
// catalog version; with up to VARIANTS_PER_SIZE orders, services of 3 instances get all 6 orders,
// larger ones rotate among 6 of them (and, when cut to fit UDP, among 6 subsets) until the catalog
// changes, as with Consul's shuffling the aim is spreading load, not unpredictability.

import type { PreparedAnswer } from './lookup.ts'

export const VARIANTS_PER_SIZE = 6

export interface CachedQuestion {
  prepared: PreparedAnswer
  /** Encoded answers (id 0, RD and CD clear) per `variantKey`. */
  variants: Map<number, Buffer[]>
}

interface Slot {
  question: Buffer
  entry: CachedQuestion
}

/** Identifies what changes an answer's bytes besides the question: size limit, OPT, transport. */
export function variantKey (maxSizeBytes: number, optFlavor: number, overTcp: boolean): number {
  return maxSizeBytes * 8 + optFlavor * 2 + (overTcp ? 1 : 0)
}

function hashBytes (packet: Buffer, start: number, end: number): number {
  let hash = 0x811c9dc5
  for (let index = start; index < end; index++) hash = Math.imul(hash ^ packet[index]!, 0x01000193)
  return hash >>> 0
}

function sameBytes (question: Buffer, packet: Buffer, start: number, end: number): boolean {
  if (question.length !== end - start) return false
  for (let index = 0; index < question.length; index++) if (question[index] !== packet[start + index]) return false
  return true
}

export class AnswerCache {
  private readonly buckets = new Map<number, Slot[]>()
  private readonly maxEntries: number
  private readonly maxBytes: number
  private entries = 0
  private bytes = 0

  constructor (maxEntries: number, maxBytes: number) {
    this.maxEntries = maxEntries
    this.maxBytes = maxBytes
  }

  get (packet: Buffer, start: number, end: number): CachedQuestion | undefined {
    const bucket = this.buckets.get(hashBytes(packet, start, end))
    if (bucket === undefined) return undefined
    for (const slot of bucket) if (sameBytes(slot.question, packet, start, end)) return slot.entry
    return undefined
  }

  /** Stores an entry; past `maxEntries` or `maxBytes` the cache starts over, so clients cannot grow it. */
  set (packet: Buffer, start: number, end: number, entry: CachedQuestion): void {
    if (this.entries >= this.maxEntries || this.bytes >= this.maxBytes) this.clear()
    const hash = hashBytes(packet, start, end)
    const slot = { question: Buffer.from(packet.subarray(start, end)), entry }
    const bucket = this.buckets.get(hash)
    if (bucket === undefined) this.buckets.set(hash, [slot])
    else bucket.push(slot)
    this.entries++
    this.bytes += end - start
  }

  /** Counts encoded answers added to a cached entry's variants. */
  account (bytes: number): void {
    this.bytes += bytes
    if (this.bytes >= this.maxBytes) this.clear()
  }

  clear (): void {
    this.buckets.clear()
    this.entries = 0
    this.bytes = 0
  }
}
