// The transmit-limited broadcast queue: membership news waiting to be piggybacked on datagrams.
//
// The algorithm (memberlist's TransmitLimitedQueue): every broadcast is keyed by the member it is
// about, and a new broadcast about a member replaces the queued one, since it supersedes it. Each
// broadcast is sent at most `limit` times (retransmitMult × ceil(log10(N + 1)), enough for an
// epidemic to reach everyone with high probability). When a datagram has room, the least-sent
// broadcasts go first, so fresh news overtakes news that has already spread; entries that do not
// fit in the remaining bytes are skipped, smaller ones may still fit. Buckets per transmit count
// keep `take` proportional to what it returns rather than to the queue length.

import { retransmitLimit } from './timing.ts'

export interface QueuedBroadcast<T> {
  key: string
  item: T
  sizeBytes: number
  transmits: number
}

/** Once the remaining budget is smaller than this, no entry can fit: stop looking. */
const SMALLEST_USEFUL_BUDGET_BYTES = 32
/** Entries examined per take without fitting before giving up (bounds the cost on huge queues). */
const MAX_SKIPPED_PER_TAKE = 4

/**
 * One bucket: broadcasts sent `transmits` times, oldest first. Removal is lazy: a broadcast that
 * moved on (sent again, replaced, dropped) stays in the array but no longer counts here, and is
 * skipped and trimmed from the head; this keeps every operation O(1) amortized, where Map-based
 * buckets degrade as deletions pile up in their hash tables.
 */
interface Bucket<T> {
  entries: Array<QueuedBroadcast<T>>
  head: number
}

export class BroadcastQueue<T> {
  private readonly retransmitMult: number
  private readonly byKey = new Map<string, QueuedBroadcast<T>>()
  private readonly buckets: Array<Bucket<T>> = []

  constructor (init: { retransmitMult: number }) {
    this.retransmitMult = init.retransmitMult
  }

  /** Queues a broadcast about `key`, replacing (invalidating) any older one about the same key. */
  enqueue (key: string, item: T, sizeBytes: number): void {
    const entry: QueuedBroadcast<T> = { key, item, sizeBytes, transmits: 0 }
    this.byKey.set(key, entry)
    this.bucket(0).entries.push(entry)
  }

  /**
   * Takes broadcasts fitting in budgetBytes (each costs its size plus overheadBytes), least-sent
   * first; counts one transmission for each and drops those that reached the limit for a cluster
   * of memberCount members.
   */
  take (budgetBytes: number, overheadBytes: number, memberCount: number): T[] {
    const limit = retransmitLimit(this.retransmitMult, memberCount)
    const taken: Array<QueuedBroadcast<T>> = []
    let remaining = budgetBytes
    let skipped = 0
    buckets: for (let transmits = 0; transmits < this.buckets.length; transmits++) {
      const bucket = this.buckets[transmits]
      for (let i = bucket.head; i < bucket.entries.length; i++) {
        const entry = bucket.entries[i]
        if (!this.holds(entry, transmits)) {
          if (i === bucket.head) bucket.head++
          continue
        }
        if (remaining < SMALLEST_USEFUL_BUDGET_BYTES || skipped >= MAX_SKIPPED_PER_TAKE) break buckets
        const cost = entry.sizeBytes + overheadBytes
        if (cost > remaining) { skipped++; continue }
        remaining -= cost
        taken.push(entry)
        if (i === bucket.head) bucket.head++
      }
      this.trim(bucket)
    }
    for (const entry of taken) this.countTransmission(entry, limit)
    return taken.map(entry => entry.item)
  }

  size (): number {
    return this.byKey.size
  }

  /** The queued broadcast about key, if any (for inspection and tests). */
  peek (key: string): QueuedBroadcast<T> | undefined {
    return this.byKey.get(key)
  }

  private countTransmission (entry: QueuedBroadcast<T>, limit: number): void {
    entry.transmits++
    if (entry.transmits >= limit) this.byKey.delete(entry.key)
    else this.bucket(entry.transmits).entries.push(entry)
  }

  /** Whether `entry`, found in bucket `transmits`, still belongs there. */
  private holds (entry: QueuedBroadcast<T>, transmits: number): boolean {
    return entry.transmits === transmits && this.byKey.get(entry.key) === entry
  }

  private trim (bucket: Bucket<T>): void {
    if (bucket.head === bucket.entries.length) {
      bucket.entries = []
      bucket.head = 0
    } else if (bucket.head > 64 && bucket.head * 2 > bucket.entries.length) {
      bucket.entries = bucket.entries.slice(bucket.head)
      bucket.head = 0
    }
  }

  private bucket (transmits: number): Bucket<T> {
    while (this.buckets.length <= transmits) this.buckets.push({ entries: [], head: 0 })
    return this.buckets[transmits]
  }
}
