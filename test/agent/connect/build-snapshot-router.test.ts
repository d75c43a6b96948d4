// The router in the snapshot: routes in order, the default route to the upstream last, and each
// route's destination resolved on its own (router → splitter → resolver, as Consul's chain).

import t from 'tap'
import { buildProxySnapshot } from '../../../agent/connect/build-snapshot.ts'
import type { SnapshotInputs } from '../../../agent/connect/build-snapshot.ts'
import type { HealthServiceResult, ServiceRecord } from '../../../api/catalog-types.ts'
import { snapshotInputs } from './snapshot-inputs.ts'

function sidecar (service: string, id: string, port: number, version: string): HealthServiceResult {
  return {
    Node: { Node: 'n1', ID: 'n1', Address: '10.0.0.1', Datacenter: 'dc1', TaggedAddresses: {}, Meta: {}, CreateIndex: 1, ModifyIndex: 1 },
    Service: {
      ID: `${id}-sidecar-proxy`, Service: `${service}-sidecar-proxy`, Kind: 'connect-proxy', Tags: [], Address: '', Port: port,
      Meta: { version }, Weights: { Passing: 1, Warning: 1 }, EnableTagOverride: false,
      Proxy: { DestinationServiceName: service, DestinationServiceID: id }, CreateIndex: 1, ModifyIndex: 1,
    },
    Checks: [],
  }
}

const proxy: ServiceRecord = {
  ID: 'web-sidecar-proxy', Service: 'web-sidecar-proxy', Kind: 'connect-proxy', Tags: [], Address: '', Port: 21000, Meta: {},
  Weights: { Passing: 1, Warning: 1 }, EnableTagOverride: false,
  Proxy: { DestinationServiceName: 'web', LocalServicePort: 8080, Upstreams: [{ DestinationName: 'api', LocalBindPort: 9191 }] },
}

const instances: Record<string, HealthServiceResult[]> = {
  api: [sidecar('api', 'api-1', 21001, 'v1'), sidecar('api', 'api-2', 21002, 'v2')],
  'api-v2': [sidecar('api-v2', 'api-v2-1', 21011, 'v1')],
  orders: [sidecar('orders', 'orders-1', 21021, 'blue'), sidecar('orders', 'orders-2', 21022, 'green')],
}

function inputs (entries: Record<string, Record<string, unknown>>, warnings: string[] = []): SnapshotInputs {
  return snapshotInputs(proxy, (service) => instances[service] ?? [], entries, warnings)
}

const http = { 'proxy-defaults/global': { Config: { protocol: 'http' } } }

t.test('routes in order, default route last, each destination with its own endpoints, splitter and resolver', async (t) => {
  const snapshot = buildProxySnapshot(inputs({
    ...http,
    'service-router/api': {
      Routes: [
        {
          Match: { HTTP: { PathPrefix: '/v2/', Header: [{ Name: 'X-Beta', Exact: '1', Invert: true }], QueryParam: [{ Name: 'q', Present: true }], Methods: ['get'] } },
          Destination: { Service: 'api-v2', PrefixRewrite: '/', RequestTimeout: '2s', NumRetries: 2, RetryOnStatusCodes: [503], RetryOn: ['reset'], RetryOnConnectFailure: true, RequestHeaders: { Set: { 'X-A': '1' }, Remove: ['X-B'] }, ResponseHeaders: { Add: { 'X-C': '3' } } },
        },
        { Match: { HTTP: { PathRegex: '/orders/.*' } }, Destination: { Service: 'orders' } },
        { Match: { HTTP: { PathExact: '/canary' } }, Destination: { ServiceSubset: 'v2' } },
      ],
    },
    'service-resolver/orders': { Subsets: { blue: { Filter: 'Service.Meta.version == blue' }, green: { Filter: 'Service.Meta.version == green' } }, ConnectTimeout: '1s', RequestTimeout: '3s' },
    'service-splitter/orders': { Splits: [{ Weight: 80, ServiceSubset: 'blue' }, { Weight: 20, ServiceSubset: 'green' }] },
  }))
  const [upstream] = snapshot.upstreams
  t.same(upstream!.routes, [
    {
      match: { pathPrefix: '/v2/', headers: [{ name: 'x-beta', exact: '1', invert: true }], queryParams: [{ name: 'q', present: true }], methods: ['GET'] },
      destination: 'api-v2',
      prefixRewrite: '/',
      requestTimeoutMs: 2000,
      numRetries: 2,
      retryOnConnectFailure: true,
      retryOnStatusCodes: [503],
      retryOn: ['reset'],
      requestHeaders: { set: { 'x-a': '1' }, remove: ['x-b'] },
      responseHeaders: { add: { 'x-c': '3' } },
    },
    { match: { pathRegex: '/orders/.*' }, destination: 'orders' },
    { match: { pathExact: '/canary' }, destination: 'api', subset: 'v2' },
    { match: {}, destination: 'api' },
  ])
  t.same(upstream!.destinations!.map((destination) => destination.name), ['api-v2', 'orders'], 'every other service a route leads to')
  const orders = upstream!.destinations!.find((destination) => destination.name === 'orders')!
  t.same(orders.endpoints.map((endpoint) => [endpoint.id, endpoint.subset, endpoint.spiffeId.endsWith('/svc/orders')]), [
    ['n1/orders-1-sidecar-proxy', 'blue', true],
    ['n1/orders-2-sidecar-proxy', 'green', true],
  ], 'the destination\'s own instances, labelled by its own resolver')
  t.same([orders.connectTimeoutMs, orders.requestTimeoutMs], [1000, 3000], 'its resolver\'s timeouts')
  t.same(orders.split, [{ subset: 'blue', weight: 80 }, { subset: 'green', weight: 20 }], 'its own splitter')
  const v2 = upstream!.destinations!.find((destination) => destination.name === 'api-v2')!
  t.same(v2.endpoints.map((endpoint) => endpoint.port), [21011])
  t.equal(v2.split, undefined)
})

t.test('no router: no routes; a router on a tcp upstream is ignored with a warning', async (t) => {
  t.equal(buildProxySnapshot(inputs(http)).upstreams[0]!.routes, undefined)
  const warnings: string[] = []
  const snapshot = buildProxySnapshot(inputs({ 'service-router/api': { Routes: [{ Destination: { Service: 'api-v2' } }] } }, warnings))
  t.equal(snapshot.upstreams[0]!.routes, undefined)
  t.match(warnings, [/service-router api: ignored, the service's protocol is tcp/])
})
