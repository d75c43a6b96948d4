// The clock and timers the connect CA manager uses, injected so tests drive rotation, renewal and
// backoff deterministically. The system clock unrefs its timers: a pending renewal must never keep
// the process alive on its own.

export type TimerHandle = unknown

export interface ConnectClock {
  nowMs (): number
  setTimer (callback: () => void, delayMs: number): TimerHandle
  clearTimer (handle: TimerHandle): void
}

export const systemClock: ConnectClock = {
  nowMs: () => Date.now(),
  setTimer: (callback, delayMs) => setTimeout(callback, Math.max(0, delayMs)).unref(),
  clearTimer: (handle) => clearTimeout(handle as NodeJS.Timeout),
}
