// The member table: every known member's record, the randomized round-robin probe order, random
// picks of members, and the count of live (alive or suspect) members that the timing formulas use.
//
// Probe order (SWIM's randomized round-robin): members are probed in a shuffled list; when the
// list is used up it is reshuffled. Every live member is thus probed by each agent once per round
// (bounded detection time), yet in an order peers cannot predict or synchronise on. A new member
// is inserted at a random position of the current round so it is probed within this round.

import type { MemberInfo, MemberStatus } from './types.ts'

export interface MemberRecord extends MemberInfo {
  /** UTF-8 bytes of this member's push-pull state, cached (0: not computed since the last change). */
  stateSizeBytes: number
  /** Position in the table's name array (for O(1) removal); −1 outside a table. */
  tableIndex: number
}

const isLive = (status: MemberStatus): boolean => status === 'alive' || status === 'suspect'

export class MemberTable {
  private readonly random: () => number
  private readonly byName = new Map<string, MemberRecord>()
  /** Names in an array too, for O(1) random picks (swap-remove on delete). */
  private readonly names: string[] = []
  private probeOrder: string[] = []
  private probeIndex = 0
  private liveCountValue = 0

  constructor (random: () => number) {
    this.random = random
  }

  get (name: string): MemberRecord | undefined {
    return this.byName.get(name)
  }

  size (): number {
    return this.byName.size
  }

  /** Alive plus suspect members, the local one included: the N of the timing formulas. */
  liveCount (): number {
    return this.liveCountValue
  }

  all (): IterableIterator<MemberRecord> {
    return this.byName.values()
  }

  add (record: MemberRecord): void {
    this.byName.set(record.name, record)
    record.tableIndex = this.names.length
    this.names.push(record.name)
    if (isLive(record.status)) this.liveCountValue++
    // Swap into a random not-yet-probed slot of this round: O(1), and still uniformly placed.
    const order = this.probeOrder
    order.push(record.name)
    const at = this.probeIndex + Math.floor(this.random() * (order.length - this.probeIndex))
    const swap = order[at]; order[at] = order[order.length - 1]; order[order.length - 1] = swap
  }

  remove (name: string): void {
    const record = this.byName.get(name)
    if (record === undefined) return
    if (isLive(record.status)) this.liveCountValue--
    this.byName.delete(name)
    const index = record.tableIndex
    record.tableIndex = -1
    const last = this.names.pop() as string
    if (last !== name) {
      this.names[index] = last
      ;(this.byName.get(last) as MemberRecord).tableIndex = index
    }
  }

  /** Changes a member's status, keeping the live count right; returns false if nothing changed. */
  setStatus (record: MemberRecord, status: MemberStatus, nowMs: number): boolean {
    if (record.status === status) return false
    if (isLive(record.status)) this.liveCountValue--
    if (isLive(status)) this.liveCountValue++
    record.status = status
    record.statusChangedAtMs = nowMs
    return true
  }

  /** The next live member to probe in randomized round-robin order, excluding `self`. */
  nextProbeTarget (self: string): MemberRecord | undefined {
    for (let attempts = 0; attempts < 2; attempts++) {
      while (this.probeIndex < this.probeOrder.length) {
        const record = this.byName.get(this.probeOrder[this.probeIndex++])
        if (record !== undefined && record.name !== self && isLive(record.status)) return record
      }
      this.reshuffle()
    }
    return undefined
  }

  /**
   * Up to `count` distinct random members satisfying `accept`: random sampling first (cheap when
   * most members qualify), then, if that found too few, a scan from a random offset, so that
   * small clusters or ones with few qualifying members still get every member they can.
   */
  randomMembers (count: number, accept: (record: MemberRecord) => boolean): MemberRecord[] {
    const picked: MemberRecord[] = []
    const n = this.names.length
    if (count <= 0 || n === 0) return picked
    const attempts = Math.min(3 * n, 8 * count)
    for (let attempt = 0; attempt < attempts && picked.length < count; attempt++) {
      const record = this.byName.get(this.names[Math.floor(this.random() * n)]) as MemberRecord
      if (accept(record) && !picked.includes(record)) picked.push(record)
    }
    const offset = Math.floor(this.random() * n)
    for (let i = 0; i < n && picked.length < count; i++) {
      const record = this.byName.get(this.names[(offset + i) % n]) as MemberRecord
      if (accept(record) && !picked.includes(record)) picked.push(record)
    }
    return picked
  }

  private reshuffle (): void {
    const order = [...this.names]
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(this.random() * (i + 1))
      const swap = order[i]; order[i] = order[j]; order[j] = swap
    }
    this.probeOrder = order
    this.probeIndex = 0
  }
}
