import t from 'tap'
import type { Test } from 'tap'
import { buildHttpServer } from '../../../agent/http/server.ts'
import { registerAgentServiceRoutes } from '../../../agent/http/agent-service-routes.ts'
import { CheckManager } from '../../../agent/local/checks/manager.ts'
import { memoryCatalog } from '../../catalog/fixtures.ts'
import { ManualClock } from '../../fixtures/manual-clock.ts'

async function setup (t: Test, options: { enableScriptChecks?: boolean, boundPorts?: Record<number, string> } = {}) {
  const catalog = await memoryCatalog(t, 'node-1')
  const scheduler = new ManualClock()
  const checks = new CheckManager({ enableScriptChecks: options.enableScriptChecks }, { catalog, clock: scheduler, random: () => 0 })
  checks.start()
  const app = buildHttpServer()
  registerAgentServiceRoutes(app, { catalog, checks, enableScriptChecks: options.enableScriptChecks ?? false, nodeName: 'node-1', datacenter: 'dc1',
    probePort: async (_host, port) => options.boundPorts?.[port],
  })
  await app.ready()
  t.teardown(async () => { checks.stop(); await app.close() })
  const put = (url: string, body?: unknown) => app.inject({ method: 'PUT', url, payload: body === undefined ? undefined : JSON.stringify(body) })
  const get = (url: string) => app.inject({ method: 'GET', url })
  return { app, catalog, checks, scheduler, put, get }
}

t.test('a minimal registration gets Consul defaults and is listed', async t => {
  const { put, get } = await setup(t)
  t.equal((await put('/v1/agent/service/register', { Name: 'web', Port: 8080 })).statusCode, 200)
  const services = (await get('/v1/agent/services')).json()
  t.same(Object.keys(services), ['web'])
  t.match(services.web, {
    ID: 'web', Service: 'web', Tags: [], Meta: {}, Port: 8080, Address: '', Weights: { Passing: 1, Warning: 1 },
    EnableTagOverride: false, Datacenter: 'dc1',
  })
  const one = await get('/v1/agent/service/web')
  t.equal(one.statusCode, 200)
  t.equal(one.headers['x-consul-contenthash'], one.json().ContentHash)
  t.equal((await get('/v1/agent/service/nope')).statusCode, 404)
})

t.test('lowercase and snake_case keys are accepted as Consul does', async t => {
  const { put, get } = await setup(t)
  const response = await put('/v1/agent/service/register', {
    name: 'api', id: 'api-1', port: 9000, tags: ['v1'], enable_tag_override: true,
    check: { ttl: '30s', deregister_critical_service_after: '5m' },
  })
  t.equal(response.statusCode, 200, response.body)
  t.match((await get('/v1/agent/service/api-1')).json(), { ID: 'api-1', Service: 'api', Tags: ['v1'], EnableTagOverride: true })
  t.match((await get('/v1/agent/checks')).json()['service:api-1'], { Type: 'ttl', Status: 'critical', Name: "Service 'api' check" })
})

t.test('service checks get service:<id>:<n> IDs and start critical', async t => {
  const { put, get } = await setup(t)
  await put('/v1/agent/service/register', {
    Name: 'web',
    Check: { HTTP: 'http://127.0.0.1:1/health', Interval: '10s' },
    Checks: [{ TCP: '127.0.0.1:1', Interval: '5s', Timeout: '1s' }, { TTL: '30s', Status: 'passing' }],
  })
  const checks = (await get('/v1/agent/checks')).json()
  t.same(Object.keys(checks), ['service:web:1', 'service:web:2', 'service:web:3'])
  t.match(checks['service:web:1'], { Node: 'node-1', Type: 'http', Status: 'critical', Interval: '10s', Timeout: '', ServiceID: 'web', ServiceName: 'web' })
  t.match(checks['service:web:2'], { Type: 'tcp', Interval: '5s', Timeout: '1s' })
  t.match(checks['service:web:3'], { Type: 'ttl', Status: 'passing' })
  t.notOk('Definition' in checks['service:web:1'], 'the internal definition is not exposed')
})

