// The snapshot a sidecar runs on, built from registrations, health and config entries.

import t from 'tap'
import { buildProxySnapshot, protocolOf } from '../../../agent/connect/build-snapshot.ts'
import type { SnapshotInputs } from '../../../agent/connect/build-snapshot.ts'
import type { HealthServiceResult } from '../../../api/catalog-types.ts'
import type { ServiceRecord } from '../../../api/catalog-types.ts'
import { snapshotInputs, TD } from './snapshot-inputs.ts'

function sidecar (node: string, id: string, port: number, version: string, status: 'passing' | 'warning' | 'critical'): HealthServiceResult {
  return {
    Node: { Node: node, ID: node, Address: `10.0.0.${port % 250}`, Datacenter: 'dc1', TaggedAddresses: {}, Meta: {}, CreateIndex: 1, ModifyIndex: 1 },
    Service: {
      ID: `${id}-sidecar-proxy`, Service: 'api-sidecar-proxy', Kind: 'connect-proxy', Tags: [], Address: '', Port: port,
      Meta: { version }, Weights: { Passing: 3, Warning: 1 }, EnableTagOverride: false,
      Proxy: { DestinationServiceName: 'api', DestinationServiceID: id }, CreateIndex: 1, ModifyIndex: 1,
    },
    Checks: [{ Node: node, CheckID: 'c', Name: 'c', Status: status, Notes: '', Output: '', ServiceID: '', ServiceName: '', ServiceTags: [], Type: 'tcp', CreateIndex: 1, ModifyIndex: 1 }],
  }
}

const proxy: ServiceRecord = {
  ID: 'web-sidecar-proxy', Service: 'web-sidecar-proxy', Kind: 'connect-proxy', Tags: [], Address: '', Port: 21000, Meta: {},
  Weights: { Passing: 1, Warning: 1 }, EnableTagOverride: false,
  Proxy: { DestinationServiceName: 'web', LocalServiceAddress: '127.0.0.1', LocalServicePort: 8080, Upstreams: [{ DestinationName: 'api', LocalBindPort: 9191 }] },
}

const apiSidecars = [sidecar('n1', 'api-1', 21001, 'v1', 'passing'), sidecar('n2', 'api-2', 21002, 'v2', 'warning'), sidecar('n3', 'api-3', 21003, 'v1', 'critical')]

function inputs (entries: Record<string, Record<string, unknown>>, warnings: string[] = []): SnapshotInputs {
  return snapshotInputs(proxy, (service) => service === 'api' ? apiSidecars : [], entries, warnings)
}

t.test('protocol comes from service-defaults, then proxy-defaults, else tcp as in Consul', async (t) => {
  t.equal(protocolOf(inputs({}), 'api'), 'tcp')
  t.equal(protocolOf(inputs({ 'service-defaults/api': { Protocol: 'http' } }), 'api'), 'http')
  t.equal(protocolOf(inputs({ 'service-defaults/api': { Protocol: 'grpc' } }), 'api'), 'http2')
  t.equal(protocolOf(inputs({ 'proxy-defaults/global': { Config: { protocol: 'http' } } }), 'api'), 'http')
})

t.test('endpoints are the destination\'s non-critical sidecars with their weights and SPIFFE IDs', async (t) => {
  const snapshot = buildProxySnapshot(inputs({}))
  const [upstream] = snapshot.upstreams
  t.same(upstream.endpoints.map((endpoint) => [endpoint.id, endpoint.address, endpoint.port, endpoint.weight]), [
    ['n1/api-1-sidecar-proxy', '10.0.0.1', 21001, 3],
    ['n2/api-2-sidecar-proxy', '10.0.0.2', 21002, 1],
  ])
  t.equal(upstream.endpoints[0].spiffeId, `spiffe://${TD}/ns/default/dc/dc1/svc/api`)
  t.equal(upstream.localBindAddress, '127.0.0.1')
  t.equal(upstream.connectTimeoutMs, 5000)
  t.equal(snapshot.inbound.bindAddress, '10.0.0.1', 'the inbound listener binds the node address when the proxy has none')
  t.equal(snapshot.inbound.localServicePort, 8080)
})

