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

interface ChainedTimer { timeout: NodeJS.Timeout | undefined }

export const systemClock: ConnectClock = {
  nowMs: () => Date.now(),
  setTimer: (callback, delayMs) => {
    const handle: ChainedTimer = { timeout: undefined }
    const dueMs = Date.now() + Math.max(0, delayMs)
    const arm = (): void => {
      const remainingMs = dueMs - Date.now()
      handle.timeout = remainingMs > MAX_TIMEOUT_MS
        ? setTimeout(arm, MAX_TIMEOUT_MS).unref()
        : setTimeout(callback, Math.max(0, remainingMs)).unref()
    }
    arm()
    return handle
  },
  clearTimer: (handle) => clearTimeout((handle as ChainedTimer).timeout),
}
