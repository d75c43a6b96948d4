// The clock and timers every check, the check manager and the critical-service reaper run on.
// Injected so tests drive time with a fake scheduler instead of sleeping; the system scheduler is
// the only place in agent/checks that touches setTimeout or Date.now.

export interface TimerHandle {
  cancel (): void
}

export interface Scheduler {
  /** Milliseconds on a monotonic-enough clock; only differences are used. */
  nowMs (): number
  /** Runs fn once after delayMs unless cancelled first. */
  setTimer (delayMs: number, fn: () => void): TimerHandle
}

export const systemScheduler: Scheduler = {
  nowMs: () => Date.now(),
  setTimer (delayMs, fn) {
    const timer = setTimeout(fn, Math.max(0, delayMs))
    // A pending check round must never keep the process alive after the agent stops.
    timer.unref()
    return { cancel: () => clearTimeout(timer) }
  },
}
