// Lifeguard's local health ("awareness"): a score from 0 (healthy) to max − 1 that rises when this
// agent shows signs of being the slow one (missed nacks, being suspected, event-loop lag) and falls
// with each successful probe. Probe interval and timeout are multiplied by score + 1, so a
// struggling agent probes more patiently instead of accusing healthy peers.

export class Awareness {
  private readonly max: number
  private scoreValue = 0

  /** max: scores run 0..max−1; 1 disables the mechanism (always 0). */
  constructor (max: number) {
    this.max = Math.max(1, Math.floor(max))
  }

  applyDelta (delta: number): void {
    this.scoreValue = Math.min(this.max - 1, Math.max(0, this.scoreValue + delta))
  }

  score (): number {
    return this.scoreValue
  }

  scaleMs (timeoutMs: number): number {
    return timeoutMs * (this.scoreValue + 1)
  }
}