t.test('Connect.SidecarService registers the sidecar proxy with Consul defaults', async t => {
  const { put, get } = await setup(t)
  const response = await put('/v1/agent/service/register', {
    Name: 'web', Port: 8080, Tags: ['blue'],
    Connect: { SidecarService: { Proxy: { Upstreams: [{ DestinationName: 'db', LocalBindPort: 9191 }] } } },
  })
  t.equal(response.statusCode, 200, response.body)
  const services = (await get('/v1/agent/services')).json()
  t.same(Object.keys(services), ['web', 'web-sidecar-proxy'])
  t.match(services['web-sidecar-proxy'], {
    Kind: 'connect-proxy', Service: 'web-sidecar-proxy', Port: 21000, Tags: ['blue'],
    Proxy: {
      DestinationServiceName: 'web', DestinationServiceID: 'web', LocalServiceAddress: '127.0.0.1', LocalServicePort: 8080,
      Upstreams: [{ DestinationName: 'db', DestinationType: 'service', LocalBindAddress: '127.0.0.1', LocalBindPort: 9191 }],
    },
  })
  const checks = (await get('/v1/agent/checks')).json()
  t.match(checks['service:web-sidecar-proxy:1'], { Name: 'Connect Sidecar Listening', Type: 'tcp', Interval: '10s' })
  t.match(checks['service:web-sidecar-proxy:2'], { Name: 'Connect Sidecar Aliasing web', Type: 'alias' })
  await put('/v1/agent/service/register', { Name: 'api', Port: 21001, Connect: { SidecarService: {} } })
  t.equal((await get('/v1/agent/service/api-sidecar-proxy')).json().Port, 21002, 'ports used by local services are skipped')
  await put('/v1/agent/service/register', { Name: 'web', Port: 8081, Connect: { SidecarService: {} } })
  t.equal((await get('/v1/agent/service/web-sidecar-proxy')).json().Port, 21000, 're-registration keeps the sidecar port')
})

t.test('an assigned sidecar port skips ports other processes hold, in the range order', async t => {
  const { put, get, catalog } = await setup(t, { boundPorts: { 21000: 'EADDRINUSE', 21001: 'EACCES' } })
  t.equal((await put('/v1/agent/service/register', { Name: 'web', Port: 8080, Connect: { SidecarService: {} } })).statusCode, 200)
  const sidecar = (await get('/v1/agent/service/web-sidecar-proxy')).json()
  t.equal(sidecar.Port, 21002)
  t.equal(catalog.localCheck('service:web-sidecar-proxy:1')?.Definition?.TCP, '127.0.0.1:21002', 'the listening check probes the assigned port')
  t.equal((await put('/v1/agent/service/register', { Name: 'web', Port: 8081, Connect: { SidecarService: {} } })).statusCode, 200)
  t.equal((await get('/v1/agent/service/web-sidecar-proxy')).json().Port, 21002, 'a re-registration keeps its port without probing its own listener')
})

t.test('an explicit sidecar port another process holds is refused with 409 and stores nothing', async t => {
  const { put, get, catalog } = await setup(t, { boundPorts: { 21000: 'EADDRINUSE' } })
  const index = catalog.index
  const response = await put('/v1/agent/service/register', { Name: 'web', Port: 8080, Connect: { SidecarService: { Port: 21000 } } })
  t.equal(response.statusCode, 409)
  t.equal(response.body, 'sidecar proxy cannot listen on 127.0.0.1:21000: EADDRINUSE; free the port, give SidecarService.Port another one, or leave Port out to have a free one assigned')
  t.equal(catalog.index, index, 'the catalog did not change')
  t.same((await get('/v1/agent/services')).json(), {})
})

t.test('every range port held by a local service or another process exhausts the range', async t => {
  const boundPorts = Object.fromEntries(Array.from({ length: 256 }, (_, i) => [21000 + i, 'EADDRINUSE']))
  const { put } = await setup(t, { boundPorts })
  const response = await put('/v1/agent/service/register', { Name: 'web', Port: 8080, Connect: { SidecarService: {} } })
  t.equal(response.statusCode, 400)
  t.match(response.body, /no port available for the sidecar proxy in 21000-21255/)
})

