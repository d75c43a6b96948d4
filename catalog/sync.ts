// Anti-entropy between two catalogs: a compact digest of what one side holds, and the entries the
// other side has that the digest shows missing, bounded by size so the caller can page.
//
// The digest holds, per node, the highest version seen from it and a 64-bit XOR fingerprint of
// every (key, version) held for it; for cluster-wide registers, the fingerprints of 256 hash
// buckets over (kind, key, hlc). A node whose fingerprints match is skipped. Otherwise the sender
// first sends that node's entries above the receiver's highest version, in ascending version order,
// so a truncated page never leaves a hole below the receiver's new maximum. If nothing is above
// the receiver's maximum yet the fingerprints still differ, the receiver lost a delta somewhere in
// the middle (gossip is lossy): then the node's whole entry set is sent, in pages that resume where
// the previous page for that node stopped, so a large node cannot starve its own tail. Cluster
// buckets that differ are sent whole. Nodes and buckets are visited from a rotating start so that
// many differing nodes share the page budget over successive rounds.

import type { ClusterEntry, Entry, NodeScopedEntry } from './entry.ts'
import { entryBytes } from './entry.ts'
import { InvalidDigestError } from './errors.ts'
import type { CatalogState, NodeState } from './state.ts'
import { CLUSTER_BUCKETS, clusterBucket } from './state.ts'

export interface CatalogDigest {
  /** Per node: highest version held and the fingerprint (16 hex digits) of all its entries. */
  nodes: Record<string, { version: number, hash: string }>
  /** Fingerprints of the 256 cluster-entry buckets. */
  cluster: string[]
}

export const DEFAULT_SYNC_PAGE_BYTES = 512 * 1024
const MAX_DIGEST_NODES = 200_000
const HASH = /^[0-9a-f]{16}$/

export const formatFingerprint = (fingerprint: [number, number]): string =>
  fingerprint[0].toString(16).padStart(8, '0') + fingerprint[1].toString(16).padStart(8, '0')

export function makeDigest (state: CatalogState): CatalogDigest {
  // A null prototype keeps a node named "__proto__" an ordinary key.
  const nodes: CatalogDigest['nodes'] = Object.create(null)
  for (const node of state.nodes.values()) {
    if (node.entryCount > 0) nodes[node.name] = { version: node.maxVersion, hash: formatFingerprint(node.fingerprint) }
  }
  return { nodes, cluster: state.clusterFingerprints.map(formatFingerprint) }
}

export function validateDigest (input: unknown): CatalogDigest {
  if (typeof input !== 'object' || input === null) throw new InvalidDigestError('not an object')
  const { nodes, cluster } = input as Record<string, unknown>
  if (!Array.isArray(cluster) || cluster.length !== CLUSTER_BUCKETS || !cluster.every(hash => typeof hash === 'string' && HASH.test(hash))) {
    throw new InvalidDigestError(`cluster must be ${CLUSTER_BUCKETS} fingerprints`)
  }
  if (typeof nodes !== 'object' || nodes === null || Array.isArray(nodes)) throw new InvalidDigestError('nodes must be an object')
  const names = Object.keys(nodes)
  if (names.length > MAX_DIGEST_NODES) throw new InvalidDigestError(`more than ${MAX_DIGEST_NODES} nodes`)
  for (const name of names) {
    const summary = (nodes as Record<string, unknown>)[name] as Record<string, unknown> | null
    if (typeof summary !== 'object' || summary === null || !Number.isSafeInteger(summary.version) ||
      (summary.version as number) < 0 || typeof summary.hash !== 'string' || !HASH.test(summary.hash)) {
      throw new InvalidDigestError(`bad summary for node "${name.slice(0, 64)}"`)
    }
  }
  return input as CatalogDigest
}

const byVersion = (a: NodeScopedEntry, b: NodeScopedEntry): number => a.version - b.version

/** Keeps the paging position between calls (per node, and the rotating start). */
export class SyncCursor {
  rounds = 0
  /** Per node: the last version sent in a whole-node resend. */
  readonly resumeAfter = new Map<string, number>()
}

export function missingFor (state: CatalogState, digest: CatalogDigest, maxBytes: number, cursor: SyncCursor): Entry[] {
  const page: Entry[] = []
  let budget = maxBytes
  /** Adds the entry if it fits (the first always does, so one big entry cannot stall sync). */
  const add = (entry: Entry): boolean => {
    const size = entryBytes(entry)
    if (size > budget && page.length > 0) return false
    page.push(entry)
    budget -= size
    return true
  }
  const round = cursor.rounds++

  const buckets: ClusterEntry[][] = Array.from({ length: CLUSTER_BUCKETS }, () => [])
  for (const byKey of state.cluster.values()) {
    for (const stored of byKey.values()) buckets[clusterBucket(stored.entry.kind, stored.entry.key)].push(stored.entry)
  }
  for (let i = 0; i < CLUSTER_BUCKETS; i++) {
    const bucket = (i + round) % CLUSTER_BUCKETS
    if (formatFingerprint(state.clusterFingerprints[bucket]) === digest.cluster[bucket]) continue
    for (const entry of buckets[bucket]) if (!add(entry)) return page
  }

  const nodes = [...state.nodes.values()]
  for (let i = 0; i < nodes.length; i++) {
    const node = nodes[(i + round) % nodes.length]
    if (node.entryCount === 0) continue
    const theirs = Object.hasOwn(digest.nodes, node.name) ? digest.nodes[node.name] : undefined
    if (theirs !== undefined && theirs.hash === formatFingerprint(node.fingerprint)) continue
    if (!addNode(node, theirs, add, cursor)) return page
  }
  return page
}

function addNode (node: NodeState, theirs: { version: number } | undefined, add: (entry: Entry) => boolean, cursor: SyncCursor): boolean {
  const entries = [...node.entries()].map(stored => stored.entry).sort(byVersion)
  const theirVersion = theirs?.version ?? 0
  const newer = entries.filter(entry => entry.version > theirVersion)
  if (newer.length > 0 || theirVersion > node.maxVersion) {
    for (const entry of newer) if (!add(entry)) return false
    return true
  }
  // Same maximum, different content: resend everything, resuming after the last page's end.
  const after = cursor.resumeAfter.get(node.name) ?? 0
  let start = entries.findIndex(entry => entry.version > after)
  if (start < 0) start = 0
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[(start + i) % entries.length]
    if (!add(entry)) return false
    cursor.resumeAfter.set(node.name, entry.version)
  }
  cursor.resumeAfter.delete(node.name)
  return true
}
