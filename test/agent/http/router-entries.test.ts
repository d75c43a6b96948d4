// service-router entries are checked at write time with Consul's rules and messages: each refusal
// names the route and field, and a router on a service that does not speak HTTP is refused.

import t from 'tap'
import { validateTrafficEntry } from '../../../agent/http/traffic-entries.ts'
import { checkRouterProtocols, validateGenericEntry } from '../../../agent/http/config-routes.ts'

const router = (routes: unknown[]): Record<string, unknown> => ({ Kind: 'service-router', Name: 'api', Routes: routes })
const http = (match: Record<string, unknown>, destination: Record<string, unknown> = { Service: 'api-v2' }): Record<string, unknown> => ({ Match: { HTTP: match }, Destination: destination })

t.test('Consul-shaped routers are accepted', async (t) => {
  const valid = [
    router([]),
    router([http({ PathPrefix: '/v2' }, { Service: 'api-v2', PrefixRewrite: '/', RequestTimeout: '2s', IdleTimeout: '30s', NumRetries: 3, RetryOnConnectFailure: true, RetryOnStatusCodes: [503, 502], RetryOn: ['5xx', 'reset'] })]),
    router([http({ PathExact: '/login', Methods: ['get', 'POST'] }, { ServiceSubset: 'v1', RequestHeaders: { Add: { 'x-a': '1' }, Set: { 'x-b': '2' }, Remove: ['x-c'] }, ResponseHeaders: { Set: { 'x-route': 'login' } } })]),
    router([http({ PathRegex: '/users/[0-9]+', Header: [{ Name: 'x-debug', Present: true, Invert: true }, { Name: 'x-v', Regex: 'v[12]' }], QueryParam: [{ Name: 'beta', Exact: '1' }, { Name: 'q', Present: true }] })]),
    router([{ Destination: { Service: 'api-v2' } }]),
  ]
  for (const entry of valid) t.doesNotThrow(() => validateGenericEntry(entry), JSON.stringify(entry))
})

