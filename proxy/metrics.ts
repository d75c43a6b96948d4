// The sidecar's Prometheus metrics (prom-client). Every series carries `proxy` (the proxy id) so
// several sidecars can share one registry in one agent process; a metric already registered by
// another sidecar is reused. Children are cached per label set because prom-client hashes label
// objects on every `labels()` call, which would cost on each request. The two per-request
// metrics (requests_total and the duration histogram) are our own metric objects (RequestCounter,
// DurationHistogram) registered in the same registry with prom-client's exposition: a prom-client
// child hashes its label set again on every inc() and observe(), which was most of the cost of
// counting a request.

import { Counter, Gauge, Registry } from 'prom-client'
import type { Metric } from 'prom-client'
import type { Direction } from './handler.ts'
import type { SplitLeg } from './snapshot.ts'

export interface ProxyMetricsSnapshot {
  requests: number
  retries: number
  ejections: number
  authorizationDenials: number
  tlsHandshakeFailures: number
}

export class ProxyMetrics {
  readonly registry: Registry
  private readonly proxyId: string
  private readonly requests: RequestCounter
  private readonly duration: DurationHistogram
  private readonly tlsFailures: Counter<string>
  private readonly denials: Counter<string>
  private readonly retries: Counter<string>
  private readonly routes: Counter<string>
  private readonly ejections: Counter<string>
  private readonly listenerEvents: Counter<string>
  private readonly splitWeights: Gauge<string>
  /** The subsets of each upstream's split that have a series now, so a new split replaces them all. */
  private readonly splitSubsets = new Map<string, string[]>()
  private readonly requestSeries = new Map<string, RequestSeries>()
  /** The series of the last request: a sidecar's traffic is mostly one label set. */
  private last: RequestSeries | null = null
  readonly totals: ProxyMetricsSnapshot = { requests: 0, retries: 0, ejections: 0, authorizationDenials: 0, tlsHandshakeFailures: 0 }

  constructor (proxyId: string, registry?: Registry) {
    this.registry = registry ?? new Registry()
    this.proxyId = proxyId
    const requestsName = 'mesh_proxy_requests_total'
    const existingRequests = this.registry.getSingleMetric(requestsName)
    if (existingRequests instanceof RequestCounter) this.requests = existingRequests
    else {
      this.requests = new RequestCounter(requestsName, 'Requests answered, by direction, source and destination service and status code')
      this.registry.registerMetric(this.requests as unknown as Metric)
    }
    const durationName = 'mesh_proxy_request_duration_seconds'
    const existing = this.registry.getSingleMetric(durationName)
    if (existing instanceof DurationHistogram) this.duration = existing
    else {
      this.duration = new DurationHistogram(durationName, 'Time from request arrival to response headers')
      this.registry.registerMetric(this.duration as unknown as Metric)
    }
    this.tlsFailures = this.counter('mesh_proxy_tls_handshake_failures_total', 'TLS handshakes that failed (bad or missing certificate, wrong SPIFFE ID)', ['proxy', 'direction'])
    this.denials = this.counter('mesh_proxy_authorization_denials_total', 'Connections (l4) and requests (l7) refused by intentions', ['proxy', 'level', 'source'])
    this.retries = this.counter('mesh_proxy_retries_total', 'Retries sent, by upstream and reason', ['proxy', 'destination', 'reason'])
    this.routes = this.counter('mesh_proxy_route_requests_total', 'Requests a service-router route sent on, by upstream, route (its position in Routes; the default route is last) and destination service', ['proxy', 'upstream', 'route', 'destination'])
    this.ejections = this.counter('mesh_proxy_outlier_ejections_total', 'Endpoints ejected by outlier detection', ['proxy', 'destination'])
    this.listenerEvents = this.counter('mesh_proxy_listener_connections_closed_total',
      'Connections refused by a listener cap (listener-cap, source-cap) or closed by its handshake deadline or idle timeout', ['proxy', 'listener', 'reason'])
    const weightsName = 'mesh_proxy_split_weight'
    const existingWeights = this.registry.getSingleMetric(weightsName)
    this.splitWeights = existingWeights !== undefined
      ? existingWeights as Gauge<string>
      : new Gauge({ name: weightsName, help: 'Weight of each leg of the traffic split an upstream runs now, by subset ("" for every instance)', labelNames: ['proxy', 'destination', 'subset'], registers: [this.registry] })
  }

