// The one clock-and-timers interface every component takes (CA rotation and renewal, health checks,
// proxy timeouts), injected so tests drive time deterministically instead of sleeping, and its one
// system implementation. The system clock unrefs its timers (a pending timer must never keep the
// process alive on its own) and chains delays beyond setTimeout's 2^31-1 ms limit, which Node
// would otherwise fire at once: renewing a one-year intermediate at half-life means a 182-day
// timer, and a check may have an Interval of 99999h or a TTL of 999h.
//
// Two time sources share the implementation: `systemClock` reads wall time (timestamps,
// certificate validity, deadlines that must survive a restart), `monotonicClock` reads
// performance.now() for durations, which must not jump when the wall clock is set.

export type TimerHandle = unknown

export interface Clock {
  /** Milliseconds; wall time or monotonic depending on the clock (only differences are used for durations). */
  nowMs (): number
  /** Runs `callback` once after `delayMs` (any length) unless cleared first. */
  setTimer (callback: () => void, delayMs: number): TimerHandle
  /** Clearing a timer that fired, was cleared, or `undefined` does nothing. */
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

const runtimeTimers = (now: () => number): TimerFunctions => ({ now, setTimeout, clearTimeout: timeout => clearTimeout(timeout as NodeJS.Timeout) })

export function createSystemClock (timers: TimerFunctions = runtimeTimers(Date.now)): Clock {
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
    clearTimer: (handle) => {
      if (handle !== undefined) timers.clearTimeout((handle as ChainedTimer).timeout)
    },
  }
}

/** Wall time (Date.now()). */
export const systemClock: Clock = createSystemClock()

/** Monotonic time (performance.now()), for measuring durations. */
export const monotonicClock: Clock = createSystemClock(runtimeTimers(() => performance.now()))
