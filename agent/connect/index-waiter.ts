// A monotonic modify index with waiters, the shape blocking queries need (agent/http/blocking.ts's
// BlockingSource). The CA keeps one for its roots and one per cached leaf, so a leaf watcher wakes
// only when that leaf is re-issued. Timeouts run on the injected clock.

import type { BlockingSource } from '../http/blocking.ts'
import type { Clock } from '../../api/clock.ts'

interface Waiter { minIndex: number, resolve: (index: number) => void }

export class IndexWaiter implements BlockingSource {
  #index: number
  readonly #clock: Clock
  readonly #waiters = new Set<Waiter>()

  constructor (clock: Clock, initialIndex = 1) {
    this.#clock = clock
    this.#index = Math.max(1, initialIndex)
  }

  get index (): number { return this.#index }

  /** Moves the index to `index` (ignored unless it grows) and wakes the waiters it passes. */
  advance (index: number): void {
    if (index <= this.#index) return
    this.#index = index
    for (const waiter of [...this.#waiters]) {
      if (index > waiter.minIndex) waiter.resolve(index)
    }
  }

  waitForIndex (minIndex: number, options: { timeoutMs: number, signal?: AbortSignal }): Promise<number> {
    if (this.#index > minIndex || options.signal?.aborted === true) return Promise.resolve(this.#index)
    return new Promise(resolve => {
      const finish = (index: number): void => {
        this.#waiters.delete(waiter)
        this.#clock.clearTimer(timer)
        options.signal?.removeEventListener('abort', onAbort)
        resolve(index)
      }
      const waiter: Waiter = { minIndex, resolve: finish }
      const onAbort = (): void => finish(this.#index)
      const timer = this.#clock.setTimer(() => finish(this.#index), options.timeoutMs)
      options.signal?.addEventListener('abort', onAbort, { once: true })
      this.#waiters.add(waiter)
    })
  }

  /** Wakes every waiter with the current index (on shutdown). */
  releaseAll (): void {
    for (const waiter of [...this.#waiters]) waiter.resolve(this.#index)
  }
}
