// The clock and timers the connect CA manager uses, injected so tests drive rotation, renewal and
// backoff deterministically. The system clock unrefs its timers (a pending renewal must never keep
// the process alive on its own) and chains delays beyond setTimeout's 2^31-1 ms limit: renewing a
// one-year intermediate at half-life means a 182-day timer, which Node would otherwise fire at once.

export type TimerHandle = unknown

export interface ConnectClock {
  nowMs (): number
  setTimer (callback: () => void, delayMs: number): TimerHandle
  clearTimer (handle: TimerHandle): void
}

export const MAX_TIMEOUT_MS = 2 ** 31 - 1

/** The runtime's timer functions, injectable so the chaining is testable without waiting. */
export interface TimerFunctions {
  now: () => number
  setTimeout: (callback: () => void, delayMs: number) => { unref: () => unknown }
  clearTimeout: (timeout: unknown) => void
}

interface ChainedTimer { timeout: unknown }

export function createSystemClock (timers: TimerFunctions = { now: Date.now, setTimeout, clearTimeout: timeout => clearTimeout(timeout as NodeJS.Timeout) }): ConnectClock {
  return {
    nowMs: () => timers.now(),
    setTimer: (callback, delayMs) => {
      const handle: ChainedTimer = { timeout: undefined }
      const dueMs = timers.now() + Math.max(0, delayMs)
      const arm = (): void => {
        const remainingMs = dueMs - timers.now()
        const timeout = remainingMs > MAX_TIMEOUT_MS ? timers.setTimeout(arm, MAX_TIMEOUT_MS) : timers.setTimeout(callback, Math.max(0, remainingMs))
        timeout.unref()
        handle.timeout = timeout
      }
      arm()
      return handle
    },
    clearTimer: (handle) => timers.clearTimeout((handle as ChainedTimer).timeout),
  }
}

export const systemClock: ConnectClock = createSystemClock()