  /**
   * The split the upstream `destination` runs from now on: one series per leg, replacing the
   * previous split's; undefined (no split, or the upstream is gone) leaves no series.
   */
  setSplit (destination: string, legs: SplitLeg[] | undefined): void {
    for (const subset of this.splitSubsets.get(destination) ?? []) this.splitWeights.remove(this.proxyId, destination, subset)
    this.splitSubsets.delete(destination)
    if (legs === undefined || legs.length === 0) return
    const weights = new Map<string, number>()
    // Two legs to one subset draw it with their summed weight, as chooseSubset does.
    for (const leg of legs) weights.set(leg.subset, (weights.get(leg.subset) ?? 0) + Math.max(0, leg.weight))
    for (const [subset, weight] of weights) this.splitWeights.labels(this.proxyId, destination, subset).set(weight)
    this.splitSubsets.set(destination, [...weights.keys()])
  }

  /** A stopped sidecar runs no split: its series go from the (possibly shared) registry. */
  clearSplits (): void {
    for (const destination of [...this.splitSubsets.keys()]) this.setSplit(destination, undefined)
  }

  recordRequest (direction: Direction, source: string, destination: string, statusCode: number, seconds: number): void {
    this.totals.requests++
    let series = this.last
    if (series === null || series.statusCode !== statusCode || series.source !== source || series.direction !== direction || series.destination !== destination) {
      const key = `${direction}\u0000${source}\u0000${destination}\u0000${statusCode}`
      series = this.requestSeries.get(key) ?? null
      if (series === null) {
        series = {
          direction,
          source,
          destination,
          statusCode,
          count: this.requests.series({ proxy: this.proxyId, direction, source, destination, code: String(statusCode) }),
          duration: this.duration.series({ proxy: this.proxyId, direction, destination })
        }
        this.requestSeries.set(key, series)
      }
      this.last = series
    }
    series.count.value++
    series.duration.observe(seconds)
  }

  recordTlsFailure (direction: Direction): void {
    this.totals.tlsHandshakeFailures++
    this.tlsFailures.labels(this.proxyId, direction).inc()
  }

  recordDenial (level: 'l4' | 'l7', source: string): void {
    this.totals.authorizationDenials++
    this.denials.labels(this.proxyId, level, source).inc()
  }

  recordRetry (destination: string, reason: string): void {
    this.totals.retries++
    this.retries.labels(this.proxyId, destination, reason).inc()
  }

  /** A request an upstream's router sent on by route `index` to `destination`. */
  recordRoute (upstream: string, index: number, destination: string): void {
    this.routes.labels(this.proxyId, upstream, String(index), destination).inc()
  }

  recordEjection (destination: string): void {
    this.totals.ejections++
    this.ejections.labels(this.proxyId, destination).inc()
  }

  /** A connection refused or closed by a listener's limits (api/connection-limits.ts). */
  recordListenerEvent (listener: string, reason: string): void {
    this.listenerEvents.labels(this.proxyId, listener, reason).inc()
  }

  private counter (name: string, help: string, labelNames: string[]): Counter<string> {
    const existing = this.registry.getSingleMetric(name)
    if (existing !== undefined) return existing as Counter<string>
    return new Counter({ name, help, labelNames, registers: [this.registry] })
  }
}

const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

/** One label set of the duration histogram: per-bucket counts (not cumulative), sum and count. */
export class DurationSeries {
  readonly labels: Record<string, string>
  readonly counts = new Float64Array(DURATION_BUCKETS.length)
  sum = 0
  count = 0

