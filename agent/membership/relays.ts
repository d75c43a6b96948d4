// The indirect probes this agent runs for others (SWIM's ping-req): for each ping it sent on a
// requester's behalf, whom to answer and by when. Bounded, so a flood of ping-reqs cannot grow
// memory; requests beyond the bound are refused (the requester then simply gets no nack).

export interface Relay {
  originSeq: number
  originAddr: string
  expiresAtMs: number
}

export class RelayTable {
  private readonly maxPending: number
  private readonly bySeq = new Map<number, Relay>()

  constructor (maxPending: number) {
    this.maxPending = maxPending
  }

  /** Records a relay under our own probe sequence number; false if the table is full. */
  add (seq: number, relay: Relay): boolean {
    if (this.bySeq.size >= this.maxPending) return false
    this.bySeq.set(seq, relay)
    return true
  }

  /** The relay waiting for the ack numbered `seq`, removed; undefined if none. */
  take (seq: number): Relay | undefined {
    const relay = this.bySeq.get(seq)
    if (relay !== undefined) this.bySeq.delete(seq)
    return relay
  }

  /** Removes and returns the relays whose target did not answer by nowMs (they get a nack). */
  expire (nowMs: number): Relay[] {
    const expired: Relay[] = []
    for (const [seq, relay] of this.bySeq) {
      if (relay.expiresAtMs > nowMs) continue
      this.bySeq.delete(seq)
      expired.push(relay)
    }
    return expired
  }

  earliestExpiryMs (): number {
    let earliestMs = Number.POSITIVE_INFINITY
    for (const relay of this.bySeq.values()) earliestMs = Math.min(earliestMs, relay.expiresAtMs)
    return earliestMs
  }

  size (): number {
    return this.bySeq.size
  }
}
