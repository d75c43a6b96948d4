import t from 'tap'
import { compileFullMatchRegex, compileHttpPermission, normalizeRequest, normalizeRequestPath } from '../../../api/intentions/match.ts'
import type { HttpPermission } from '../../../api/intentions/model.ts'
import type { RequestHeaders } from '../../../api/intentions/match.ts'

const matches = (http: HttpPermission, method: string, rawPath: string, headers: RequestHeaders = {}): boolean => {
  const request = normalizeRequest({ method, path: rawPath, headers })
  if (request === undefined) throw new Error(`malformed ${rawPath}`)
  return compileHttpPermission(http, 'HTTP')(request)
}

t.test('PathExact matches only the exact path, query string aside (hashicorp/consul#10699)', async (t) => {
  const rule = { PathExact: '/health' }
  t.equal(matches(rule, 'GET', '/health'), true)
  t.equal(matches(rule, 'GET', '/health?verbose=1'), true)
  for (const other of ['/health/', '/health/v1', '/healthz', '/', '/Health', '/x/health']) {
    t.equal(matches(rule, 'GET', other), false, other)
  }
})

t.test('PathPrefix is a plain string prefix, as in Envoy', async (t) => {
  const rule = { PathPrefix: '/v1' }
  t.equal(matches(rule, 'GET', '/v1'), true)
  t.equal(matches(rule, 'GET', '/v1/users'), true)
  t.equal(matches(rule, 'GET', '/v10'), true)
  t.equal(matches(rule, 'GET', '/v2/v1'), false)
})

t.test('PathRegex must match the whole path', async (t) => {
  const rule = { PathRegex: '/api/v[0-9]+/.*' }
  t.equal(matches(rule, 'GET', '/api/v2/items'), true)
  t.equal(matches(rule, 'GET', '/x/api/v2/items'), false)
  t.equal(matches(rule, 'GET', '/api/vx/items'), false)
})

t.test('Methods: any listed method matches, request method compared upper-cased', async (t) => {
  const rule = { Methods: ['GET', 'HEAD'] }
  t.equal(matches(rule, 'GET', '/'), true)
  t.equal(matches(rule, 'head', '/'), true)
  t.equal(matches(rule, 'POST', '/'), false)
})

t.test('header rules: Present, Exact, Prefix, Suffix, Regex, each with Invert; names are case-insensitive', async (t) => {
  const rows: Array<[HttpPermission['Header'], RequestHeaders, boolean, string]> = [
    [[{ Name: 'X-Debug', Present: true }], { 'x-debug': '' }, true, 'present, empty value'],
    [[{ Name: 'X-Debug', Present: true }], {}, false, 'present, absent'],
    [[{ Name: 'X-Debug', Present: true, Invert: true }], {}, true, 'not present, absent'],
    [[{ Name: 'X-Debug', Present: true, Invert: true }], { 'x-debug': '1' }, false, 'not present, present'],
    [[{ Name: 'X-Env', Exact: 'prod' }], { 'x-env': 'prod' }, true, 'exact'],
    [[{ Name: 'X-Env', Exact: 'prod' }], { 'x-env': 'production' }, false, 'exact, longer'],
    [[{ Name: 'X-Env', Exact: 'prod', Invert: true }], { 'x-env': 'dev' }, true, 'inverted exact, other value'],
    [[{ Name: 'X-Env', Exact: 'prod', Invert: true }], {}, false, 'inverted exact, absent header matches nothing (Envoy)'],
    [[{ Name: 'Authorization', Prefix: 'Bearer ' }], { authorization: 'Bearer abc' }, true, 'prefix'],
    [[{ Name: 'Authorization', Prefix: 'Bearer ' }], { authorization: 'Basic abc' }, false, 'prefix, other'],
    [[{ Name: 'Host', Suffix: '.internal' }], { host: 'api.internal' }, true, 'suffix'],
    [[{ Name: 'Host', Suffix: '.internal' }], { host: 'api.example' }, false, 'suffix, other'],
    [[{ Name: 'X-Version', Regex: 'v[0-9]+' }], { 'x-version': 'v12' }, true, 'regex, full match'],
    [[{ Name: 'X-Version', Regex: 'v[0-9]+' }], { 'x-version': 'v12-beta' }, false, 'regex, partial'],
    [[{ Name: 'X-Tag', Exact: 'a,b' }], { 'x-tag': ['a', 'b'] }, true, 'repeated header joined with commas'],
  ]
  for (const [header, headers, expected, label] of rows) {
    t.equal(matches({ Header: header }, 'GET', '/', headers), expected, label)
  }
})

t.test('all conditions of one permission must hold', async (t) => {
  const rule: HttpPermission = { PathPrefix: '/admin', Methods: ['POST'], Header: [{ Name: 'x-role', Exact: 'ops' }] }
  t.equal(matches(rule, 'POST', '/admin/x', { 'x-role': 'ops' }), true)
  t.equal(matches(rule, 'GET', '/admin/x', { 'x-role': 'ops' }), false)
  t.equal(matches(rule, 'POST', '/admin/x', { 'x-role': 'dev' }), false)
  t.equal(matches(rule, 'POST', '/public', { 'x-role': 'ops' }), false)
})

t.test('paths are normalised before matching, so encodings cannot dodge a rule', async (t) => {
  const rows: Array<[string, string | undefined]> = [
    ['/admin', '/admin'],
    ['/admin?x=1#f', '/admin'],
    ['//admin', '/admin'],
    ['/public/../admin', '/admin'],
    ['/public/./../admin/', '/admin/'],
    ['/%61dmin', '/admin'],
    ['/admin%2Fusers', '/admin/users'],
    ['/admin%5Cusers', '/admin/users'],
    ['/a/b/..', '/a/'],
    ['/../../admin', '/admin'],
    ['http://api.internal:8080/admin?q', '/admin'],
    ['admin', undefined],
    ['/bad%zz', undefined],
    ['/bad%E0%A4%A', undefined],
    ['/' + 'a'.repeat(20_000), undefined],
  ]
  for (const [raw, expected] of rows) t.equal(normalizeRequestPath(raw), expected, raw.slice(0, 40))
})

t.test('regexes run in linear time; constructs that need backtracking are refused', async (t) => {
  const nested = compileFullMatchRegex('(a+)+b', 'PathRegex')
  const started = performance.now()
  t.equal(nested.test('a'.repeat(50_000) + 'c'), false)
  t.ok(performance.now() - started < 1000, 'catastrophic pattern answers quickly on a long input')
  const short = performance.now()
  t.equal(nested.test('a'.repeat(40) + 'c'), false)
  t.ok(performance.now() - short < 1000, 'and on the short input that is exponential for a backtracking engine')
  t.throws(() => compileFullMatchRegex('(a)\\1', 'PathRegex'), { code: 'MESH_ERR_INTENTIONS_UNSAFE_REGEX' })
  t.throws(() => compileFullMatchRegex('(?=a)a', 'PathRegex'), { code: 'MESH_ERR_INTENTIONS_UNSAFE_REGEX' })
  t.throws(() => compileFullMatchRegex('[', 'PathRegex'), { code: 'MESH_ERR_INTENTIONS_UNSAFE_REGEX' })
  t.throws(() => compileFullMatchRegex('a'.repeat(1025), 'PathRegex'), /at most 1024/)
})