const refusals: Array<{ name: string, body: unknown, message: string | RegExp }> = [
  { name: 'missing name', body: { Port: 80 }, message: 'Missing service name' },
  { name: 'port out of range', body: { Name: 'web', Port: 70000 }, message: 'Invalid service: Port must be an integer between 0 and 65535' },
  { name: 'tags not strings', body: { Name: 'web', Tags: [1] }, message: 'Invalid service: Tags must be an array of strings' },
  { name: 'weights passing 0', body: { Name: 'web', Weights: { Passing: 0, Warning: 3 } }, message: 'Invalid Weights: Passing must be greater than 0' },
  { name: 'TTL check without TTL', body: { Name: 'web', Check: { Notes: 'x' } }, message: 'Invalid check: TTL must be > 0 for TTL checks' },
  { name: 'HTTP check without interval', body: { Name: 'web', Check: { HTTP: 'http://127.0.0.1/' } }, message: 'Invalid check: Interval must be > 0 for Script, HTTP, TCP or GRPC checks' },
  { name: 'interval and TTL', body: { Name: 'web', Check: { TTL: '10s', Interval: '10s' } }, message: 'Invalid check: Interval and TTL cannot both be specified' },
  { name: 'bad duration', body: { Name: 'web', Check: { TTL: 'soon' } }, message: 'Invalid check: TTL must be a duration such as "10s", got "soon"' },
  { name: 'second check invalid', body: { Name: 'web', Checks: [{ TTL: '10s' }, { TCP: 'nohost', Interval: '1s' }] }, message: 'Invalid check: TCP must be host:port, got "nohost"' },
  { name: 'script check when disabled', body: { Name: 'web', Check: { Args: ['/bin/true'], Interval: '10s' } }, message: /script checks are disabled on this agent/ },
  { name: 'proxy without destination', body: { Name: 'p', Kind: 'connect-proxy', Port: 21000 }, message: 'Proxy.DestinationServiceName must be non-empty for Connect proxy services' },
  { name: 'sidecar upstream without port', body: { Name: 'web', Connect: { SidecarService: { Proxy: { Upstreams: [{ DestinationName: 'db' }] } } } }, message: 'Invalid SidecarService: Connect.SidecarService.Proxy.Upstreams[0].LocalBindPort: upstream local bind port cannot be zero' },
  { name: 'native with sidecar', body: { Name: 'web', Connect: { Native: true, SidecarService: {} } }, message: 'Services that are Connect native cannot have a sidecar service' },
  { name: 'name too long for the catalog', body: { Name: 'x'.repeat(300) }, message: /^Invalid service: Name "x+" must be at most 256 characters long$/ },
  { name: 'a sidecar whose ID is too long for the catalog', body: { Name: 'x'.repeat(245), Port: 80, Connect: { SidecarService: {} } }, message: /^Invalid SidecarService: Connect\.SidecarService\.ID "x+" must be at most 256 characters long$/ },
  { name: 'an ID holding a lone UTF-16 surrogate', body: { Name: 'web', ID: 'web-\ud800' }, message: /^Invalid service: ID "web-\\ud800" must be well-formed Unicode \(it holds a lone UTF-16 surrogate\)$/ },
  { name: 'a name holding a lone UTF-16 surrogate', body: { Name: '\udc00web' }, message: /Name .* must be well-formed Unicode/ },
  { name: 'an ID holding a control character', body: { Name: 'web', ID: 'web\u0000' }, message: /^Invalid service: ID .* must not contain control characters$/ },
  { name: 'a name holding "/"', body: { Name: 'a/b', ID: 'ab' }, message: /Name "a\/b" must not contain "\/"/ },
  { name: 'a check ID holding a lone surrogate', body: { Name: 'web', Check: { CheckID: 'c\ud83d', TTL: '10s' } }, message: /CheckID .* must be well-formed Unicode/ },
  { name: 'a check name holding a control character', body: { Name: 'web', Check: { Name: 'bell\u0007', TTL: '10s' } }, message: /Name .* must not contain control characters/ },
  { name: 'not an object', body: [1, 2], message: /Request decode failed/ },
]