t.test('resolver subsets label endpoints and the splitter weighs them (canary)', async (t) => {
  const snapshot = buildProxySnapshot(inputs({
    'service-resolver/api': { Subsets: { v1: { Filter: 'Service.Meta.version == v1' }, v2: { Filter: 'Service.Meta.version == v2' } }, ConnectTimeout: '2s', RequestTimeout: '750ms' },
    'service-splitter/api': { Splits: [{ Weight: 90, ServiceSubset: 'v1' }, { Weight: 10, ServiceSubset: 'v2' }] },
  }))
  const [upstream] = snapshot.upstreams
  t.same(upstream.endpoints.map((endpoint) => endpoint.subset), ['v1', 'v2'])
  t.same(upstream.split, [{ subset: 'v1', weight: 90 }, { subset: 'v2', weight: 10 }])
  t.equal(upstream.connectTimeoutMs, 2000)
  t.equal(upstream.requestTimeoutMs, 750)
})

t.test('rate limits per service, route and consumer, and faults, come from the service\'s own defaults', async (t) => {
  const snapshot = buildProxySnapshot(inputs({
    'service-defaults/web': {
      Protocol: 'http',
      RateLimits: {
        InstanceLevel: { RequestsPerSecond: 100, RequestsMaxBurst: 200, Routes: [{ PathPrefix: '/admin', RequestsPerSecond: 5 }] },
        Consumers: [{ Name: 'batch', RequestsPerSecond: 2, RequestsMaxBurst: 4 }],
      },
      FaultInjection: [{ PathPrefix: '/slow', DelayMs: 250, DelayPercent: 50 }, { AbortStatusCode: 503, AbortPercent: 5 }],
    },
  }))
  t.equal(snapshot.inbound.protocol, 'http')
  t.same(snapshot.inbound.rateLimits, [
    { scope: 'service', requestsPerSecond: 100, burst: 200 },
    { scope: 'path', pathPrefix: '/admin', requestsPerSecond: 5, burst: 5 },
    { scope: 'consumer', consumer: 'batch', requestsPerSecond: 2, burst: 4 },
  ])
  t.same(snapshot.inbound.faults, [
    { pathPrefix: '/slow', delayMs: 250, delayPercent: 50 },
    { abortStatusCode: 503, abortPercent: 5 },
  ])
})

t.test('limits and abort statuses that are not whole numbers are ignored, since the proxy refuses a snapshot carrying them', async (t) => {
  const snapshot = buildProxySnapshot(inputs({
    'service-defaults/web': { Protocol: 'http', FaultInjection: [{ AbortStatusCode: 503.5 }] },
    'service-defaults/api': { UpstreamConfig: { Defaults: { Limits: { MaxConnections: 1.5, MaxConcurrentRequests: 8 } } } },
  }))
  t.equal(snapshot.inbound.faults, undefined)
  t.same(snapshot.upstreams[0].limits, { maxConcurrentRequests: 8 })
})

t.test('a fault share of 0 % injects into no request, and an absent share into every one', async (t) => {
  const snapshot = buildProxySnapshot(inputs({
    'service-defaults/web': {
      Protocol: 'http',
      FaultInjection: [{ DelayMs: 100, DelayPercent: 0 }, { AbortStatusCode: 500, AbortPercent: 0 }, { AbortStatusCode: 503 }],
    },
  }))
  t.same(snapshot.inbound.faults, [
    { delayMs: 100, delayPercent: 0 },
    { abortStatusCode: 500, abortPercent: 0 },
    { abortStatusCode: 503, abortPercent: 100 },
  ])
})

t.test('a broken entry is reported and ignored, never fatal', async (t) => {
  const warnings: string[] = []
  const snapshot = buildProxySnapshot(inputs({ 'service-resolver/api': { ConnectTimeout: 'soon', Subsets: { v1: { Filter: 'Service.Meta.version ==' } } } }, warnings))
  t.equal(snapshot.upstreams[0].connectTimeoutMs, 5000)
  t.equal(warnings.length, 2)
  t.match(warnings.join('\n'), /ConnectTimeout: invalid duration/)
})