const refusals: Array<[string, Record<string, unknown>, RegExp]> = [
  ['two path matchers', router([http({ PathExact: '/a', PathPrefix: '/a' })]), /Route\[0\] should only contain at most one of PathExact, PathPrefix, or PathRegex/],
  ['a path without a leading slash', router([http({ PathPrefix: 'v2' })]), /Route\[0\] PathPrefix doesn't start with '\/'/],
  ['an exact path without a leading slash', router([http({ PathExact: 'v2' })]), /Route\[0\] PathExact doesn't start with '\/'/],
  ['a path regex that does not compile', router([http({ PathRegex: '/(a' })]), /Route\[0\] PathRegex: invalid regular expression/],
  ['a path regex that can backtrack without bound', router([http({ PathRegex: '(a)\\1' })]), /Route\[0\] PathRegex: invalid regular expression/],
  ['a header without a name', router([http({ Header: [{ Exact: 'x' }] })]), /Route\[0\] Header\[0\] missing required Name field/],
  ['a header with two match kinds', router([http({ Header: [{ Name: 'x', Exact: 'a', Prefix: 'b' }] })]), /Route\[0\] Header\[0\] should only contain one of Present, Exact, Prefix, Suffix, or Regex/],
  ['a header with no match kind', router([http({ Header: [{ Name: 'x', Invert: true }] })]), /Header\[0\] should only contain one of/],
  ['a header regex that does not compile', router([http({ Header: [{ Name: 'x', Regex: '[' }] })]), /Route\[0\] Header\[0\]\.Regex: invalid regular expression/],
  ['a query parameter with two match kinds', router([http({ QueryParam: [{ Name: 'q', Present: true, Exact: '1' }] })]), /QueryParam\[0\] should only contain one of Present, Exact, or Regex/],
  ['a query parameter without a name', router([http({ QueryParam: [{ Exact: '1' }] })]), /QueryParam\[0\] missing required Name field/],
  ['an unknown method', router([http({ Methods: ['FETCH'] })]), /Methods contains an invalid method "FETCH"/],
  ['a repeated method', router([http({ Methods: ['GET', 'get'] })]), /Methods contains "GET" more than once/],
  ['a prefix rewrite without a path prefix', router([http({ PathRegex: '/a.*' }, { PrefixRewrite: '/' })]), /cannot make use of PrefixRewrite without configuring either PathExact or PathPrefix/],
  ['an unknown retry condition', router([http({ PathPrefix: '/' }, { RetryOn: ['sometimes'] })]), /Route\[0\] contains an invalid retry condition: "sometimes"/],
  ['a bad request timeout', router([http({ PathPrefix: '/' }, { RequestTimeout: 'soon' })]), /Route\[0\] Destination\.RequestTimeout: invalid duration/],
  ['a fractional retry count', router([http({ PathPrefix: '/' }, { NumRetries: 1.5 })]), /Destination\.NumRetries must be a whole number/],
  ['a status code out of range', router([http({ PathPrefix: '/' }, { RetryOnStatusCodes: [700] })]), /RetryOnStatusCodes\[0\] must be a number from 100 to 599/],
  ['a header value with a line break', router([http({ PathPrefix: '/' }, { RequestHeaders: { Set: { 'x-a': 'a\r\nx-b: b' } } })]), /RequestHeaders\.Set\["x-a"\] must be a string without CR, LF or NUL/],
  ['a bad subset name', router([http({ PathPrefix: '/' }, { ServiceSubset: 'V1' })]), /Destination\.ServiceSubset must be a subset name/],
  ['another namespace', router([http({ PathPrefix: '/' }, { Namespace: 'team' })]), /Destination\.Namespace "team" is not supported/],
  ['a field Consul does not define', router([http({ PathPrefix: '/', CaseSensitive: true })]), /Route\[0\] Match\.HTTP: unknown field "CaseSensitive"/],
  ['Routes that are not a list', { Kind: 'service-router', Name: 'api', Routes: {} }, /Routes must be a list/],
  ['an unknown top-level field', { Kind: 'service-router', Name: 'api', Rules: [] }, /invalid config key "Rules" for kind service-router/],
]

t.test('each broken router is refused with a 400 naming the route and field', async (t) => {
  for (const [what, entry, message] of refusals) {
    try {
      validateGenericEntry(entry)
      t.fail(`${what} was accepted`)
    } catch (error) {
      t.match((error as Error).message, message, what)
      t.equal((error as { statusCode?: number }).statusCode, 400, `${what}: 400`)
    }
  }
  t.throws(() => { validateTrafficEntry('service-router', { Name: 'api', Routes: [http({ PathExact: '/a', PathRegex: '/b' })] }) }, /at most one of/)
})

t.test('a router needs HTTP-like protocols for its service and every destination', async (t) => {
  const entry = router([http({ PathPrefix: '/v2' }, { Service: 'api-v2' })])
  const entries: Record<string, Record<string, unknown>> = { 'service-defaults/api': { Protocol: 'http' } }
  const lookup = (kind: string, name: string): Record<string, unknown> | undefined => entries[`${kind}/${name}`]
  t.throws(() => { checkRouterProtocols(entry, lookup) }, /discovery chain "api-v2" uses a protocol "tcp" that does not permit advanced routing/)
  entries['service-defaults/api-v2'] = { Protocol: 'grpc' }
  t.doesNotThrow(() => { checkRouterProtocols(entry, lookup) })
  entries['service-defaults/api'] = { Protocol: 'tcp' }
  t.throws(() => { checkRouterProtocols(entry, lookup) }, /discovery chain "api" uses a protocol "tcp"/)
  delete entries['service-defaults/api']
  entries['proxy-defaults/global'] = { Config: { protocol: 'http' } }
  t.doesNotThrow(() => { checkRouterProtocols(entry, lookup) }, 'proxy-defaults protocol counts')
})
