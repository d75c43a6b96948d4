// What waits on the local modify index: blocking queries (`waitForIndex`, the HTTP layer's
// BlockingSource) and internal watchers (`onChange`: DNS, proxies). The catalog core numbers the
// changes (core.ts); each applied change is announced here once, with the index it produced and
// the kinds, nodes and services it touched.

import type { Logger } from 'pino'

export interface CatalogChange {
  /** The modify index after this change. */
  index: number
  /** Entry kinds touched: 'node', 'service', 'check' or a cluster kind ('intention', …). */
  kinds: string[]
  nodes: string[]
  /** Service names whose instances or health may have changed. */
  services: string[]
}

interface Waiter { minIndex: number, resolve: (index: number) => void }

export class WatchHub {
  index = 1
  private readonly waiters = new Set<Waiter>()
  private readonly listeners = new Set<(change: CatalogChange) => void>()
  private log: Logger | undefined

  /** Announces an applied change: the index moves to `change.index`. */
  notify (change: CatalogChange): void {
    this.index = change.index
    for (const waiter of this.waiters) if (this.index > waiter.minIndex) waiter.resolve(this.index)
    for (const listener of this.listeners) {
      try {
        listener(change)
      } catch (error) {
        this.log?.warn({ err: (error as Error).message }, 'catalog change listener threw')
      }
    }
  }

  waitForIndex (minIndex: number, options: { timeoutMs: number, signal?: AbortSignal }): Promise<number> {
    if (this.index > minIndex || options.signal?.aborted === true) return Promise.resolve(this.index)
    return new Promise(resolve => {
      const finish = (): void => {
        clearTimeout(timer)
        options.signal?.removeEventListener('abort', finish)
        this.waiters.delete(waiter)
        resolve(this.index)
      }
      const waiter: Waiter = { minIndex, resolve: finish }
      const timer = setTimeout(finish, Math.max(0, options.timeoutMs))
      options.signal?.addEventListener('abort', finish, { once: true })
      this.waiters.add(waiter)
    })
  }

  onChange (listener: (change: CatalogChange) => void, log: Logger): () => void {
    this.log = log
    this.listeners.add(listener)
    return () => { this.listeners.delete(listener) }
  }

  /** Releases every waiter (the catalog is closing). */
  close (): void {
    for (const waiter of [...this.waiters]) waiter.resolve(this.index)
    this.listeners.clear()
  }
}
