// A deterministic discrete-event simulator for protocol cores, independent of any one protocol.
//
// How it works: a virtual clock only moves when the next event is taken from a priority queue
// ordered by (time, insertion order), so equal-time events run in the order they were scheduled
// and a run is a pure function of its seed. All randomness (message delays, loss) comes from one
// seeded PRNG (mulberry32). Nodes are named by a string id and plug in as message handlers; the
// engine models the network between them: a per-message delay drawn from a distribution, a loss
// probability for unreliable (datagram) messages, partitions between groups of nodes, crashed
// nodes (everything addressed to them vanishes; reliable sends to them fail at the sender after a
// connect timeout) and paused nodes (a stalled event loop: their timers and incoming messages are
// buffered and run late, when the pause ends). Replay after a pause runs due timers before
// buffered messages, as Node's event loop does (timers phase before the poll phase), because that
// is the order that provokes false failure detections in real agents. Every node has a "life":
// restarting a node bumps it, and timers set by an earlier life never fire.

/** mulberry32: a tiny, fast 32-bit PRNG with good enough statistics for simulation. */
export function mulberry32 (seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let x = state
    x = Math.imul(x ^ (x >>> 15), x | 1)
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61)
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

export interface SimNodeHandlers<M> {
  /** A message arrived (reliable: it came over a stream, otherwise as a datagram). */
  onMessage: (from: string, message: M, reliable: boolean) => void
  /** A reliable message this node sent could not be delivered (peer crashed or partitioned). */
  onReliableFailed?: (to: string, message: M) => void
  /** The node's event loop resumes after a pause of `pausedMs` (lets adapters report lag). */
  onResumed?: (pausedMs: number) => void
}

export interface NetworkModel {
  /** One-way delay of one message in ms, drawn with the engine's PRNG. */
  delayMs: (random: () => number) => number
  /** Probability that an unreliable message is silently lost. Reliable messages are never lost. */
  lossProbability: number
  /** How long a reliable send to an unreachable node takes to fail at the sender (connect timeout). */
  reliableFailureDelayMs: number
}

export interface SimEngineInit {
  seed: number
  network?: Partial<NetworkModel>
  /** Keep the trace lines in memory (the trace hash is always kept). */
  keepTrace?: boolean
}

/** Uniform delay between minMs and maxMs: a LAN-like default. */
export const uniformDelayMs = (minMs: number, maxMs: number) =>
  (random: () => number): number => minMs + random() * (maxMs - minMs)

interface QueuedEvent {
  atMs: number
  order: number
  run: () => void
}

type NodeTask = { kind: 'timer' | 'message', run: () => void }

interface NodeSlot<M> {
  handlers: SimNodeHandlers<M>
  life: number
  crashed: boolean
  pausedUntilMs: number
  pausedSinceMs: number
  buffered: NodeTask[]
}

export interface SimStats {
  sent: number
  delivered: number
  lost: number
  blocked: number
}

export class SimEngine<M> {
  nowMs = 0
  readonly random: () => number
  readonly stats: SimStats = { sent: 0, delivered: 0, lost: 0, blocked: 0 }
  readonly traceLines: string[] = []
  private readonly network: NetworkModel
  private readonly keepTrace: boolean
  private readonly heap: QueuedEvent[] = []
  private order = 0
  private readonly nodes = new Map<string, NodeSlot<M>>()
  private groupOf = new Map<string, number>()
  private traceHashValue = 0x811c9dc5

  constructor (init: SimEngineInit) {
    this.random = mulberry32(init.seed)
    this.network = {
      delayMs: init.network?.delayMs ?? uniformDelayMs(1, 5),
      lossProbability: init.network?.lossProbability ?? 0,
      reliableFailureDelayMs: init.network?.reliableFailureDelayMs ?? 1000
    }
    this.keepTrace = init.keepTrace ?? false
  }

  /** Adds a node, or restarts a crashed one: a new life whose earlier timers never fire. */
  addNode (id: string, handlers: SimNodeHandlers<M>): void {
    const previous = this.nodes.get(id)
    this.nodes.set(id, {
      handlers,
      life: (previous?.life ?? 0) + 1,
      crashed: false,
      pausedUntilMs: 0,
      pausedSinceMs: 0,
      buffered: []
    })
  }

  /** kill -9: the node stops at once; its timers and anything sent to it vanish. */
  crash (id: string): void {
    const slot = this.slot(id)
    slot.crashed = true
    slot.buffered = []
  }

  isUp (id: string): boolean {
    const slot = this.nodes.get(id)
    return slot !== undefined && !slot.crashed
  }

  /** Stalls the node's event loop for durationMs from now (e.g. a long GC or a busy CPU). */
  pause (id: string, durationMs: number): void {
    const slot = this.slot(id)
    if (slot.crashed || slot.pausedUntilMs > this.nowMs) return
    slot.pausedSinceMs = this.nowMs
    slot.pausedUntilMs = this.nowMs + durationMs
    const life = slot.life
    this.schedule(slot.pausedUntilMs, () => { this.resume(id, life) })
  }

  /** Nodes in different groups cannot reach each other; nodes in no group reach everyone. */
  partition (groups: string[][]): void {
    this.groupOf = new Map()
    groups.forEach((group, index) => { for (const id of group) this.groupOf.set(id, index) })
  }

  heal (): void {
    this.groupOf = new Map()
  }

  setLossProbability (probability: number): void {
    this.network.lossProbability = probability
  }

  /** A global event (test scripting): runs at atMs whatever the state of the nodes. */
  schedule (atMs: number, run: () => void): void {
    this.push({ atMs: Math.max(atMs, this.nowMs), order: this.order++, run })
  }