for (const { name, body, message } of refusals) {
  t.test(`a registration with ${name} is refused with 400 and stores nothing`, async t => {
    const { put, catalog } = await setup(t)
    const index = catalog.index
    const response = await put('/v1/agent/service/register', body)
    t.equal(response.statusCode, 400)
    if (typeof message === 'string') t.equal(response.body, message)
    else t.match(response.body, message)
    t.equal(catalog.index, index, 'the catalog did not change')
  })
}

t.test('script checks are accepted when the agent enables them', async t => {
  const { put, get } = await setup(t, { enableScriptChecks: true })
  t.equal((await put('/v1/agent/service/register', { Name: 'web', Check: { Args: [process.execPath, '-e', ''], Interval: '10s' } })).statusCode, 200)
  t.equal((await get('/v1/agent/checks')).json()['service:web'].Type, 'script')
})

t.test('replace-existing-checks drops checks the new definition no longer has', async t => {
  const { put, get } = await setup(t)
  await put('/v1/agent/service/register', { Name: 'web', Checks: [{ TTL: '10s' }, { TTL: '20s' }] })
  await put('/v1/agent/service/register', { Name: 'web', Check: { CheckID: 'service:web:1', TTL: '10s' } })
  t.same(Object.keys((await get('/v1/agent/checks')).json()), ['service:web:1', 'service:web:2'], 'kept without the flag')
  await put('/v1/agent/service/register?replace-existing-checks', { Name: 'web', Check: { CheckID: 'service:web:1', TTL: '10s' } })
  t.same(Object.keys((await get('/v1/agent/checks')).json()), ['service:web:1'])
})

t.test('an identical re-registration keeps the current check status', async t => {
  const { put, get } = await setup(t)
  await put('/v1/agent/service/register', { Name: 'web', Check: { TTL: '10s' } })
  await put('/v1/agent/check/pass/service:web?note=ok')
  await put('/v1/agent/service/register', { Name: 'web', Tags: ['new'], Check: { TTL: '10s' } })
  t.match((await get('/v1/agent/checks')).json()['service:web'], { Status: 'passing', Output: 'ok', ServiceTags: ['new'] })
})

t.test('deregistering a service removes its checks and its sidecar; an unknown ID is 404', async t => {
  const { put, get, checks } = await setup(t)
  await put('/v1/agent/service/register', { Name: 'web', Port: 80, Check: { TTL: '10s' }, Connect: { SidecarService: {} } })
  await put('/v1/agent/service/register', { Name: 'db', Check: { TTL: '10s' } })
  t.equal((await put('/v1/agent/service/deregister/web')).statusCode, 200)
  t.same(Object.keys((await get('/v1/agent/services')).json()), ['db'])
  t.same(Object.keys((await get('/v1/agent/checks')).json()), ['service:db'])
  t.same(checks.runningCheckIds(), ['service:db'], 'the removed checks stopped')
  const unknown = await put('/v1/agent/service/deregister/web')
  t.equal(unknown.statusCode, 404)
  t.match(unknown.body, 'Unknown service ID "web"')
})

t.test('check registration: defaults, service ownership and refusals', async t => {
  const { put, get, catalog } = await setup(t)
  await put('/v1/agent/service/register', { Name: 'web', Tags: ['a'] })
  t.equal((await put('/v1/agent/check/register', { Name: 'mem', TTL: '15s', Notes: 'memory' })).statusCode, 200)
  t.equal((await put('/v1/agent/check/register', { ID: 'web-http', Name: 'web http', ServiceID: 'web', HTTP: 'http://127.0.0.1:1/', Interval: '10s', Header: { 'X-A': ['1'] }, Method: 'HEAD' })).statusCode, 200)
  const checks = (await get('/v1/agent/checks')).json()
  t.match(checks.mem, { CheckID: 'mem', Name: 'mem', Notes: 'memory', Status: 'critical', ServiceID: '', Type: 'ttl' })
  t.match(checks['web-http'], { ServiceID: 'web', ServiceName: 'web', ServiceTags: ['a'], Type: 'http' })
  const index = catalog.index
  const unknownService = await put('/v1/agent/check/register', { Name: 'x', ServiceID: 'nope', TTL: '1s' })
  t.equal(unknownService.statusCode, 404)
  t.equal(unknownService.body, 'ServiceID "nope" does not exist')
  const noName = await put('/v1/agent/check/register', { TTL: '1s' })
  t.same([noName.statusCode, noName.body], [400, 'Missing check name'])
  const badStatus = await put('/v1/agent/check/register', { Name: 'x', TTL: '1s', Status: 'fine' })
  t.same([badStatus.statusCode, badStatus.body], [400, 'Invalid check: Status must be one of passing, warning or critical, got "fine"'])
  const unsupported = await put('/v1/agent/check/register', { Name: 'x', DockerContainerID: 'abc', Interval: '1s' })
  t.equal(unsupported.statusCode, 400)
  t.equal(catalog.index, index, 'refused checks store nothing')
  t.equal((await put('/v1/agent/check/deregister/mem')).statusCode, 200)
  t.equal((await put('/v1/agent/check/deregister/mem')).statusCode, 404)
})

