// Property: for every request to the HTTP API (any route, any path parameters, query string and
// body, well-formed or not), the agent answers without crashing and without a 5xx, and a request it
// refuses (4xx) stores nothing. Fixed seed (fuzz.ts); regressions replayed first (regressions.ts).
import t from 'tap'
import fc from 'fast-check'
import { anyJson, anyText, assertReached, fuzzParameters } from './fuzz.ts'
import { httpRegressions } from './regressions.ts'
import { startHttpHarness } from './http-harness.ts'
import type { HttpHarness } from './http-harness.ts'

export interface HttpCase {
  method: string
  /** The route's URL with its parameters filled in (already encoded). */
  url: string
  query: Record<string, string>
  /** A JSON value sent as JSON, raw text sent as is, or no body. */
  body?: { json: unknown } | { raw: string }
}

// Blocking parameters are left out: a fuzzed `?index=…&wait=…` would legitimately wait minutes.
const BLOCKING_KEYS = new Set(['index', 'wait'])
// Takes no input and generates a root each time (expensive and tested elsewhere).
const SKIPPED_ROUTES = new Set(['POST /v1/mesh/ca/rotate'])
const QUERY_KEYS = ['filter', 'tag', 'node-meta', 'dc', 'passing', 'pretty', 'ns', 'stale', 'wan', 'segment', 'replace-existing-checks',
  'source', 'destination', 'by-name', 'cas', 'validate', 'note', 'format', 'hash', 'prune', 'kind', 'name', 'cached', 'near']

/** Percent-encodes text as its UTF-8 bytes (a lone surrogate becomes U+FFFD, as any client would send it). */
const encode = (text: string): string => text.isWellFormed()
  ? encodeURIComponent(text)
  : [...Buffer.from(text, 'utf8')].map(byte => `%${byte.toString(16).padStart(2, '0')}`).join('')

/** One path segment: encoded arbitrary text, or raw percent and dot sequences that may be malformed. */
const segment = fc.oneof(
  anyText().map(encode),
  fc.string({ minLength: 1, maxLength: 12, unit: fc.constantFrom('%', 'E', 'D', 'A', '0', '8', 'f', 'z', '.', '~', '-', '2', 'F') }),
  fc.constantFrom('web', 'web-1', 'service:web', 'node-1', 'service-defaults', 'proxy-defaults', 'api', 'global')
)

const queryValue = fc.oneof(anyText(), fc.constantFrom('true', 'false', '1', '', 'dc1', 'dc2', 'Service == "web"', 'ServiceMeta.x ==', 'web', 'a:b'))

const bodyArbitrary: fc.Arbitrary<HttpCase['body']> = fc.oneof(
  fc.constant(undefined),
  anyJson().map(json => ({ json })),
  anyText(200).map(raw => ({ raw })),
  fc.record({ Name: anyText(), ID: anyText(), Port: anyJson(1), Kind: fc.constantFrom('connect-proxy', 'service-defaults', 'proxy-defaults', 'x'), Check: anyJson(3), Connect: anyJson(3), Proxy: anyJson(3) }, { requiredKeys: [] }).map(json => ({ json }))
)

function caseFor (harness: HttpHarness): fc.Arbitrary<HttpCase> {
  const routes = harness.routes.filter(route => !SKIPPED_ROUTES.has(`${route.method} ${route.url}`))
  return fc.record({
    route: fc.constantFrom(...routes),
    params: fc.array(segment, { minLength: 3, maxLength: 3 }),
    query: fc.dictionary(fc.oneof(fc.constantFrom(...QUERY_KEYS), anyText(8)), queryValue, { maxKeys: 4 }),
    body: bodyArbitrary,
  }).map(({ route, params, query, body }) => {
    let next = 0
    const url = route.url.replace(/:[A-Za-z]+/g, () => params[next++ % params.length])
    return { method: route.method, url, query, body }
  })
}

export async function send (harness: HttpHarness, request: HttpCase): Promise<{ statusCode: number, body: string }> {
  const query = Object.entries(request.query).filter(([key]) => !BLOCKING_KEYS.has(key))
  const search = query.length === 0 ? '' : '?' + query.map(([key, value]) => `${encode(key)}=${encode(value)}`).join('&')
  const payload = request.body === undefined ? undefined : 'raw' in request.body ? request.body.raw : JSON.stringify(request.body.json)
  const response = await harness.app.inject({ method: request.method as 'GET', url: request.url + search, payload })
  return { statusCode: response.statusCode, body: response.body }
}

/** Consul answers a request for another datacenter with 500 "No path to datacenter"; mesh does the same. */
const consulsNoPathToDatacenter = (response: { statusCode: number, body: string }): boolean =>
  response.statusCode === 500 && response.body === 'No path to datacenter'

t.test('every request is answered without a 5xx, and a refused one stores nothing', async t => {
  const harness = await startHttpHarness(t)
  t.ok(harness.routes.length > 40, `${harness.routes.length} routes are fuzzed`)
  const statuses = new Map<number, number>()
  await fc.assert(fc.asyncProperty(caseFor(harness), async request => {
    const before = harness.state()
    const response = await send(harness, request)
    statuses.set(response.statusCode, (statuses.get(response.statusCode) ?? 0) + 1)
    if (response.statusCode >= 500 && !consulsNoPathToDatacenter(response)) throw new Error(`${response.statusCode}: ${response.body.slice(0, 200)}`)
    if (response.statusCode >= 400 && harness.state() !== before) throw new Error(`refused with ${response.statusCode} but the catalog changed`)
  }), fuzzParameters(400, httpRegressions.map(request => [request] as [HttpCase])))
  assertReached(t, (statuses.get(200) ?? 0) > 0 && [...statuses.keys()].some(status => status >= 400), `both accepted and refused requests were exercised: ${JSON.stringify(Object.fromEntries(statuses))}`)
})