  /** A timer of node `id`: dropped if the node crashes or restarts, run late if it is paused. */
  setTimer (id: string, atMs: number, run: () => void): void {
    const life = this.slot(id).life
    this.schedule(atMs, () => { this.runOnNode(id, life, 'timer', run) })
  }

  send (from: string, to: string, message: M, reliable: boolean): void {
    this.stats.sent++
    const sender = this.slot(from)
    const senderLife = sender.life
    const target = this.nodes.get(to)
    if (target === undefined || target.crashed || !this.reachable(from, to)) {
      this.stats.blocked++
      if (reliable) this.failReliable(from, senderLife, to, message)
      return
    }
    if (!reliable && this.random() < this.network.lossProbability) {
      this.stats.lost++
      return
    }
    const targetLife = target.life
    const atMs = this.nowMs + this.network.delayMs(this.random)
    this.schedule(atMs, () => {
      const current = this.nodes.get(to)
      if (current === undefined || current.crashed || current.life !== targetLife) {
        this.stats.blocked++
        if (reliable) this.failReliable(from, senderLife, to, message)
        return
      }
      this.stats.delivered++
      this.runOnNode(to, targetLife, 'message', () => { current.handlers.onMessage(from, message, reliable) })
    })
  }

  /** Records one line in the trace: same seed and same scenario must give the same trace. */
  trace (line: string): void {
    let hash = this.traceHashValue
    const text = `${this.nowMs.toFixed(3)} ${line}\n`
    for (let i = 0; i < text.length; i++) {
      hash ^= text.charCodeAt(i)
      hash = Math.imul(hash, 0x01000193)
    }
    this.traceHashValue = hash >>> 0
    if (this.keepTrace) this.traceLines.push(text)
  }

  /** FNV-1a hash over every trace line so far. */
  traceHash (): string {
    return this.traceHashValue.toString(16).padStart(8, '0')
  }

  /** Runs every event up to and including untilMs; the clock ends at untilMs. */
  runUntil (untilMs: number): void {
    while (this.heap.length > 0 && this.heap[0].atMs <= untilMs) {
      const event = this.pop()
      this.nowMs = event.atMs
      event.run()
    }
    this.nowMs = Math.max(this.nowMs, untilMs)
  }

  /**
   * Runs until `done()` holds (checked every checkEveryMs of virtual time) or maxMs is reached.
   * Returns the virtual time at which it held, or undefined.
   */
  runUntilTrue (done: () => boolean, maxMs: number, checkEveryMs = 100): number | undefined {
    while (this.nowMs < maxMs) {
      if (done()) return this.nowMs
      this.runUntil(Math.min(maxMs, this.nowMs + checkEveryMs))
    }
    return done() ? this.nowMs : undefined
  }

  private failReliable (from: string, senderLife: number, to: string, message: M): void {
    this.setTimerForLife(from, senderLife, this.nowMs + this.network.reliableFailureDelayMs, () => {
      this.slot(from).handlers.onReliableFailed?.(to, message)
    })
  }

  private setTimerForLife (id: string, life: number, atMs: number, run: () => void): void {
    this.schedule(atMs, () => { this.runOnNode(id, life, 'timer', run) })
  }

  private runOnNode (id: string, life: number, kind: NodeTask['kind'], run: () => void): void {
    const slot = this.nodes.get(id)
    if (slot === undefined || slot.crashed || slot.life !== life) return
    if (slot.pausedUntilMs > this.nowMs) {
      slot.buffered.push({ kind, run })
      return
    }
    run()
  }

  private resume (id: string, life: number): void {
    const slot = this.nodes.get(id)
    if (slot === undefined || slot.crashed || slot.life !== life) return
    const buffered = slot.buffered
    slot.buffered = []
    slot.handlers.onResumed?.(this.nowMs - slot.pausedSinceMs)
    for (const task of buffered) if (task.kind === 'timer') this.runOnNode(id, life, task.kind, task.run)
    for (const task of buffered) if (task.kind === 'message') this.runOnNode(id, life, task.kind, task.run)
  }

  private reachable (from: string, to: string): boolean {
    const a = this.groupOf.get(from)
    const b = this.groupOf.get(to)
    return a === undefined || b === undefined || a === b
  }

  private slot (id: string): NodeSlot<M> {
    const slot = this.nodes.get(id)
    if (slot === undefined) throw new Error(`unknown simulated node ${id}`)
    return slot
  }

  private push (event: QueuedEvent): void {
    const heap = this.heap
    heap.push(event)
    let i = heap.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!before(heap[i], heap[parent])) break
      const swap = heap[i]; heap[i] = heap[parent]; heap[parent] = swap
      i = parent
    }
  }

  private pop (): QueuedEvent {
    const heap = this.heap
    const top = heap[0]
    const last = heap.pop() as QueuedEvent
    if (heap.length > 0) {
      heap[0] = last
      let i = 0
      for (;;) {
        const left = 2 * i + 1
        const right = left + 1
        let smallest = i
        if (left < heap.length && before(heap[left], heap[smallest])) smallest = left
        if (right < heap.length && before(heap[right], heap[smallest])) smallest = right
        if (smallest === i) break
        const swap = heap[i]; heap[i] = heap[smallest]; heap[smallest] = swap
        i = smallest
      }
    }
    return top
  }
}

function before (a: QueuedEvent, b: QueuedEvent): boolean {
  return a.atMs < b.atMs || (a.atMs === b.atMs && a.order < b.order)
}
