// Serialized answers of hot read routes, kept per query until the catalog changes. A health query
// for a service with 100 instances builds and stringifies about 100 KB of JSON; between two
// catalog changes every caller asking the same question gets the same bytes, so they are made
// once. Entries are tied to the catalog's modify index: any change makes them stale, which is
// checked on read, so nothing has to be invalidated. Bounded in entries and bytes (least recently
// used go first), so a caller cycling through query strings cannot grow it.

export interface AnswerCacheInit {
  maxEntries?: number
  maxBytes?: number
  /** Answers larger than this are not kept (they would push everything else out). */
  maxEntryBytes?: number
}

interface Cached { index: number, body: Buffer }

export class AnswerCache {
  private readonly entries = new Map<string, Cached>()
  private readonly maxEntries: number
  private readonly maxBytes: number
  private readonly maxEntryBytes: number
  private bytes = 0
  hits = 0
  misses = 0

  constructor (init: AnswerCacheInit = {}) {
    this.maxEntries = init.maxEntries ?? 512
    this.maxBytes = init.maxBytes ?? 32 * 1024 * 1024
    this.maxEntryBytes = init.maxEntryBytes ?? 4 * 1024 * 1024
  }

  get size (): number {
    return this.entries.size
  }

  get totalBytes (): number {
    return this.bytes
  }

  /** The answer stored for `key` at exactly `index`, or undefined. */
  get (key: string, index: number): Buffer | undefined {
    const cached = this.entries.get(key)
    if (cached === undefined || cached.index !== index) {
      this.misses++
      return undefined
    }
    // Re-inserting moves the key to the young end of the Map's insertion order.
    this.entries.delete(key)
    this.entries.set(key, cached)
    this.hits++
    return cached.body
  }

  /** Serializes `value`, keeps it for `key` at `index`, and returns the bytes. */
  store (key: string, index: number, value: unknown): Buffer {
    const body = Buffer.from(JSON.stringify(value))
    this.remove(key)
    if (body.length > this.maxEntryBytes) return body
    this.entries.set(key, { index, body })
    this.bytes += body.length
    for (const [oldest, cached] of this.entries) {
      if (this.entries.size <= this.maxEntries && this.bytes <= this.maxBytes) break
      this.entries.delete(oldest)
      this.bytes -= cached.body.length
    }
    return body
  }

  private remove (key: string): void {
    const cached = this.entries.get(key)
    if (cached === undefined) return
    this.entries.delete(key)
    this.bytes -= cached.body.length
  }
}
