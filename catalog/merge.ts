// Deciding a merge: which untrusted incoming entries are valid, which win over what is stored,
// and which must be refused for capacity. Synchronous and I/O-free; catalog.ts persists the
// winners as one batch. Within one merge the highest copy of each key wins, whatever the order.
// Copies of this agent's own entries are set aside (`ownCopies`): the agent is their only writer,
// so it answers them with corrections instead of applying them.

import type { Entry, NodeScopedEntry } from './entry.ts'
import { validateEntry } from './entry.ts'
import type { CatalogError } from './errors.ts'
import { CapacityError, InvalidEntryError } from './errors.ts'
import type { Hlc } from './hlc.ts'
import { compareHlc } from './hlc.ts'
import type { CatalogState } from './state.ts'

/** An entry to store, with this agent's local extras. */
export interface Item { entry: Entry, definition?: Record<string, unknown>, deletedAtMs?: number }

/** Bounds on what peers can make this agent hold, so a misbehaving one cannot exhaust its memory. */
export interface CatalogLimits {
  /** Entries (record + services + checks, tombstones included) one node may hold. */
  entriesPerNode: number
  /** Nodes the catalog holds. */
  nodes: number
  /** Cluster-wide entries, tombstones included. */
  clusterEntries: number
  /** Entries one merge call looks at; the rest are rejected. */
  entriesPerMerge: number
}

export const DEFAULT_LIMITS: CatalogLimits = {
  entriesPerNode: 50_000,
  nodes: 100_000,
  clusterEntries: 100_000,
  entriesPerMerge: 50_000,
}

export interface MergeContext {
  state: CatalogState
  selfNode: string
  /** Reaped nodes: copies at or below `version` are stale. */
  reaped: ReadonlyMap<string, { version: number }>
  limits: CatalogLimits
  /** Every valid cluster timestamp seen, so local writes order after it. */
  observe: (hlc: Hlc) => void
}

export interface MergePlan {
  winners: Map<string, Item>
  ownCopies: NodeScopedEntry[]
  rejections: CatalogError[]
}

export const identity = (entry: Entry): string =>
  entry.scope === 'cluster' ? `c\0${entry.kind}\0${entry.key}` : `n\0${entry.kind}\0${entry.node}\0${entry.key}`

function newerThan (a: Entry, b: Entry): boolean {
  if (a.scope === 'cluster') return b.scope === 'cluster' && compareHlc(a.hlc, b.hlc) > 0
  return b.scope === 'node' && a.version > b.version
}

export function planMerge (entries: unknown, context: MergeContext): MergePlan {
  const { state, limits } = context
  const plan: MergePlan = { winners: new Map(), ownCopies: [], rejections: [] }
  if (!Array.isArray(entries)) {
    plan.rejections.push(new InvalidEntryError('expected a list of entries'))
    return plan
  }
  for (let i = limits.entriesPerMerge; i < entries.length; i++) plan.rejections.push(new CapacityError('one merge', limits.entriesPerMerge))
  const newPerNode = new Map<string, number>()
  let newCluster = 0
  for (const raw of entries.slice(0, limits.entriesPerMerge)) {
    let entry: Entry
    try {
      entry = validateEntry(raw)
    } catch (error) {
      if (error instanceof InvalidEntryError) { plan.rejections.push(error); continue }
      throw error
    }
    if (entry.scope === 'cluster') {
      context.observe(entry.hlc)
    } else {
      if (entry.node === context.selfNode) { plan.ownCopies.push(entry); continue }
      const reaped = context.reaped.get(entry.node)
      if (reaped !== undefined && entry.version <= reaped.version) continue
    }
    const id = identity(entry)
    const pending = plan.winners.get(id)
    if (pending !== undefined ? !newerThan(entry, pending.entry) : !state.isNewer(entry)) continue
    if (pending === undefined && state.current(entry) === undefined) {
      if (entry.scope === 'cluster') {
        if (state.clusterCount + newCluster + 1 > limits.clusterEntries) { plan.rejections.push(new CapacityError('the cluster', limits.clusterEntries)); continue }
        newCluster++
      } else {
        const node = state.nodeState(entry.node)
        if (node === undefined && !newPerNode.has(entry.node) && state.nodes.size + newPerNode.size + 1 > limits.nodes) {
          plan.rejections.push(new CapacityError('the catalog', limits.nodes))
          continue
        }
        const added = (newPerNode.get(entry.node) ?? 0) + 1
        if ((node?.entryCount ?? 0) + added > limits.entriesPerNode) { plan.rejections.push(new CapacityError(`node "${entry.node}"`, limits.entriesPerNode)); continue }
        newPerNode.set(entry.node, added)
      }
    }
    plan.winners.set(id, { entry })
  }
  return plan
}
