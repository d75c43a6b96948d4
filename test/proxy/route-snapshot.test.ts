// The router's part of a snapshot: it travels to a standalone sidecar intact, a wrongly typed
// field is refused naming it, and a snapshot whose routes cannot run is refused before it applies.

import t from 'tap'
import { parseSidecarSnapshotBody } from '../../proxy/snapshot-wire.ts'
import type { ProxySnapshotData } from '../../proxy/snapshot-wire.ts'
import { validateSnapshot } from '../../proxy/validate.ts'
import { testPki, cleanupPki } from './fixtures/certs.ts'
import { endpoint, snapshotFor, upstream } from './fixtures/mesh.ts'
import type { ProxySnapshot, RouteSnapshot } from '../../proxy/snapshot.ts'

t.teardown(cleanupPki)

const routes: RouteSnapshot[] = [
  {
    match: { pathPrefix: '/v2/', headers: [{ name: 'x-beta', regex: '[01]', invert: true }], queryParams: [{ name: 'q', present: true }], methods: ['GET'] },
    destination: 'api-v2',
    subset: 'v1',
    prefixRewrite: '/',
    requestTimeoutMs: 2000,
    numRetries: 2,
    retryOnConnectFailure: true,
    retryOnStatusCodes: [503],
    retryOn: ['reset'],
    requestHeaders: { add: { 'x-a': '1' }, set: { 'x-b': '2' }, remove: ['x-c'] },
    responseHeaders: { set: { 'x-d': '4' } },
  },
  { match: {}, destination: 'api' },
]

function routed (): ProxySnapshot {
  const pki = testPki()
  const base = snapshotFor({ service: 'web', leaf: pki.web, pki, appPort: 8080 })
  return {
    ...base,
    upstreams: [upstream([endpoint('api-1', 21001)], {
      routes,
      destinations: [{ name: 'api-v2', endpoints: [endpoint('api-v2-1', 21002, 'api-v2')], connectTimeoutMs: 1000, requestTimeoutMs: 5000, split: [{ subset: 'v1', weight: 100 }] }],
    })],
  }
}

t.test('routes and destinations travel to a standalone sidecar intact', async (t) => {
  const { authorize: _authorize, ...data } = routed()
  const body = { ProxyID: data.proxyId, Snapshot: data, Intentions: [], DefaultIntentionPolicy: 'allow' }
  const parsed = parseSidecarSnapshotBody(JSON.parse(JSON.stringify(body)))
  t.same(parsed.snapshot, data as ProxySnapshotData)
  const wrong = JSON.parse(JSON.stringify(body)) as { Snapshot: { upstreams: Array<{ routes: Array<{ match: { headers: Array<{ invert: unknown }> } }> }> } }
  wrong.Snapshot.upstreams[0]!.routes[0]!.match.headers[0]!.invert = 'yes'
  t.throws(() => parseSidecarSnapshotBody(wrong), /Snapshot\.upstreams\[0\]\.routes\[0\]\.match\.headers\[0\]\.invert must be a boolean/)
})

t.test('a snapshot whose routes cannot run is refused whole', async (t) => {
  t.doesNotThrow(() => { validateSnapshot(routed()) })
  const unknown = routed()
  unknown.upstreams[0]!.routes = [{ match: {}, destination: 'nowhere' }]
  t.throws(() => { validateSnapshot(unknown) }, { code: 'MESH_ERR_PROXY_INVALID_SNAPSHOT', message: /route 0 leads to nowhere, which the snapshot does not resolve/ })
  const regex = routed()
  regex.upstreams[0]!.routes = [{ match: { pathRegex: '(a)\\1' }, destination: 'api' }]
  t.throws(() => { validateSnapshot(regex) }, { code: 'MESH_ERR_PROXY_INVALID_SNAPSHOT', message: /pathRegex: invalid regular expression/ })
  const retries = routed()
  retries.upstreams[0]!.routes = [{ match: {}, destination: 'api', numRetries: -1 }]
  t.throws(() => { validateSnapshot(retries) }, { message: /numRetries must be a non-negative integer/ })
})
