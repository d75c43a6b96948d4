// Hybrid logical clock (Kulkarni et al., 2014) ordering the cluster-wide last-writer-wins registers.
//
// A timestamp is (wallMs, counter, nodeId). Issuing one for a local write takes the larger of the
// physical clock and the last timestamp issued or seen; if the physical clock did not move past it,
// the counter grows instead. Observing a remote timestamp pulls the local clock up to it, so a
// write made after seeing another always orders after it even when the writers' physical clocks
// disagree. Equal (wallMs, counter) pairs from different writers are ordered by nodeId, so any two
// distinct timestamps compare the same way on every agent. The clock is injected (no Date.now()).

export interface Hlc {
  wallMs: number
  counter: number
  nodeId: string
}

/** Negative when a orders before b, positive after, 0 only for identical timestamps. */
export function compareHlc (a: Hlc, b: Hlc): number {
  if (a.wallMs !== b.wallMs) return a.wallMs - b.wallMs
  if (a.counter !== b.counter) return a.counter - b.counter
  return a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0
}

export class HybridLogicalClock {
  readonly nodeId: string
  private readonly now: () => number
  private lastWallMs = 0
  private lastCounter = 0

  constructor (nodeId: string, now: () => number) {
    this.nodeId = nodeId
    this.now = now
  }

  /** A fresh timestamp for a local write, after everything issued or observed so far. */
  tick (): Hlc {
    const physicalMs = Math.floor(this.now())
    if (physicalMs > this.lastWallMs) {
      this.lastWallMs = physicalMs
      this.lastCounter = 0
    } else {
      this.lastCounter++
    }
    return { wallMs: this.lastWallMs, counter: this.lastCounter, nodeId: this.nodeId }
  }

  /** Takes a timestamp seen in a remote (or persisted) write into account. */
  observe (remote: Hlc): void {
    if (remote.wallMs > this.lastWallMs) {
      this.lastWallMs = remote.wallMs
      this.lastCounter = remote.counter
    } else if (remote.wallMs === this.lastWallMs && remote.counter > this.lastCounter) {
      this.lastCounter = remote.counter
    }
  }
}