  constructor (labels: Record<string, string>) {
    this.labels = labels
  }

  observe (seconds: number): void {
    for (let i = 0; i < DURATION_BUCKETS.length; i++) {
      if (seconds <= DURATION_BUCKETS[i]!) {
        this.counts[i]!++
        break
      }
    }
    this.sum += seconds
    this.count++
  }
}

/**
 * A metric family registered with prom-client whose series are made once per label set and then
 * updated by reference, skipping prom-client's label hashing on every request.
 */
class SeriesFamily<S> {
  readonly name: string
  readonly help: string
  readonly aggregator = 'sum'
  protected readonly all = new Map<string, S>()
  private readonly create: (labels: Record<string, string>) => S

  constructor (name: string, help: string, create: (labels: Record<string, string>) => S) {
    this.name = name
    this.help = help
    this.create = create
  }

  series (labels: Record<string, string>): S {
    const key = JSON.stringify(labels)
    let series = this.all.get(key)
    if (series === undefined) {
      series = this.create(labels)
      this.all.set(key, series)
    }
    return series
  }
}

/**
 * A histogram with prom-client's exposition (the registry calls get(), as for its own metrics:
 * cumulative `_bucket` series with `le` first, then `+Inf`, `_sum` and `_count`), whose series
 * are observed directly by reference.
 */
export class DurationHistogram extends SeriesFamily<DurationSeries> {
  readonly type = 'histogram'

  constructor (name: string, help: string) {
    super(name, help, (labels) => new DurationSeries(labels))
  }

  get (): { name: string, help: string, type: string, aggregator: string, values: Array<{ value: number, labels: Record<string, string | number>, metricName: string }> } {
    const values: Array<{ value: number, labels: Record<string, string | number>, metricName: string }> = []
    const bucketName = `${this.name}_bucket`
    for (const series of this.all.values()) {
      let cumulative = 0
      for (let i = 0; i < DURATION_BUCKETS.length; i++) {
        cumulative += series.counts[i]!
        values.push({ value: cumulative, labels: { le: DURATION_BUCKETS[i]!, ...series.labels }, metricName: bucketName })
      }
      values.push({ value: series.count, labels: { le: '+Inf', ...series.labels }, metricName: bucketName })
      values.push({ value: series.sum, labels: { ...series.labels }, metricName: `${this.name}_sum` })
      values.push({ value: series.count, labels: { ...series.labels }, metricName: `${this.name}_count` })
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values }
  }

  /** Registry.resetMetrics(): zero every series (the sidecars keep their references). */
  reset (): void {
    for (const series of this.all.values()) {
      series.counts.fill(0)
      series.sum = 0
      series.count = 0
    }
  }
}

/** The counter and histogram series one kind of request lands in. */
interface RequestSeries {
  direction: Direction
  source: string
  destination: string
  statusCode: number
  count: CounterSeries
  duration: DurationSeries
}

export class CounterSeries {
  readonly labels: Record<string, string>
  value = 0

  constructor (labels: Record<string, string>) {
    this.labels = labels
  }
}

/** A counter with prom-client's exposition whose series are incremented directly by reference. */
export class RequestCounter extends SeriesFamily<CounterSeries> {
  readonly type = 'counter'

  constructor (name: string, help: string) {
    super(name, help, (labels) => new CounterSeries(labels))
  }

  get (): { help: string, name: string, type: string, values: Array<{ value: number, labels: Record<string, string> }>, aggregator: string } {
    const values: Array<{ value: number, labels: Record<string, string> }> = []
    for (const series of this.all.values()) values.push({ value: series.value, labels: series.labels })
    return { help: this.help, name: this.name, type: this.type, values, aggregator: this.aggregator }
  }

  /** Registry.resetMetrics(): zero every series (the sidecars keep their references). */
  reset (): void {
    for (const series of this.all.values()) series.value = 0
  }
}
