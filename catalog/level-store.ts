// The catalog's LevelDB store (what the agent uses): one sublevel per entry kind (node, service,
// check, cluster) plus `meta` for the version counter and the modify index. Every change is one
// atomic batch, so a crash never leaves half a registration on disk; loading reads each sublevel
// in bulk with `nextv` pages instead of one read per key.
//
// Durability (docs/reliability.md, "Data directory"): a write's promise resolves only once its
// batch is on disk. Writes that arrive while a flush is under way queue up, and the next flush
// stores everything queued as one synced LevelDB batch (group commit), so one fsync covers many
// registrations. The store also records what it has acknowledged — the modify index and version
// counter of the last batch — in a small file beside LevelDB's own (`MESH-ACKED`, rewritten in
// parallel with the next group's batch and after the last one once writes pause, and synced at
// most every MARK_SYNC_INTERVAL_MS and at close, so a group costs one sync, not two). LevelDB treats a cut write-ahead log as a crash in the middle of a
// write and silently drops the tail, paranoid checks or not; comparing the meta that survived with
// the acknowledged mark is what turns that into a refusal. Other damage (CURRENT, MANIFEST, a
// table file, a record that does not decode) stops the open the same way: a StoreDamagedError
// naming the directory, the file when known, and LevelDB's message. `salvage` rebuilds a readable
// copy from a damaged directory with LevelDB's repair.

import { cpSync, existsSync, readdirSync, readFileSync } from 'node:fs'
import { open as openFile } from 'node:fs/promises'
import type { FileHandle } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { Level } from 'level'
import type { AbstractSublevel } from 'abstract-level'
import type { Logger } from 'pino'
import pino from 'pino'
import { CatalogClosedError, StoreDamagedError } from './errors.ts'
import type { Stored } from './state.ts'
import type { CatalogMeta, CatalogStore, StoreBatch } from './store.ts'
import { storeKeyOf } from './store.ts'

type Database = Level<string, unknown>
type Sublevel = AbstractSublevel<Database, string | Buffer | Uint8Array, string, unknown>
type Operation =
  | { type: 'put', sublevel: Sublevel, key: string, value: string, valueEncoding: 'utf8' }
  | { type: 'del', sublevel: Sublevel, key: string }

const LOAD_PAGE = 1000
/** The acknowledged mark, beside LevelDB's files in the catalog directory. */
export const ACKED_FILE = 'MESH-ACKED'
/** The mark is rewritten in place at a fixed size, one sector, so a write never tears it. */
const ACKED_BYTES = 128
/**
 * The mark reaches the disk at most this long after it was rewritten: what a power loss during a
 * stream of writes can leave it behind by. (A clean close and a process crash leave it current.)
 */
export const MARK_SYNC_INTERVAL_MS = 100

export interface LevelStoreOptions {
  /** Sync each group's batch to disk before acknowledging it (default true). False only to measure what syncing costs. */
  sync?: boolean
  log?: Logger
}

interface Pending {
  operations: Operation[]
  meta: CatalogMeta
  resolve: () => void
  reject: (error: Error) => void
}

export interface LevelStoreStats {
  /** Batches written (calls of `write` that were stored). */
  batches: number
  /** LevelDB writes (flushes) they took: batches / groups is the mean group size. */
  groups: number
}

export class LevelCatalogStore implements CatalogStore {
  readonly path: string
  readonly stats: LevelStoreStats = { batches: 0, groups: 0 }
  private readonly db: Database
  private readonly kinds: { node: Sublevel, service: Sublevel, check: Sublevel, cluster: Sublevel }
  private readonly meta: Sublevel
  private readonly sync: boolean
  private readonly marker: FileHandle
  /** What the mark said at open; undefined when there was none (a new or older directory). */
  private readonly acked: CatalogMeta | undefined
  private readonly log: Logger
  private queue: Pending[] = []
  private flushing: Promise<void> | undefined
  /** The chain of mark writes and syncs, in order, and what the last write (done or queued) says. */
  private marking: Promise<void> = Promise.resolve()
  private marked: CatalogMeta | undefined
  /** The mark's next sync, while one is due. */
  private markSync: NodeJS.Timeout | undefined
  /** The meta of the last group acknowledged. */
  private acknowledged: CatalogMeta = { counter: 0, index: 0 }
  private failure: Error | undefined
  private closed = false

