// The compiled route table: each match kind, invert, methods, query parameters, order and
// first match, the path rewrite and header mutation a route applies.

import t from 'tap'
import { compileRouter, literalPrefix, mutateHeaders, rewritePath } from '../../proxy/router.ts'
import type { RouteHeaders, RouteRequest } from '../../proxy/router.ts'
import type { RouteMatch, RouteSnapshot } from '../../proxy/snapshot.ts'

const route = (match: RouteMatch, destination = 'b'): RouteSnapshot => ({ match, destination })
const request = (path: string, headers: RouteHeaders = {}, method = 'GET'): RouteRequest => ({ method, path, headers })
/** Whether a one-route table matches the request. */
const hits = (match: RouteMatch, req: RouteRequest): boolean => compileRouter([route(match)]).match(req) !== null

t.test('path matchers look at the path without its query', async (t) => {
  t.ok(hits({ pathExact: '/login' }, request('/login?next=/')))
  t.notOk(hits({ pathExact: '/login' }, request('/login/x')))
  t.ok(hits({ pathPrefix: '/v2' }, request('/v2/users')))
  t.notOk(hits({ pathPrefix: '/v2' }, request('/v1/v2')))
  t.ok(hits({ pathRegex: '/users/[0-9]+' }, request('/users/42?x=1')))
  t.notOk(hits({ pathRegex: '/users/[0-9]+' }, request('/users/42/edit')), 'a regex must match the whole path')
  t.ok(hits({}, request('/anything')), 'no condition matches every request')
})

t.test('header matchers, each kind and inverted', async (t) => {
  const h = { 'x-version': 'canary-2' }
  t.ok(hits({ headers: [{ name: 'x-version', exact: 'canary-2' }] }, request('/', h)))
  t.notOk(hits({ headers: [{ name: 'x-version', exact: 'canary' }] }, request('/', h)))
  t.ok(hits({ headers: [{ name: 'x-version', prefix: 'canary' }] }, request('/', h)))
  t.ok(hits({ headers: [{ name: 'x-version', suffix: '-2' }] }, request('/', h)))
  t.notOk(hits({ headers: [{ name: 'x-version', suffix: '-3' }] }, request('/', h)))
  t.ok(hits({ headers: [{ name: 'x-version', regex: 'canary-[0-9]' }] }, request('/', h)))
  t.notOk(hits({ headers: [{ name: 'x-version', regex: 'canary' }] }, request('/', h)), 'a header regex must match the whole value')
  t.ok(hits({ headers: [{ name: 'X-Version', present: true }] }, request('/', h)), 'names are case-insensitive')
  t.notOk(hits({ headers: [{ name: 'x-other', present: true }] }, request('/', h)))
  t.notOk(hits({ headers: [{ name: 'x-version', exact: 'canary-2', invert: true }] }, request('/', h)))
  t.ok(hits({ headers: [{ name: 'x-version', exact: 'stable', invert: true }] }, request('/', h)))
  t.ok(hits({ headers: [{ name: 'x-other', present: true, invert: true }] }, request('/', h)), 'inverted present holds for an absent header')
  t.notOk(hits({ headers: [{ name: 'x-other', exact: 'a', invert: true }] }, request('/', h)), 'an absent header fails an inverted exact, as in Envoy')
  t.ok(hits({ headers: [{ name: 'x-version', prefix: 'canary' }, { name: 'x-debug', present: true, invert: true }] }, request('/', h)), 'every header condition must hold')
  t.notOk(hits({ headers: [{ name: 'x-version', prefix: 'canary' }, { name: 'x-debug', present: true }] }, request('/', h)))
})

