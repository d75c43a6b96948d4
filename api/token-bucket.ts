// A token bucket: `burst` tokens at most, refilled at `ratePerSecond`; each request takes one. The
// proxy's rate limits refuse a request when it is empty; the CA's signing limit (Consul's
// CSRMaxPerSecond) also tells the caller how long until one more would pass. Pure over an injected
// time so limits are tested with exact numbers; time going backwards refills nothing.

export class TokenBucket {
  readonly ratePerSecond: number
  readonly burst: number
  private tokens: number
  private lastRefillMs: number

  constructor (ratePerSecond: number, burst: number, nowMs: number) {
    this.ratePerSecond = ratePerSecond
    this.burst = Math.max(1, burst)
    this.tokens = this.burst
    this.lastRefillMs = nowMs
  }

  /** Takes a token at `nowMs`: 0 when granted, otherwise how many ms until one is available. */
  take (nowMs: number): number {
    const elapsedMs = nowMs - this.lastRefillMs
    if (elapsedMs > 0) {
      this.tokens = Math.min(this.burst, this.tokens + elapsedMs * this.ratePerSecond / 1000)
      this.lastRefillMs = nowMs
    }
    if (this.tokens >= 1) {
      this.tokens -= 1
      return 0
    }
    return (1 - this.tokens) * 1000 / this.ratePerSecond
  }

  /** Takes a token if one is available at `nowMs`. */
  tryTake (nowMs: number): boolean {
    return this.take(nowMs) === 0
  }
}