  private constructor (path: string, db: Database, marker: FileHandle, acked: CatalogMeta | undefined, options: LevelStoreOptions) {
    this.path = path
    this.db = db
    this.marker = marker
    this.acked = acked
    this.sync = options.sync ?? true
    this.log = options.log ?? pino({ level: 'silent' })
    const sublevel = (name: string): Sublevel => db.sublevel<string, unknown>(name, { valueEncoding: 'json' })
    this.kinds = { node: sublevel('node'), service: sublevel('service'), check: sublevel('check'), cluster: sublevel('cluster') }
    this.meta = sublevel('meta')
  }

  /**
   * Opens (or creates) the store at `path`. A directory that already holds a database is never
   * silently re-created: with CURRENT gone LevelDB would start an empty one over the old files.
   * Throws StoreDamagedError when LevelDB refuses to open it or the mark is unreadable.
   */
  static async open (path: string, options: LevelStoreOptions = {}): Promise<LevelCatalogStore> {
    const existing = holdsDatabase(path)
    const db = new Level<string, unknown>(path, { valueEncoding: 'json', createIfMissing: !existing })
    try {
      await db.open()
    } catch (error) {
      throw damaged(path, error)
    }
    let marker: FileHandle | undefined
    try {
      const markerPath = join(path, ACKED_FILE)
      const hadMarker = existsSync(markerPath)
      const acked = hadMarker ? readAcked(path) : undefined
      marker = await openFile(markerPath, hadMarker ? 'r+' : 'w', 0o600)
      const store = new LevelCatalogStore(path, db, marker, acked, options)
      if (!hadMarker) await store.writeAcked({ counter: 0, index: 0 }, true)
      return store
    } catch (error) {
      await marker?.close().catch(() => {})
      await db.close().catch(() => {})
      throw error
    }
  }

  /**
   * Rebuilds a store at `target` from what is readable in `damaged`, which is left as it is: its
   * files are copied (the lock and the mark excepted) and LevelDB's repair recovers every intact
   * record from the logs and tables. What was unreadable is gone from the copy.
   */
  static async salvage (damaged: string, target: string): Promise<void> {
    cpSync(damaged, target, { recursive: true, filter: (source) => ![ACKED_FILE, 'LOCK'].includes(basename(source)) || source === damaged })
    // `level`'s Level is classic-level's ClassicLevel, whose static repair its typings leave out.
    await (Level as unknown as { repair: (location: string) => Promise<void> }).repair(target)
    // The repaired copy acknowledges what it holds: the loss is known and reported by the caller.
    const db = new Level<string, unknown>(target, { valueEncoding: 'json', createIfMissing: false })
    await db.open()
    try {
      const meta = await db.sublevel<string, unknown>('meta', { valueEncoding: 'json' }).get('meta') as CatalogMeta | undefined
      const marker = await openFile(join(target, ACKED_FILE), 'w', 0o600)
      try {
        await marker.write(ackedBytes({ counter: meta?.counter ?? 0, index: meta?.index ?? 0 }), 0, ACKED_BYTES, 0)
        await marker.datasync()
      } finally {
        await marker.close()
      }
    } finally {
      await db.close()
    }
  }

  async load (onStored: (stored: Stored) => void): Promise<CatalogMeta> {
    let meta: CatalogMeta | undefined
    try {
      for (const sublevel of Object.values(this.kinds)) {
        const iterator = sublevel.iterator()
        try {
          for (;;) {
            const page = await iterator.nextv(LOAD_PAGE)
            if (page.length === 0) break
            for (const [, stored] of page) {
              if (!isStored(stored)) throw new Error('a record is not a stored catalog entry')
              onStored(stored)
            }
          }
        } finally {
          await iterator.close()
        }
      }
      meta = await this.meta.get('meta') as unknown as CatalogMeta | undefined
    } catch (error) {
      const reason = levelMessage(error)
      throw new StoreDamagedError(this.path, `a record does not read back (${reason})`, fileNamed(reason, this.path))
    }
    const loaded = { counter: meta?.counter ?? 0, index: meta?.index ?? 0 }
    this.acknowledged = loaded
    this.marked = loaded
    if (this.acked === undefined) {
      if (loaded.index > 0) this.log.warn({ path: this.path, file: ACKED_FILE }, 'catalog store had no acknowledged-writes mark; made one from what it holds (a loss before now cannot be detected)')
      await this.writeAcked(loaded, true)
    } else if (loaded.index < this.acked.index || loaded.counter < this.acked.counter) {
      const logs = filesOf(this.path, name => name.endsWith('.log'))
      throw new StoreDamagedError(
        this.path,
        `it holds changes up to index ${loaded.index} (version ${loaded.counter}) but changes up to index ${this.acked.index} (version ${this.acked.counter}) were acknowledged: acknowledged writes are missing, the write-ahead log was cut or lost`,
        logs.length > 0 ? logs.join(', ') : undefined
      )
    }
    return loaded
  }