t.test('pass, warn, fail and update report to TTL checks only', async t => {
  const { put, get } = await setup(t)
  await put('/v1/agent/service/register', { Name: 'web', Checks: [{ CheckID: 'ttl', TTL: '30s' }, { CheckID: 'tcp', TCP: '127.0.0.1:1', Interval: '10s' }] })
  t.equal((await put('/v1/agent/check/warn/ttl?note=slow')).statusCode, 200)
  t.match((await get('/v1/agent/checks')).json().ttl, { Status: 'warning', Output: 'slow' })
  await put('/v1/agent/check/fail/ttl')
  t.match((await get('/v1/agent/checks')).json().ttl, { Status: 'critical', Output: '' })
  t.equal((await put('/v1/agent/check/update/ttl', { Status: 'passing', Output: 'fine' })).statusCode, 200)
  t.match((await get('/v1/agent/checks')).json().ttl, { Status: 'passing', Output: 'fine' })
  const badStatus = await put('/v1/agent/check/update/ttl', { Status: 'great' })
  t.same([badStatus.statusCode, badStatus.body], [400, "Invalid check status: 'great'"])
  const notTtl = await put('/v1/agent/check/pass/tcp')
  t.same([notTtl.statusCode, notTtl.body], [500, 'CheckID "tcp" does not have associated TTL'])
  t.equal((await put('/v1/agent/check/pass/nope')).statusCode, 404)
})

t.test('a TTL check not refreshed in time turns critical on the fake clock', async t => {
  const { put, get, scheduler, checks } = await setup(t)
  await put('/v1/agent/service/register', { Name: 'web', Check: { TTL: '30s' } })
  await put('/v1/agent/check/pass/service:web')
  scheduler.advance(30_000)
  await checks.flush()
  t.match((await get('/v1/agent/checks')).json()['service:web'], { Status: 'critical', Output: 'TTL expired' })
})

t.test('agent health by ID and by name: aggregated status as HTTP code, JSON or text', async t => {
  const { put, get } = await setup(t)
  await put('/v1/agent/service/register', { Name: 'web', ID: 'web-1', Checks: [{ CheckID: 'a', TTL: '30s', Status: 'passing' }, { CheckID: 'b', TTL: '30s', Status: 'passing' }] })
  await put('/v1/agent/service/register', { Name: 'web', ID: 'web-2', Check: { CheckID: 'c', TTL: '30s', Status: 'passing' } })
  let byId = await get('/v1/agent/health/service/id/web-1')
  t.equal(byId.statusCode, 200)
  t.match(byId.json(), { AggregatedStatus: 'passing', Service: { ID: 'web-1' }, Checks: [{ CheckID: 'a' }, { CheckID: 'b' }] })
  await put('/v1/agent/check/warn/b')
  byId = await get('/v1/agent/health/service/id/web-1?format=text')
  t.same([byId.statusCode, byId.body], [429, 'warning'])
  await put('/v1/agent/check/fail/c')
  t.equal((await get('/v1/agent/health/service/id/web-2')).statusCode, 503)
  const byName = await get('/v1/agent/health/service/name/web')
  t.equal(byName.statusCode, 503, 'the worst instance decides')
  t.same(byName.json().map((info: { AggregatedStatus: string }) => info.AggregatedStatus), ['warning', 'critical'])
  t.same([(await get('/v1/agent/health/service/name/web?format=text')).body], ['critical'])
  const missingId = await get('/v1/agent/health/service/id/nope?format=text')
  t.same([missingId.statusCode, missingId.body], [404, 'ServiceId nope not found'])
  const missingName = await get('/v1/agent/health/service/name/nope')
  t.same([missingName.statusCode, missingName.json()], [404, []])
})

