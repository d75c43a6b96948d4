// The endpoints of one upstream and what the balancer knows about each: outstanding requests,
// a latency EWMA, consecutive failures and ejection. Picking is power of two choices (P2C):
// draw two endpoints at random and take the one with the lower cost
// (outstanding + 1) × latency EWMA ÷ weight. That spreads load like least-loaded without a
// global scan and without every proxy herding onto the same "best" endpoint.
//
// Outlier ejection as Envoy's consecutive-5xx detector: `consecutiveFailures` 5xx answers or
// connection failures in a row eject an endpoint for `baseEjectionMs` × times ejected; never
// more than `maxEjectionPercent` of the endpoints are out at once, so a bad deploy cannot eject
// the whole service. Removed endpoints drain: not picked any more, their connection pool is
// retired when the last outstanding request finishes.

import type { Endpoint } from './snapshot.ts'

export interface OutlierInit {
  consecutiveFailures?: number
  baseEjectionMs?: number
  maxEjectionPercent?: number
}

/** A connection pool and the requests using it, so a replaced pool closes once they finish. */
export interface PoolLease<Pool> {
  readonly pool: Pool
  inflight: number
  retiring: boolean
}

export interface EndpointState<Pool> {
  endpoint: Endpoint
  lease: PoolLease<Pool>
  outstanding: number
  latencyEwmaMs: number
  consecutiveFailures: number
  timesEjected: number
  ejectedUntilMs: number
  removed: boolean
}

export interface EndpointPoolInit<Pool> {
  createPool: (endpoint: Endpoint) => Pool
  retirePool: (pool: Pool) => void
  random: () => number
  outlier?: OutlierInit
  onEjection?: (endpoint: Endpoint, untilMs: number) => void
}

/** Weight of the newest latency sample in the EWMA. */
const EWMA_ALPHA = 0.3
/** A new endpoint starts as if it answered in 1 ms so it gets traffic at once. */
const INITIAL_LATENCY_MS = 1
/** A connection failure counts as this slow: failing fast must not make an endpoint look attractive. */
const CONNECTION_FAILURE_LATENCY_MS = 1000

/** How a request on an endpoint ended, for the EWMA and outlier detection. */
export type Outcome = 'success' | 'error-status' | 'connection-failure'

export class EndpointPool<Pool> {
  private states: Array<EndpointState<Pool>> = []
  private readonly draining = new Set<PoolLease<Pool>>()
  private readonly init: EndpointPoolInit<Pool>
  readonly consecutiveFailuresToEject: number
  readonly baseEjectionMs: number
  readonly maxEjectionPercent: number

  constructor (endpoints: Endpoint[], init: EndpointPoolInit<Pool>) {
    this.init = init
    this.consecutiveFailuresToEject = init.outlier?.consecutiveFailures ?? 5
    this.baseEjectionMs = init.outlier?.baseEjectionMs ?? 30_000
    this.maxEjectionPercent = init.outlier?.maxEjectionPercent ?? 50
    this.update(endpoints)
  }

  get endpoints (): ReadonlyArray<EndpointState<Pool>> {
    return this.states
  }

  /** Connection pools still finishing requests after their endpoint was removed or re-keyed. */
  get drainingCount (): number {
    return this.draining.size
  }

  /**
   * Applies a new endpoint list: kept endpoints keep their state, new ones start fresh,
   * removed ones (or ones whose address or identity changed) drain.
   */
  update (endpoints: Endpoint[]): void {
    const previous = new Map(this.states.map((state) => [state.endpoint.id, state]))
    const next: Array<EndpointState<Pool>> = []
    for (const endpoint of endpoints) {
      const old = previous.get(endpoint.id)
      if (old !== undefined && sameDestination(old.endpoint, endpoint)) {
        previous.delete(endpoint.id)
        old.endpoint = endpoint
        next.push(old)
        continue
      }
      next.push({
        endpoint,
        lease: this.newLease(endpoint),
        outstanding: 0,
        latencyEwmaMs: INITIAL_LATENCY_MS,
        consecutiveFailures: 0,
        timesEjected: 0,
        ejectedUntilMs: 0,
        removed: false
      })
    }
    for (const gone of previous.values()) {
      gone.removed = true
      this.retire(gone.lease)
    }
    this.states = next
  }