  /**
   * Queues the batch; it is encoded at once (a value that cannot be encoded throws here and
   * nothing is queued). The promise resolves once the batch is durable; batches become durable in
   * the order they were written, several queued ones in one synced LevelDB write.
   */
  write ({ puts, removals, meta }: StoreBatch): Promise<void> {
    if (this.closed) throw new CatalogClosedError()
    if (this.failure !== undefined) return Promise.reject(this.failure)
    const operations: Operation[] = []
    for (const stored of puts) {
      const { keyspace, key } = storeKeyOf(stored.entry)
      const value = JSON.stringify(stored)
      if (typeof value !== 'string') throw new TypeError(`catalog entry ${key} cannot be encoded`)
      operations.push({ type: 'put', sublevel: this.kinds[keyspace], key, value, valueEncoding: 'utf8' })
    }
    for (const entry of removals) {
      const { keyspace, key } = storeKeyOf(entry)
      operations.push({ type: 'del', sublevel: this.kinds[keyspace], key })
    }
    const metaValue = { counter: meta.counter, index: meta.index }
    operations.push({ type: 'put', sublevel: this.meta, key: 'meta', value: JSON.stringify(metaValue), valueEncoding: 'utf8' })
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ operations, meta: metaValue, resolve, reject })
      this.flushing ??= this.flush()
    })
  }

  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.flushing
    clearTimeout(this.markSync)
    this.markSync = undefined
    if (this.sync && this.failure === undefined) this.marking = this.marking.then(async () => { await this.marker.datasync() })
    await this.marking.catch(() => {})
    await this.marker.close().catch(() => {})
    await this.db.close()
  }

  /**
   * Writes everything queued, group by group, until the queue is empty: one synced LevelDB write
   * per group, which resolves the group. The mark is rewritten alongside, bringing it up to every
   * group acknowledged before; once the queue is empty it is brought up to the last group too.
   * It is only ever written with what LevelDB already holds durably, so a crash can leave it
   * behind what is stored, never ahead. Its rewrites reach the page cache at once (a process
   * crash keeps them) and the disk at the next timed sync: a second sync per group would halve a
   * single writer's rate for a record that, after a power loss, only decides how far back a
   * damaged log is still recognised as damaged.
   */
  private async flush (): Promise<void> {
    // Writers of the same tick join the first group.
    await null
    try {
      while (this.queue.length > 0 && this.failure === undefined) {
        const group = this.queue
        this.queue = []
        const marked = this.mark(this.acknowledged)
        try {
          await Promise.all([this.db.batch(group.flatMap(pending => pending.operations), { sync: this.sync }), marked])
        } catch (error) {
          this.fail(error, group)
          return
        }
        this.acknowledged = group[group.length - 1].meta
        this.stats.groups++
        this.stats.batches += group.length
        for (const pending of group) pending.resolve()
        // Let the writers just resolved write again before the next group is taken, so the
        // writers do not split into two cohorts that take turns at half the group size.
        await new Promise<void>(resolve => setImmediate(resolve))
      }
      if (this.failure === undefined) {
        this.mark(this.acknowledged).catch((error: unknown) => { this.fail(error, []) })
      }
    } finally {
      this.flushing = undefined
    }
  }

  /** Brings the mark up to `meta` (in order with earlier mark writes; nothing when it is there) and schedules its sync. */
  private async mark (meta: CatalogMeta): Promise<void> {
    if (meta === this.marked) return await this.marking
    this.marked = meta
    this.marking = this.marking.then(async () => await this.writeAcked(meta, false))
    if (this.sync && this.markSync === undefined && !this.closed) {
      this.markSync = setTimeout(() => {
        this.markSync = undefined
        this.marking = this.marking.then(async () => { await this.marker.datasync() })
        this.marking.catch((error: unknown) => { this.fail(error, []) })
      }, MARK_SYNC_INTERVAL_MS)
      this.markSync.unref()
    }
    return await this.marking
  }

  /** The store failed: rejects `group` and everything queued, and every later write. */
  private fail (error: unknown, group: Pending[]): void {
    if (this.failure === undefined) {
      this.failure = error instanceof Error ? error : new Error(String(error))
      this.log.error({ path: this.path, err: this.failure.message }, 'catalog store write failed; no further writes are accepted')
    }
    for (const pending of [...group, ...this.queue]) pending.reject(this.failure)
    this.queue = []
  }

  /** Rewrites the acknowledged mark in place (fixed size) and, with `sync`, waits for the disk. */
  private async writeAcked (meta: CatalogMeta, sync: boolean): Promise<void> {
    await this.marker.write(ackedBytes(meta), 0, ACKED_BYTES, 0)
    if (sync) await this.marker.datasync()
  }
}