/** Mostly `valid`, sometimes `odd`: keeps near-valid bodies near enough to reach the stores. */
const mostly = <T, U> (valid: fc.Arbitrary<T>, odd: fc.Arbitrary<U>): fc.Arbitrary<T | U> =>
  fc.oneof({ weight: 5, arbitrary: valid }, { weight: 1, arbitrary: odd })

t.test('registrations near the valid shape: no 5xx, and a refused one stores nothing', async t => {
  const harness = await startHttpHarness(t)
  const service = fc.record({
    Name: mostly(fc.constantFrom('web', 'api'), anyText()),
    ID: mostly(fc.constantFrom('web-1', ''), anyText()),
    Port: mostly(fc.integer({ min: -1, max: 70000 }), anyJson(1)),
    Tags: mostly(fc.array(fc.constantFrom('v1', 'v2'), { maxLength: 3 }), anyJson(2)),
    Meta: mostly(fc.dictionary(fc.constantFrom('version', 'team'), anyText()), anyJson(2)),
    Kind: mostly(fc.constant(''), fc.constantFrom('connect-proxy', 'mesh-gateway')),
    Proxy: mostly(fc.record({ DestinationServiceName: anyText(), LocalServicePort: fc.integer({ min: 0, max: 70000 }), Upstreams: fc.array(fc.record({ DestinationName: anyText(), LocalBindPort: fc.integer({ min: 0, max: 70000 }), Config: anyJson(3) }, { requiredKeys: [] }), { maxLength: 2 }), Config: anyJson(3) }, { requiredKeys: [] }), anyJson(2)),
    Connect: mostly(fc.record({ Native: fc.boolean(), SidecarService: mostly(fc.constant({}), anyJson(3)) }, { requiredKeys: [] }), anyJson(2)),
    Check: mostly(fc.record({ CheckID: mostly(fc.constantFrom('c1', 'c2'), anyText()), Name: anyText(), TTL: fc.constantFrom('10s', 'x', '-1s', '') }, { requiredKeys: [] }), anyJson(2)),
    Weights: mostly(fc.record({ Passing: fc.integer({ min: 0, max: 3 }), Warning: fc.integer({ min: 0, max: 3 }) }), anyJson(2)),
  }, { requiredKeys: ['Name'] })
  const request = fc.oneof(
    service.map(json => ({ method: 'PUT', url: '/v1/agent/service/register', query: {}, body: { json } }) as HttpCase),
    fc.record({ Name: mostly(fc.constantFrom('disk', 'mem'), anyText()), CheckID: anyText(), ServiceID: mostly(fc.constant('web-1'), anyText()), TTL: fc.constantFrom('10s', 'x') }, { requiredKeys: ['Name'] })
      .map(json => ({ method: 'PUT', url: '/v1/agent/check/register', query: {}, body: { json } }) as HttpCase),
    fc.record({ Kind: fc.constantFrom('service-defaults', 'proxy-defaults', 'service-intentions', 'service-router', 'service-splitter', 'service-resolver', 'x'), Name: mostly(fc.constantFrom('web', 'global'), anyText()), Protocol: fc.constantFrom('http', 'tcp', 'grpc', 'x'), Sources: anyJson(3), Routes: anyJson(3), Splits: anyJson(3), Config: anyJson(3) }, { requiredKeys: ['Kind', 'Name'] })
      .map(json => ({ method: 'PUT', url: '/v1/config', query: {}, body: { json } }) as HttpCase),
    fc.record({ SourceName: mostly(fc.constantFrom('web', 'db'), anyText()), DestinationName: mostly(fc.constant('api'), anyText()), Action: mostly(fc.constantFrom('allow', 'deny'), fc.constant('x')), Permissions: anyJson(3), Meta: mostly(fc.constant({}), anyJson(2)), Description: anyText() }, { requiredKeys: ['SourceName', 'DestinationName', 'Action'] })
      .map(json => ({ method: 'POST', url: '/v1/connect/intentions', query: {}, body: { json } }) as HttpCase),
    // CA configuration; key types and sizes kept to EC, so an accepted change costs one quick EC root.
    fc.record({
      Provider: mostly(fc.constant('consul'), anyText()),
      Config: mostly(fc.record({
        LeafCertTTL: fc.constantFrom('72h', '1h', '30m', '9000h', 'x', ''),
        IntermediateCertTTL: fc.constantFrom('8760h', '1h', 'x'),
        RootCertTTL: fc.constantFrom('87600h', '1h', 'x'),
        PrivateKeyType: fc.constantFrom('ec', 'x', ''),
        PrivateKeyBits: fc.constantFrom(256, 384, 1, -1),
        CSRMaxPerSecond: anyJson(1),
        RootCert: mostly(fc.constant(undefined), anyText(100)),
      }, { requiredKeys: [] }), anyJson(2)),
    }, { requiredKeys: [] }).map(json => ({ method: 'PUT', url: '/v1/connect/ca/configuration', query: {}, body: { json } }) as HttpCase)
  )
  let accepted = 0
  await fc.assert(fc.asyncProperty(request, async request => {
    const before = harness.state()
    const response = await send(harness, request)
    if (response.statusCode >= 500) throw new Error(`${response.statusCode}: ${response.body.slice(0, 200)}`)
    if (response.statusCode >= 400 && harness.state() !== before) throw new Error(`refused with ${response.statusCode} but the catalog changed`)
    if (response.statusCode < 300) accepted++
  }), fuzzParameters(400))
  assertReached(t, accepted > 0, `${accepted} near-valid requests were accepted (the generator reaches the stores)`)
})