  /** Gives every endpoint a new connection pool (new TLS material); old pools drain. */
  replacePools (): void {
    for (const state of this.states) {
      const old = state.lease
      state.lease = this.newLease(state.endpoint)
      this.retire(old)
    }
  }

  /** P2C among endpoints of `subset` (null: all), avoiding `avoidId` when another is available. */
  pick (subset: string | null, avoidId: string | null, nowMs: number): EndpointState<Pool> | null {
    let first: EndpointState<Pool> | null = null
    let second: EndpointState<Pool> | null = null
    let eligible = 0
    // Reservoir-sample two distinct eligible endpoints in one pass, without allocating.
    for (const state of this.states) {
      if (subset !== null && state.endpoint.subset !== subset) continue
      if (state.ejectedUntilMs > nowMs) continue
      if (state.endpoint.id === avoidId) continue
      eligible++
      if (eligible === 1) first = state
      else if (eligible === 2) second = state
      else {
        const slot = Math.floor(this.init.random() * eligible)
        if (slot === 0) first = state
        else if (slot === 1) second = state
      }
    }
    if (first === null) {
      return avoidId === null ? null : this.pick(subset, null, nowMs)
    }
    if (second === null) return first
    return cost(second) < cost(first) ? second : first
  }

  /** Marks a request as started on `state`; pass the lease back to `end`. */
  begin (state: EndpointState<Pool>): PoolLease<Pool> {
    state.outstanding++
    state.lease.inflight++
    return state.lease
  }

  /** Records how a request ended: a 5xx answer (`error-status`) or a connection failure count towards ejection. */
  end (state: EndpointState<Pool>, lease: PoolLease<Pool>, latencyMs: number, outcome: Outcome, nowMs: number): void {
    state.outstanding--
    lease.inflight--
    if (lease.retiring && lease.inflight === 0 && this.draining.delete(lease)) this.init.retirePool(lease.pool)
    if (state.removed) return
    const sampleMs = outcome === 'connection-failure' ? Math.max(latencyMs, CONNECTION_FAILURE_LATENCY_MS) : latencyMs
    state.latencyEwmaMs += EWMA_ALPHA * (sampleMs - state.latencyEwmaMs)
    if (outcome === 'success') {
      state.consecutiveFailures = 0
      return
    }
    state.consecutiveFailures++
    if (state.consecutiveFailures < this.consecutiveFailuresToEject) return
    if (!this.mayEject(nowMs)) return
    state.consecutiveFailures = 0
    state.timesEjected++
    state.ejectedUntilMs = nowMs + this.baseEjectionMs * state.timesEjected
    this.init.onEjection?.(state.endpoint, state.ejectedUntilMs)
  }

  /** Retires every pool now (sidecar stop). */
  close (): void {
    for (const state of this.states) this.init.retirePool(state.lease.pool)
    for (const lease of this.draining) this.init.retirePool(lease.pool)
    this.states = []
    this.draining.clear()
  }

  private newLease (endpoint: Endpoint): PoolLease<Pool> {
    return { pool: this.init.createPool(endpoint), inflight: 0, retiring: false }
  }

  private retire (lease: PoolLease<Pool>): void {
    lease.retiring = true
    if (lease.inflight === 0) this.init.retirePool(lease.pool)
    else this.draining.add(lease)
  }

  private mayEject (nowMs: number): boolean {
    let ejected = 0
    for (const state of this.states) if (state.ejectedUntilMs > nowMs) ejected++
    return (ejected + 1) * 100 <= this.states.length * this.maxEjectionPercent
  }
}

function cost (state: EndpointState<unknown>): number {
  return (state.outstanding + 1) * state.latencyEwmaMs / Math.max(state.endpoint.weight, 1)
}

function sameDestination (a: Endpoint, b: Endpoint): boolean {
  return a.address === b.address && a.port === b.port && a.spiffeId === b.spiffeId
}
