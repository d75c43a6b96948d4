// A token bucket: `burst` tokens at most, refilled at `ratePerSecond`; each request takes one.
// Pure over an injected time so limits are tested with exact numbers.

export class TokenBucket {
  private tokens: number
  private lastRefillMs: number
  readonly ratePerSecond: number
  readonly burst: number

  constructor (ratePerSecond: number, burst: number, nowMs: number) {
    this.ratePerSecond = ratePerSecond
    this.burst = Math.max(1, burst)
    this.tokens = this.burst
    this.lastRefillMs = nowMs
  }

  /** Takes a token if one is available at `nowMs`. */
  tryTake (nowMs: number): boolean {
    const elapsedMs = nowMs - this.lastRefillMs
    if (elapsedMs > 0) {
      this.tokens = Math.min(this.burst, this.tokens + elapsedMs * this.ratePerSecond / 1000)
      this.lastRefillMs = nowMs
    }
    if (this.tokens < 1) return false
    this.tokens -= 1
    return true
  }
}
