// A token bucket for intermediate signing requests (Consul's CSRMaxPerSecond, default 50): a
// burst of up to one second's worth is accepted, then requests are refused with the time after
// which one more would pass. Pure: the caller passes the time.

export class TokenBucket {
  readonly #ratePerSecond: number
  readonly #capacity: number
  #tokens: number
  #lastMs: number | undefined

  constructor (ratePerSecond: number, burst = ratePerSecond) {
    this.#ratePerSecond = ratePerSecond
    this.#capacity = Math.max(1, burst)
    this.#tokens = this.#capacity
  }

  /** Takes a token at `nowMs`: 0 when granted, otherwise how many ms until one is available. */
  take (nowMs: number): number {
    if (this.#lastMs !== undefined && nowMs > this.#lastMs) {
      this.#tokens = Math.min(this.#capacity, this.#tokens + (nowMs - this.#lastMs) * this.#ratePerSecond / 1000)
    }
    this.#lastMs = Math.max(nowMs, this.#lastMs ?? nowMs)
    if (this.#tokens >= 1) { this.#tokens -= 1; return 0 }
    return (1 - this.#tokens) * 1000 / this.#ratePerSecond
  }
}