function ackedBytes (meta: CatalogMeta): Buffer {
  const buffer = Buffer.alloc(ACKED_BYTES, ' ')
  buffer.write(JSON.stringify({ index: meta.index, counter: meta.counter }))
  buffer[ACKED_BYTES - 1] = 0x0a
  return buffer
}

/** Whether `path` already holds a LevelDB database (or its remains), which must not be re-created. */
function holdsDatabase (path: string): boolean {
  if (!existsSync(path)) return false
  return readdirSync(path).some(name => name === 'CURRENT' || name === ACKED_FILE || name.startsWith('MANIFEST-') || /\.(log|ldb|sst)$/.test(name))
}

function readAcked (path: string): CatalogMeta {
  const file = join(path, ACKED_FILE)
  let parsed: unknown
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'))
  } catch (error) {
    throw new StoreDamagedError(path, `the acknowledged-writes mark does not parse (${(error as Error).message})`, ACKED_FILE)
  }
  const { index, counter } = (parsed ?? {}) as Record<string, unknown>
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(counter) || (index as number) < 0 || (counter as number) < 0) {
    throw new StoreDamagedError(path, 'the acknowledged-writes mark does not hold an index and a version', ACKED_FILE)
  }
  return { index: index as number, counter: counter as number }
}

function isStored (value: unknown): value is Stored {
  if (typeof value !== 'object' || value === null) return false
  const { entry, createIndex, modifyIndex } = value as Record<string, unknown>
  return typeof entry === 'object' && entry !== null && Number.isSafeInteger(createIndex) && Number.isSafeInteger(modifyIndex)
}

/** LevelDB's own words: classic-level wraps them as the `cause` of a generic "failed to open". */
function levelMessage (error: unknown): string {
  const cause = (error as { cause?: unknown }).cause
  const message = cause instanceof Error ? cause.message : (error as Error).message
  return message ?? String(error)
}

function damaged (path: string, error: unknown): StoreDamagedError {
  const message = levelMessage(error)
  if (message.includes('does not exist (create_if_missing is false)')) {
    return new StoreDamagedError(path, 'CURRENT is missing: LevelDB cannot find which MANIFEST describes the database', 'CURRENT')
  }
  if (/IO error: lock /.test(message)) return new StoreDamagedError(path, `LevelDB could not lock the directory (${message}); is another agent using this data dir?`, 'LOCK')
  return new StoreDamagedError(path, `LevelDB refuses to open it (${message})`, fileNamed(message, path))
}

/** The file a LevelDB message is about: named in it, or implied by what it complains of. */
function fileNamed (message: string, path: string): string | undefined {
  const named = message.match(/(MANIFEST-\d+|\d{6}\.(?:log|ldb|sst)|CURRENT)/)
  if (named !== null) return named[1]
  if (/CURRENT/.test(message)) return 'CURRENT'
  if (/descriptor|manifest/i.test(message)) return filesOf(path, name => name.startsWith('MANIFEST-')).join(', ') || undefined
  if (/block|table|checksum/i.test(message)) return filesOf(path, name => /\.(ldb|sst)$/.test(name)).join(', ') || undefined
  return undefined
}

function filesOf (path: string, predicate: (name: string) => boolean): string[] {
  try {
    return readdirSync(path).filter(predicate).sort()
  } catch {
    return []
  }
}