t.test('?filter= selects services and checks; a bad expression is 400', async t => {
  const { put, get } = await setup(t)
  await put('/v1/agent/service/register', { Name: 'web', Tags: ['blue'], Meta: { env: 'prod' }, Check: { TTL: '10s' } })
  await put('/v1/agent/service/register', { Name: 'db', Tags: ['green'] })
  t.same(Object.keys((await get(`/v1/agent/services?filter=${encodeURIComponent('blue in Tags')}`)).json()), ['web'])
  t.same(Object.keys((await get(`/v1/agent/services?filter=${encodeURIComponent('Meta.env == prod')}`)).json()), ['web'])
  t.same(Object.keys((await get(`/v1/agent/checks?filter=${encodeURIComponent('ServiceName == db')}`)).json()), [])
  t.equal((await get(`/v1/agent/services?filter=${encodeURIComponent('Tags ==')}`)).statusCode, 400)
})

t.test('GET /v1/agent/service/:id blocks on ?hash= until the service changes', async t => {
  const { put, get } = await setup(t)
  await put('/v1/agent/service/register', { Name: 'web', Port: 80 })
  const first = (await get('/v1/agent/service/web')).json()
  const blocked = get(`/v1/agent/service/web?hash=${first.ContentHash}&wait=1m`)
  await put('/v1/agent/service/register', { Name: 'web', Port: 81 })
  const answer = await blocked
  t.equal(answer.statusCode, 200)
  t.equal(answer.json().Port, 81)
  t.not(answer.headers['x-consul-contenthash'], first.ContentHash)
  const stale = await get('/v1/agent/service/web?hash=other')
  t.equal(stale.json().Port, 81, 'a hash that differs answers at once')
  const unchanged = await get(`/v1/agent/service/web?hash=${answer.json().ContentHash}&wait=20ms`)
  t.same([unchanged.statusCode, unchanged.json().Port], [200, 81], 'wait elapses with the same content')
  t.equal((await get(`/v1/agent/service/web?hash=${answer.json().ContentHash}&wait=soon`)).statusCode, 400)
})

t.test('maintenance mode: a critical _service_maintenance check reported as maintenance, removed on disable', async t => {
  const { put, get } = await setup(t)
  await put('/v1/agent/service/register', { Name: 'web', Check: { TTL: '30s', Status: 'passing' } })
  t.equal((await put('/v1/agent/service/maintenance/web?enable=true&reason=deploying')).statusCode, 200)
  t.match((await get('/v1/agent/checks')).json()['_service_maintenance:web'], {
    Name: 'Service Maintenance Mode', Status: 'critical', Notes: 'deploying', ServiceID: 'web', Type: 'maintenance',
  })
  const health = await get('/v1/agent/health/service/id/web?format=text')
  t.same([health.statusCode, health.body], [503, 'maintenance'])
  await put('/v1/agent/service/maintenance/web?enable=false')
  t.same(Object.keys((await get('/v1/agent/checks')).json()), ['service:web'])
  t.equal((await get('/v1/agent/health/service/id/web')).statusCode, 200)
  t.equal((await put('/v1/agent/service/maintenance/nope?enable=true')).statusCode, 404)
  t.same([(await put('/v1/agent/service/maintenance/web')).body], ['Missing value for enable'])
  t.same([(await put('/v1/agent/service/maintenance/web?enable=maybe')).statusCode], [400])
  await put('/v1/agent/maintenance?enable=1')
  t.match((await get('/v1/agent/checks')).json()._node_maintenance, { Name: 'Node Maintenance Mode', Status: 'critical', ServiceID: '' })
  await put('/v1/agent/maintenance?enable=false')
  t.notOk('_node_maintenance' in (await get('/v1/agent/checks')).json())
})

/** JSON text of `{"a":{"a":…}}` nested `depth` levels, built as text (JSON.stringify itself overflows). */
const nestedJson = (depth: number): string => '{"a":'.repeat(depth - 1) + '{}' + '}'.repeat(depth - 1)

