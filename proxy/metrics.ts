// The sidecar's Prometheus metrics (prom-client). Every series carries `proxy` (the proxy id) so
// several sidecars can share one registry in one agent process; a metric already registered by
// another sidecar is reused. Children are cached per label set because prom-client hashes label
// objects on every `labels()` call, which would cost on each request.

import { Counter, Histogram, Registry } from 'prom-client'
import type { Direction } from './handler.ts'

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
  private readonly requests: Counter<string>
  private readonly duration: Histogram<string>
  private readonly tlsFailures: Counter<string>
  private readonly denials: Counter<string>
  private readonly retries: Counter<string>
  private readonly ejections: Counter<string>
  private readonly requestChildren = new Map<string, Counter.Internal>()
  private readonly durationChildren = new Map<string, Histogram.Internal<string>>()
  readonly totals: ProxyMetricsSnapshot = { requests: 0, retries: 0, ejections: 0, authorizationDenials: 0, tlsHandshakeFailures: 0 }

  constructor (proxyId: string, registry?: Registry) {
    this.registry = registry ?? new Registry()
    this.proxyId = proxyId
    this.requests = this.counter('mesh_proxy_requests_total', 'Requests answered, by direction, source and destination service and status code', ['proxy', 'direction', 'source', 'destination', 'code'])
    this.duration = this.histogram('mesh_proxy_request_duration_seconds', 'Time from request arrival to response headers', ['proxy', 'direction', 'destination'])
    this.tlsFailures = this.counter('mesh_proxy_tls_handshake_failures_total', 'TLS handshakes that failed (bad or missing certificate, wrong SPIFFE ID)', ['proxy', 'direction'])
    this.denials = this.counter('mesh_proxy_authorization_denials_total', 'Connections (l4) and requests (l7) refused by intentions', ['proxy', 'level', 'source'])
    this.retries = this.counter('mesh_proxy_retries_total', 'Retries sent, by upstream and reason', ['proxy', 'destination', 'reason'])
    this.ejections = this.counter('mesh_proxy_outlier_ejections_total', 'Endpoints ejected by outlier detection', ['proxy', 'destination'])
  }

  recordRequest (direction: Direction, source: string, destination: string, statusCode: number, seconds: number): void {
    this.totals.requests++
    const key = `${direction}\u0000${source}\u0000${destination}\u0000${statusCode}`
    let counter = this.requestChildren.get(key)
    if (counter === undefined) {
      counter = this.requests.labels(this.proxyId, direction, source, destination, String(statusCode))
      this.requestChildren.set(key, counter)
    }
    counter.inc()
    const durationKey = `${direction}\u0000${destination}`
    let histogram = this.durationChildren.get(durationKey)
    if (histogram === undefined) {
      histogram = this.duration.labels(this.proxyId, direction, destination)
      this.durationChildren.set(durationKey, histogram)
    }
    histogram.observe(seconds)
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

  recordEjection (destination: string): void {
    this.totals.ejections++
    this.ejections.labels(this.proxyId, destination).inc()
  }

  private counter (name: string, help: string, labelNames: string[]): Counter<string> {
    const existing = this.registry.getSingleMetric(name)
    if (existing !== undefined) return existing as Counter<string>
    return new Counter({ name, help, labelNames, registers: [this.registry] })
  }

  private histogram (name: string, help: string, labelNames: string[]): Histogram<string> {
    const existing = this.registry.getSingleMetric(name)
    if (existing !== undefined) return existing as Histogram<string>
    return new Histogram({
      name,
      help,
      labelNames,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [this.registry]
    })
  }
}
