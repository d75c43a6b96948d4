// Lifeguard suspicion timeouts: a suspicion starts with a long timeout that shrinks, on a log
// scale, as independent members confirm it, down to a floor reached at k confirmations.
//
// The algorithm (hashicorp/memberlist's suspicion.go): with n of k expected confirmations, the
// timeout is max − log(n+1)/log(k+1) × (max − min), floored to whole ms and never below min.
// A member that is really dead gets probed and suspected by many peers quickly, so it is declared
// dead near the minimum; a member wrongly suspected by one lagging peer gets the maximum, which
// leaves it ample time to hear the suspicion and refute it. `Suspicion` is the thin stateful part:
// it remembers who confirmed (each member counts once) and exposes the current deadline; the
// owner decides when to look at it, there is no timer inside.

/** Remaining time of a suspicion, possibly negative once expired (exactly memberlist's formula). */
export function remainingSuspicionTimeMs (confirmations: number, k: number, elapsedMs: number, minMs: number, maxMs: number): number {
  if (k < 1) return minMs - elapsedMs
  const fraction = Math.log(confirmations + 1) / Math.log(k + 1)
  const raw = maxMs - fraction * (maxMs - minMs)
  const timeoutMs = Math.max(Math.floor(raw), minMs)
  return timeoutMs - elapsedMs
}

export interface SuspicionInit {
  /** The member whose suspicion started this one; it never counts as a confirmation. */
  from: string
  /** Confirmations that bring the timeout down to minMs (0: minMs applies at once). */
  k: number
  minMs: number
  maxMs: number
  startMs: number
}

export class Suspicion {
  readonly startMs: number
  private readonly k: number
  private readonly minMs: number
  private readonly maxMs: number
  private readonly confirmedBy = new Set<string>()

  constructor (init: SuspicionInit) {
    this.k = Math.max(0, Math.floor(init.k))
    this.minMs = init.minMs
    this.maxMs = this.k < 1 ? init.minMs : Math.max(init.minMs, init.maxMs)
    this.startMs = init.startMs
    this.confirmedBy.add(init.from)
  }

  /** Records a confirmation; true if it was new and counted (worth re-gossiping), false if not. */
  confirm (from: string): boolean {
    if (this.confirmations() >= this.k || this.confirmedBy.has(from)) return false
    this.confirmedBy.add(from)
    return true
  }

  /** Independent confirmations so far (the initial suspector excluded). */
  confirmations (): number {
    return this.confirmedBy.size - 1
  }

  deadlineMs (): number {
    return this.startMs + remainingSuspicionTimeMs(this.confirmations(), this.k, 0, this.minMs, this.maxMs)
  }
}
