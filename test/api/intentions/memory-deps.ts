// In-memory implementation of the intention and config route deps for tests: an IntentionStore and
// a config entry map behind a modify index with waiters, standing in for the agent's catalog.

import { IntentionStore } from '../../../api/intentions/index.ts'
import type { DefaultPolicy, Intention } from '../../../api/intentions/model.ts'
import type { IntentionRouteDeps } from '../../../agent/http/intentions-routes.ts'
import type { ConfigRouteDeps, StoredConfigEntry } from '../../../agent/http/config-routes.ts'

export class MemoryDeps implements IntentionRouteDeps, ConfigRouteDeps {
  readonly intentions: IntentionStore
  index = 1
  nowMs = Date.UTC(2026, 0, 1)
  private nextId = 0
  private readonly entries = new Map<string, StoredConfigEntry>()
  private readonly destinationIndexes = new Map<string, { CreateIndex: number, ModifyIndex: number }>()
  /** Set false to play an agent that does not track service-intentions indexes. */
  tracksIntentionIndexes = true
  private waiters: Array<() => void> = []

  constructor (defaultPolicy: DefaultPolicy = 'deny') {
    this.intentions = new IntentionStore({ defaultPolicy })
  }

  now (): number { return this.nowMs }
  newId = (): string => `00000000-0000-4000-8000-${String(++this.nextId).padStart(12, '0')}`

  async put (intention: Intention): Promise<void> {
    this.intentions.upsert(intention)
    this.bump()
    this.touch(intention.DestinationName)
  }

  async delete (sourceName: string, destinationName: string): Promise<boolean> {
    const removed = this.intentions.remove(sourceName, destinationName)
    if (removed) {
      this.bump()
      this.touch(destinationName)
    }
    return removed
  }

  get intentionEntryIndexes (): ((destinationName: string) => { CreateIndex: number, ModifyIndex: number } | undefined) | undefined {
    return this.tracksIntentionIndexes ? (destinationName) => this.destinationIndexes.get(destinationName) : undefined
  }

  private touch (destinationName: string): void {
    if (!this.intentions.list().some((intention) => intention.DestinationName === destinationName)) {
      this.destinationIndexes.delete(destinationName)
      return
    }
    const CreateIndex = this.destinationIndexes.get(destinationName)?.CreateIndex ?? this.index
    this.destinationIndexes.set(destinationName, { CreateIndex, ModifyIndex: this.index })
  }

  async replaceIntentions (destinationName: string, intentions: Intention[]): Promise<void> {
    for (const existing of this.intentions.list().filter((i) => i.DestinationName === destinationName)) {
      this.intentions.remove(existing.SourceName, existing.DestinationName)
    }
    for (const intention of intentions) this.intentions.upsert(intention)
    this.bump()
    this.touch(destinationName)
  }

  async putConfigEntry (entry: Record<string, unknown> & { Kind: string, Name: string }, options: { casIndex?: number }): Promise<boolean> {
    const key = `${entry.Kind}/${entry.Name}`
    const existing = this.entries.get(key)
    if (options.casIndex !== undefined && (existing?.ModifyIndex ?? 0) !== options.casIndex) return false
    this.bump()
    this.entries.set(key, { ...entry, CreateIndex: existing?.CreateIndex ?? this.index, ModifyIndex: this.index })
    return true
  }

  getConfigEntry (kind: string, name: string): StoredConfigEntry | undefined {
    return this.entries.get(`${kind}/${name}`)
  }

  listConfigEntries (kind: string): StoredConfigEntry[] {
    return [...this.entries.values()].filter((entry) => entry.Kind === kind).sort((a, b) => (a.Name < b.Name ? -1 : 1))
  }

  async deleteConfigEntry (kind: string, name: string, options: { casIndex?: number }): Promise<boolean> {
    const existing = this.entries.get(`${kind}/${name}`)
    if (options.casIndex !== undefined && existing?.ModifyIndex !== options.casIndex) return false
    if (existing !== undefined) {
      this.entries.delete(`${kind}/${name}`)
      this.bump()
    }
    return true
  }

  waitForIndex (minIndex: number, options: { timeoutMs: number, signal?: AbortSignal }): Promise<number> {
    if (this.index > minIndex) return Promise.resolve(this.index)
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer)
        this.waiters = this.waiters.filter((waiter) => waiter !== check)
        resolve(this.index)
      }
      const check = (): void => { if (this.index > minIndex) done() }
      const timer = setTimeout(done, options.timeoutMs)
      options.signal?.addEventListener('abort', done, { once: true })
      this.waiters.push(check)
    })
  }

  private bump (): void {
    this.index++
    for (const waiter of [...this.waiters]) waiter()
  }
}
