// Shared builders for catalog tests: temp-dir (LevelDB) and in-memory catalogs with an injected
// clock, and record/entry factories with Consul's defaults, so each test states only the fields it
// is about.

import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Test } from 'tap'
import { Catalog } from '../../catalog/catalog.ts'
import { MemoryCatalogStore } from '../../catalog/memory-store.ts'
import type { CatalogLimits, LocalCheck } from '../../catalog/catalog.ts'
import type { CheckEntry, NodeEntry, ServiceEntry } from '../../catalog/entry.ts'
import type { CheckRecord, NodeRecord, ServiceRecord } from '../../api/catalog-types.ts'

export interface TestClock { now: () => number, advance: (ms: number) => void, set: (ms: number) => void }

export function testClock (startMs = 0): TestClock {
  let nowMs = startMs
  return { now: () => nowMs, advance: ms => { nowMs += ms }, set: ms => { nowMs = ms } }
}

export function nodeRecord (name: string, extra: Partial<NodeRecord> = {}): NodeRecord {
  return { Node: name, ID: `id-${name}`, Address: `10.0.0.${name.length}`, Datacenter: 'dc1', TaggedAddresses: {}, Meta: {}, ...extra }
}

export function serviceRecord (id: string, extra: Partial<ServiceRecord> = {}): ServiceRecord {
  return { ID: id, Service: id.replace(/-\d+$/, ''), Tags: [], Address: '', Port: 8080, Meta: {}, Weights: { Passing: 1, Warning: 1 }, EnableTagOverride: false, ...extra }
}

export function checkRecord (id: string, extra: Partial<LocalCheck> = {}): LocalCheck {
  return { CheckID: id, Name: id, Status: 'passing', Notes: '', Output: '', ServiceID: '', ServiceName: '', ServiceTags: [], Type: 'ttl', ...extra }
}

export const nodeEntry = (node: string, version: number, extra: Partial<NodeRecord> = {}): NodeEntry =>
  ({ scope: 'node', kind: 'node', node, key: node, version, deleted: false, value: nodeRecord(node, extra) })

export const serviceEntry = (node: string, id: string, version: number, extra: Partial<ServiceRecord> = {}): ServiceEntry =>
  ({ scope: 'node', kind: 'service', node, key: id, version, deleted: false, value: serviceRecord(id, extra) })

export const serviceTombstone = (node: string, id: string, version: number): ServiceEntry =>
  ({ scope: 'node', kind: 'service', node, key: id, version, deleted: true })

export const checkEntry = (node: string, id: string, version: number, extra: Partial<CheckRecord> = {}): CheckEntry => {
  const { Definition: _definition, ...value } = checkRecord(id, extra)
  return { scope: 'node', kind: 'check', node, key: id, version, deleted: false, value }
}

/** A directory removed when the test ends. */
export async function tempDir (t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mesh-catalog-'))
  t.teardown(async () => { await rm(dir, { recursive: true, force: true }) })
  return dir
}

/**
 * Opens a catalog for node `name` (in a fresh temp dir unless `path` is given); closes it, then
 * removes a fresh dir, when the test ends.
 */
export async function openCatalog (t: Test, name = 'self', options: { clock?: TestClock, path?: string, tombstoneTtlMs?: number, limits?: Partial<CatalogLimits> } = {}): Promise<Catalog> {
  const path = options.path ?? await mkdtemp(join(tmpdir(), 'mesh-catalog-'))
  const catalog = await Catalog.open({ path, self: nodeRecord(name), now: (options.clock ?? testClock()).now, tombstoneTtlMs: options.tombstoneTtlMs, limits: options.limits })
  t.teardown(async () => {
    await catalog.close()
    if (options.path === undefined) await rm(path, { recursive: true, force: true })
  })
  return catalog
}

/** Opens a catalog for node `name` on an in-memory store (or `store`, to reopen one); closed when the test ends. */
export async function memoryCatalog (t: Test, name = 'self', options: { clock?: TestClock, store?: MemoryCatalogStore, tombstoneTtlMs?: number, limits?: Partial<CatalogLimits>, self?: Partial<NodeRecord> } = {}): Promise<Catalog> {
  const store = options.store ?? new MemoryCatalogStore()
  const catalog = await Catalog.open({ store, self: nodeRecord(name, options.self), now: (options.clock ?? testClock()).now, tombstoneTtlMs: options.tombstoneTtlMs, limits: options.limits })
  t.teardown(async () => { await catalog.close() })
  return catalog
}