t.test('query parameters and methods', async (t) => {
  t.ok(hits({ queryParams: [{ name: 'beta', exact: '1' }] }, request('/a?x=2&beta=1')))
  t.notOk(hits({ queryParams: [{ name: 'beta', exact: '1' }] }, request('/a?beta=10')))
  t.ok(hits({ queryParams: [{ name: 'beta', present: true }] }, request('/a?beta')))
  t.notOk(hits({ queryParams: [{ name: 'beta', present: true }] }, request('/a?alpha=1')))
  t.ok(hits({ queryParams: [{ name: 'q', regex: 'a b' }] }, request('/a?q=a+b')), 'values are decoded')
  t.ok(hits({ queryParams: [{ name: 'q', regex: '[0-9]+' }] }, request('/a?q=%31%32')))
  t.notOk(hits({ queryParams: [{ name: 'q', regex: '[0-9]+' }] }, request('/a')))
  t.ok(hits({ methods: ['POST', 'PUT'] }, request('/', {}, 'PUT')))
  t.notOk(hits({ methods: ['POST', 'PUT'] }, request('/', {}, 'GET')))
  t.ok(hits({ pathPrefix: '/api', methods: ['GET'], queryParams: [{ name: 'v', exact: '2' }] }, request('/api/x?v=2')), 'every kind together')
  t.notOk(hits({ pathPrefix: '/api', methods: ['GET'], queryParams: [{ name: 'v', exact: '2' }] }, request('/api/x?v=2', {}, 'DELETE')))
})

t.test('routes are tried in order and the first match wins', async (t) => {
  const router = compileRouter([
    route({ pathPrefix: '/api/admin' }, 'admin'),
    route({ pathPrefix: '/api', headers: [{ name: 'x-canary', present: true }] }, 'canary'),
    route({ pathPrefix: '/api' }, 'api-v2'),
    route({}, 'default'),
  ])
  t.equal(router.match(request('/api/admin/users'))?.route.destination, 'admin')
  t.equal(router.match(request('/api/users', { 'x-canary': '1' }))?.route.destination, 'canary')
  t.equal(router.match(request('/api/users'))?.route.destination, 'api-v2')
  t.equal(router.match(request('/other'))?.route.destination, 'default')
  t.equal(router.match(request('/api/users'))?.index, 2, 'the match reports its position')
  t.equal(compileRouter([route({ pathExact: '/a' })]).match(request('/b')), null, 'no match: null')
})

t.test('a regex that cannot run in linear time is refused when the table is compiled', async (t) => {
  t.throws(() => compileRouter([route({ pathRegex: '(a)\\1' })]), /routes\[0\]\.match\.pathRegex/)
})

t.test('prefix rewrite and header mutation', async (t) => {
  t.equal(rewritePath({ match: { pathPrefix: '/v2/' }, destination: 'b', prefixRewrite: '/' }, '/v2/users?x=1'), '/users?x=1')
  t.equal(rewritePath({ match: { pathExact: '/old' }, destination: 'b', prefixRewrite: '/new' }, '/old?x=1'), '/new?x=1')
  t.equal(rewritePath({ match: { pathPrefix: '/v2' }, destination: 'b' }, '/v2/users'), '/v2/users', 'no rewrite: unchanged')
  const headers: RouteHeaders = { 'x-keep': 'a', 'x-drop': 'b', 'x-set': 'old', 'x-add': 'one' }
  mutateHeaders(headers, { remove: ['X-Drop'], set: { 'X-Set': 'new' }, add: { 'x-add': 'two', 'x-new': 'n' } })
  t.same(headers, { 'x-keep': 'a', 'x-set': 'new', 'x-add': ['one', 'two'], 'x-new': 'n' })
})

t.test('a regex is gated by its literal start, never more than the regex requires', async (t) => {
  t.equal(literalPrefix('/users/[0-9]+'), '/users/')
  t.equal(literalPrefix('/users?/x'), '/user', 'a quantified character is not required')
  t.equal(literalPrefix('/a|/b'), '', 'an alternation has no common start')
  t.equal(literalPrefix('.*'), '')
  t.ok(hits({ pathRegex: '/users?/x' }, request('/user/x')))
  t.ok(hits({ pathRegex: '/a|/b' }, request('/b')))
  t.notOk(hits({ pathRegex: '/users/[0-9]+' }, request('/other/1')))
})
