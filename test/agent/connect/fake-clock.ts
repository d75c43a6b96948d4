// A manual clock for the connect CA tests: time moves only when a test calls advance().
import type { Clock } from '../../../api/clock.ts'

interface Timer { atMs: number, callback: () => void, id: number }

export class FakeClock implements Clock {
  #nowMs: number
  #timers = new Map<number, Timer>()
  #nextId = 1
  constructor (startMs: number) { this.#nowMs = startMs }
  nowMs (): number { return this.#nowMs }
  setTimer (callback: () => void, delayMs: number): number {
    const id = this.#nextId++
    this.#timers.set(id, { atMs: this.#nowMs + Math.max(0, delayMs), callback, id })
    return id
  }
  clearTimer (handle: unknown): void { this.#timers.delete(handle as number) }
  get pendingTimers (): number { return this.#timers.size }
  /** Moves time forward, firing due timers in time order (timers they set fire too if due). */
  advance (ms: number): void {
    const targetMs = this.#nowMs + ms
    for (;;) {
      const due = [...this.#timers.values()].filter(timer => timer.atMs <= targetMs).sort((a, b) => a.atMs - b.atMs || a.id - b.id)[0]
      if (due === undefined) break
      this.#timers.delete(due.id)
      this.#nowMs = due.atMs
      due.callback()
    }
    this.#nowMs = targetMs
  }
}