t.test('deeply nested registrations are refused with 400 naming the cap, and nothing is registered', async t => {
  const { app, get } = await setup(t)
  const send = (payload: string) => app.inject({ method: 'PUT', url: '/v1/agent/service/register', payload })
  const cases: Array<[string, string, RegExp]> = [
    ['Connect.SidecarService nested 5,000 levels', `{"Name":"web","Port":8080,"Connect":{"SidecarService":${nestedJson(5000)}}}`, /the body nests deeper than 64 levels/],
    ['Proxy.Config nested 2,000 levels', `{"Name":"p","Kind":"connect-proxy","Port":21000,"Proxy":{"DestinationServiceName":"web","Config":${nestedJson(2000)}}}`, /the body nests deeper than 64 levels/],
    ['Connect.SidecarService nested 40 levels', `{"Name":"web","Port":8080,"Connect":{"SidecarService":${nestedJson(40)}}}`, /Connect\.SidecarService nests deeper than 32 levels \(the cap is 32 levels/],
    ['Proxy.Config nested 40 levels', `{"Name":"p","Kind":"connect-proxy","Port":21000,"Proxy":{"DestinationServiceName":"web","Config":${nestedJson(40)}}}`, /Proxy\.Config nests deeper than 32 levels/],
    ['an upstream Config nested 40 levels', `{"Name":"p","Kind":"connect-proxy","Port":21000,"Proxy":{"DestinationServiceName":"web","Upstreams":[{"DestinationName":"db","LocalBindPort":9191,"Config":${nestedJson(40)}}]}}`, /Proxy\.Upstreams\[0\]\.Config nests deeper than 32 levels/],
    ['Proxy.Config holding 20,000 values', `{"Name":"p","Kind":"connect-proxy","Port":21000,"Proxy":{"DestinationServiceName":"web","Config":{"list":[${Array(20_000).fill('1').join(',')}]}}}`, /Proxy\.Config holds more than 10000 values/],
  ]
  for (const [what, payload, message] of cases) {
    const response = await send(payload)
    t.equal(response.statusCode, 400, what)
    t.match(response.body, message, what)
  }
  t.same((await get('/v1/agent/services')).json(), {}, 'nothing was registered')
  const fine = await send(`{"Name":"p","Kind":"connect-proxy","Port":21000,"Proxy":{"DestinationServiceName":"web","Config":${nestedJson(32)}}}`)
  t.equal(fine.statusCode, 200, 'a Config at the cap is accepted')
})

t.test('IDs and names that pass the identifier rule register and deregister through their paths', async t => {
  const { put, get } = await setup(t)
  const id = 'web-é-😀-1'
  const response = await put('/v1/agent/service/register', { Name: 'web', ID: id, Check: { Name: 'GET /health', TTL: '10s' } })
  t.equal(response.statusCode, 200, response.body)
  t.match((await get('/v1/agent/checks')).json()[`service:${id}`], { Name: 'GET /health' }, 'a check name may hold "/" (it is not a path segment)')
  t.equal((await put(`/v1/agent/service/deregister/${encodeURIComponent(id)}`)).statusCode, 200)
  t.same((await get('/v1/agent/services')).json(), {}, 'deregistered by its path')
})

t.test('a check ID may hold "/" (as Consul allows): it is updated and deregistered through its percent-encoded path', async t => {
  const { put, get } = await setup(t)
  const registered = await put('/v1/agent/check/register', { Name: 'HTTP /health', TTL: '10s' })
  t.equal(registered.statusCode, 200, registered.body)
  t.ok((await get('/v1/agent/checks')).json()['HTTP /health'], 'the ID defaults to the name, "/" included')
  const path = encodeURIComponent('HTTP /health')
  t.equal((await put(`/v1/agent/check/pass/${path}`)).statusCode, 200, 'TTL update through the encoded path')
  t.equal((await get('/v1/agent/checks')).json()['HTTP /health'].Status, 'passing')
  t.equal((await put(`/v1/agent/check/deregister/${path}`)).statusCode, 200, 'deregistered through the encoded path')
  t.same((await get('/v1/agent/checks')).json(), {}, 'nothing left')
})
