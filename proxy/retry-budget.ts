// Retry budget as Linkerd's: retries may add at most `ratio` of the requests seen in the last
// `windowMs`, plus `minRetriesPerSecond` so low traffic can still retry. A budget instead of a
// per-request count is what keeps retries from multiplying load when an upstream is down: at
// most 20 % more requests, never 3×.
//
// Requests and retries are counted in one-second buckets over the window.

export interface RetryBudgetInit {
  /** Share of recent requests that may be retries; 0.2 = 20 %. */
  ratio?: number
  /** Retries always allowed per second, whatever the traffic. */
  minRetriesPerSecond?: number
  /** How far back requests count; Linkerd uses 10 s. */
  windowMs?: number
}

const BUCKET_MS = 1000

export class RetryBudget {
  readonly ratio: number
  readonly minRetriesPerSecond: number
  readonly windowMs: number
  private readonly requests: number[]
  private readonly retries: number[]
  private currentBucket = 0
  private currentBucketStartMs: number

  constructor (nowMs: number, init: RetryBudgetInit = {}) {
    this.ratio = init.ratio ?? 0.2
    this.minRetriesPerSecond = init.minRetriesPerSecond ?? 10
    this.windowMs = init.windowMs ?? 10_000
    const buckets = Math.max(1, Math.ceil(this.windowMs / BUCKET_MS))
    this.requests = new Array<number>(buckets).fill(0)
    this.retries = new Array<number>(buckets).fill(0)
    this.currentBucketStartMs = nowMs
  }

  recordRequest (nowMs: number): void {
    this.advance(nowMs)
    this.requests[this.currentBucket]!++
  }

  /** Spends one retry if the budget allows it at `nowMs`. */
  tryWithdraw (nowMs: number): boolean {
    this.advance(nowMs)
    let requests = 0
    let retries = 0
    for (let i = 0; i < this.requests.length; i++) {
      requests += this.requests[i]!
      retries += this.retries[i]!
    }
    const allowed = this.ratio * requests + this.minRetriesPerSecond * this.windowMs / 1000
    if (retries + 1 > allowed) return false
    this.retries[this.currentBucket]!++
    return true
  }

  private advance (nowMs: number): void {
    let steps = Math.floor((nowMs - this.currentBucketStartMs) / BUCKET_MS)
    if (steps <= 0) return
    this.currentBucketStartMs += steps * BUCKET_MS
    steps = Math.min(steps, this.requests.length)
    for (let i = 0; i < steps; i++) {
      this.currentBucket = (this.currentBucket + 1) % this.requests.length
      this.requests[this.currentBucket] = 0
      this.retries[this.currentBucket] = 0
    }
  }
}
