import t from 'tap'
import type { Test } from 'tap'
import pino from 'pino'
import { buildHttpServer } from '../../../agent/http/server.ts'
import { registerIntentionRoutes } from '../../../agent/http/intentions-routes.ts'
import type { IntentionRouteDeps } from '../../../agent/http/intentions-routes.ts'
import { AgentPolicy } from '../../../agent/connect/policy.ts'
import { memoryCatalog } from '../../catalog/fixtures.ts'

const SPIFFE = (service: string) => `spiffe://11111111-2222-3333-4444-555555555555.consul/ns/default/dc/dc1/svc/${service}`

/**
 * The routes over the agent's own AgentPolicy on an in-memory catalog. The clock and the ID source
 * are the two deps the routes let a caller choose; they are fixed here so timestamps and IDs can be
 * asserted exactly.
 */
async function setup (t: Test, defaultPolicy: 'allow' | 'deny' = 'deny') {
  const catalog = await memoryCatalog(t, 'node-1')
  const policy = new AgentPolicy({ defaultPolicy }, { catalog, log: pino({ level: 'silent' }) })
  policy.start()
  const clock = { nowMs: Date.UTC(2026, 0, 1) }
  let issuedIds = 0
  const agentDeps = policy.intentionRouteDeps()
  const deps: IntentionRouteDeps = {
    intentions: agentDeps.intentions,
    put: agentDeps.put,
    delete: agentDeps.delete,
    waitForIndex: agentDeps.waitForIndex,
    get index () { return agentDeps.index },
    now: () => clock.nowMs,
    newId: () => `00000000-0000-4000-8000-${String(++issuedIds).padStart(12, '0')}`,
  }
  const app = buildHttpServer()
  registerIntentionRoutes(app, deps)
  await app.ready()
  t.teardown(async () => { await app.close(); policy.stop() })
  return { app, catalog, policy, clock }
}

t.test('PUT exact stores an intention and answers true; GET exact returns it in Consul\'s shape', async (t) => {
  const { app, catalog } = await setup(t)
  const put = await app.inject({ method: 'PUT', url: '/v1/connect/intentions/exact?source=web&destination=api', payload: { Action: 'allow', Description: 'web may call api', Meta: { team: 'a' } } })
  t.equal(put.statusCode, 200)
  t.equal(put.body, 'true')
  const got = await app.inject({ method: 'GET', url: '/v1/connect/intentions/exact?source=web&destination=api' })
  t.equal(got.statusCode, 200)
  t.equal(got.headers['x-consul-index'], String(catalog.index))
  t.same(got.json(), {
    ID: '00000000-0000-4000-8000-000000000001',
    Description: 'web may call api',
    SourceNS: 'default',
    SourceName: 'web',
    DestinationNS: 'default',
    DestinationName: 'api',
    SourceType: 'consul',
    Action: 'allow',
    Meta: { team: 'a' },
    Precedence: 9,
    CreatedAt: '2026-01-01T00:00:00.000Z',
    UpdatedAt: '2026-01-01T00:00:00.000Z',
  })
})

t.test('updating a pair keeps its ID and CreatedAt', async (t) => {
  const { app, clock } = await setup(t)
  await app.inject({ method: 'PUT', url: '/v1/connect/intentions/exact?source=web&destination=api', payload: { Action: 'allow' } })
  clock.nowMs += 60_000
  await app.inject({ method: 'PUT', url: '/v1/connect/intentions/exact?source=web&destination=api', payload: { Action: 'deny' } })
  const body = (await app.inject({ method: 'GET', url: '/v1/connect/intentions/exact?source=web&destination=api' })).json()
  t.equal(body.ID, '00000000-0000-4000-8000-000000000001')
  t.equal(body.Action, 'deny')
  t.equal(body.CreatedAt, '2026-01-01T00:00:00.000Z')
  t.equal(body.UpdatedAt, '2026-01-01T00:01:00.000Z')
})

t.test('GET exact of a missing pair is 404; bad input is 400 and stores nothing', async (t) => {
  const { app, catalog, policy } = await setup(t)
  const indexBefore = catalog.index
  const missing = await app.inject({ method: 'GET', url: '/v1/connect/intentions/exact?source=web&destination=api' })
  t.equal(missing.statusCode, 404)
  t.equal(missing.body, 'Intention not found')
  const rows: Array<[string, unknown, RegExp]> = [
    ['/v1/connect/intentions/exact?destination=api', { Action: 'allow' }, /required query parameter 'source' not set/],
    ['/v1/connect/intentions/exact?source=web&destination=api', { Action: 'maybe' }, /Action must be set to 'allow' or 'deny'/],
    ['/v1/connect/intentions/exact?source=web&destination=*', { Permissions: [{ Action: 'allow', HTTP: { PathExact: '/' } }] }, /wildcarded destinations/],
    ['/v1/connect/intentions/exact?source=web&destination=api', { Permissions: [{ Action: 'allow', HTTP: { PathRegex: '(x)\\1' } }] }, /PathRegex: invalid regular expression/],
    ['/v1/connect/intentions/exact?source=we*b&destination=api', { Action: 'allow' }, /partial values/],
  ]
  for (const [url, payload, message] of rows) {
    const response = await app.inject({ method: 'PUT', url, payload: payload as object })
    t.equal(response.statusCode, 400, url)
    t.match(response.body, message)
  }
  const notJson = await app.inject({ method: 'PUT', url: '/v1/connect/intentions/exact?source=web&destination=api', payload: '{nope', headers: { 'content-type': 'application/json' } })
  t.equal(notJson.statusCode, 400)
  t.equal(policy.intentions.size, 0, 'nothing stored')
  t.equal(catalog.index, indexBefore, 'index unchanged')
})

t.test('DELETE exact removes the pair and answers true', async (t) => {
  const { app, policy } = await setup(t)
  await app.inject({ method: 'PUT', url: '/v1/connect/intentions/exact?source=web&destination=api', payload: { Action: 'allow' } })
  const response = await app.inject({ method: 'DELETE', url: '/v1/connect/intentions/exact?source=web&destination=api' })
  t.equal(response.body, 'true')
  t.equal(policy.intentions.size, 0)
})

t.test('list returns every intention in precedence order, and blocks until the index moves', async (t) => {
  const { app } = await setup(t)
  for (const [source, destination] of [['*', '*'], ['web', 'api'], ['*', 'api']]) {
    await app.inject({ method: 'PUT', url: `/v1/connect/intentions/exact?source=${source}&destination=${destination}`, payload: { Action: 'deny' } })
  }
  const list = await app.inject({ method: 'GET', url: '/v1/connect/intentions' })
  t.same(list.json().map((i: { Precedence: number }) => i.Precedence), [9, 8, 5])
  const index = Number(list.headers['x-consul-index'])
  const blocked = app.inject({ method: 'GET', url: `/v1/connect/intentions?index=${index}&wait=5s` })
  let settled = false
  void blocked.then(() => { settled = true })
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(settled, false, 'still waiting before any change')
  await app.inject({ method: 'PUT', url: '/v1/connect/intentions/exact?source=db&destination=api', payload: { Action: 'allow' } })
  const response = await blocked
  t.equal(response.json().length, 4)
  t.ok(Number(response.headers['x-consul-index']) > index)
})

t.test('filter= selects with Consul\'s grammar over API field names; a bad expression is 400', async (t) => {
  const { app } = await setup(t)
  await app.inject({ method: 'PUT', url: '/v1/connect/intentions/exact?source=web&destination=api', payload: { Action: 'allow' } })
  await app.inject({ method: 'PUT', url: '/v1/connect/intentions/exact?source=batch&destination=api', payload: { Action: 'deny', Meta: { team: 'data' } } })
  const list = async (expression: string) => app.inject({ method: 'GET', url: '/v1/connect/intentions?filter=' + encodeURIComponent(expression) })
  t.same((await list('SourceName == "web"')).json().map((i: { SourceName: string }) => i.SourceName), ['web'])
  t.same((await list('Action == deny and Meta.team == "data"')).json().map((i: { SourceName: string }) => i.SourceName), ['batch'])
  t.equal((await list('DestinationNS == default')).json().length, 2)
  const bad = await list('SourceName ==')
  t.equal(bad.statusCode, 400)
  t.match(bad.body, /^Failed to create boolean expression evaluator/)
})

t.test('check answers {"Allowed"} as Consul: L7 intentions count as deny for the L4 check', async (t) => {
  const { app } = await setup(t, 'allow')
  await app.inject({ method: 'PUT', url: '/v1/connect/intentions/exact?source=web&destination=db', payload: { Action: 'deny' } })
  await app.inject({ method: 'PUT', url: '/v1/connect/intentions/exact?source=web&destination=api', payload: { Permissions: [{ Action: 'allow', HTTP: { PathPrefix: '/' } }] } })
  const check = async (source: string, destination: string) => (await app.inject({ method: 'GET', url: `/v1/connect/intentions/check?source=${source}&destination=${destination}` })).json()
  t.same(await check('web', 'db'), { Allowed: false })
  t.same(await check('web', 'api'), { Allowed: false })
  t.same(await check('other', 'db'), { Allowed: true }, 'default allow')
  const missing = await app.inject({ method: 'GET', url: '/v1/connect/intentions/check?source=web' })
  t.equal(missing.statusCode, 400)
  t.equal(missing.body, "required query parameter 'destination' not set")
})

t.test('match maps each name to its intentions in precedence order', async (t) => {
  const { app } = await setup(t)
  for (const [source, destination] of [['*', '*'], ['web', 'api'], ['*', 'api'], ['web', 'db']]) {
    await app.inject({ method: 'PUT', url: `/v1/connect/intentions/exact?source=${source}&destination=${destination}`, payload: { Action: 'allow' } })
  }
  const response = await app.inject({ method: 'GET', url: '/v1/connect/intentions/match?by=destination&name=api&name=db' })
  t.equal(response.statusCode, 200)
  const body = response.json()
  t.same(body.api.map((i: { SourceName: string }) => i.SourceName), ['web', '*', '*'])
  t.same(body.db.map((i: { SourceName: string, DestinationName: string }) => `${i.SourceName}/${i.DestinationName}`), ['web/db', '*/*'])
  const bySource = (await app.inject({ method: 'GET', url: '/v1/connect/intentions/match?by=source&name=web' })).json()
  t.same(bySource.web.map((i: { SourceName: string, DestinationName: string }) => `${i.SourceName}/${i.DestinationName}`), ['web/api', 'web/db', '*/api', '*/*'])
  t.equal((await app.inject({ method: 'GET', url: '/v1/connect/intentions/match?by=sideways&name=web' })).statusCode, 400)
  t.equal((await app.inject({ method: 'GET', url: '/v1/connect/intentions/match?by=source' })).statusCode, 400)
})

t.test('legacy ID API: create with POST, then GET, PUT and DELETE by ID', async (t) => {
  const { app, policy } = await setup(t)
  const created = await app.inject({ method: 'POST', url: '/v1/connect/intentions', payload: { SourceName: 'web', DestinationName: 'api', Action: 'allow' } })
  t.equal(created.statusCode, 200)
  const { ID } = created.json()
  t.equal(ID, '00000000-0000-4000-8000-000000000001')
  const duplicate = await app.inject({ method: 'POST', url: '/v1/connect/intentions', payload: { SourceName: 'web', DestinationName: 'api', Action: 'deny' } })
  t.equal(duplicate.statusCode, 400)
  t.match(duplicate.body, /duplicate intention/)
  t.equal((await app.inject({ method: 'GET', url: `/v1/connect/intentions/${ID}` })).json().Action, 'allow')
  const updated = await app.inject({ method: 'PUT', url: `/v1/connect/intentions/${ID}`, payload: { SourceName: 'web', DestinationName: 'api', Action: 'deny' } })
  t.equal(updated.statusCode, 200)
  t.equal(policy.intentions.get('web', 'api')?.Action, 'deny')
  t.equal(policy.intentions.get('web', 'api')?.ID, ID)
  const renamed = await app.inject({ method: 'PUT', url: `/v1/connect/intentions/${ID}`, payload: { SourceName: 'batch', DestinationName: 'api', Action: 'deny' } })
  t.equal(renamed.statusCode, 400)
  t.equal((await app.inject({ method: 'DELETE', url: `/v1/connect/intentions/${ID}` })).body, 'true')
  t.equal((await app.inject({ method: 'GET', url: `/v1/connect/intentions/${ID}` })).statusCode, 404)
})

t.test('agent authorize answers {Authorized, Reason} and refuses URIs that are not service SPIFFE IDs', async (t) => {
  const { app } = await setup(t, 'deny')
  await app.inject({ method: 'PUT', url: '/v1/connect/intentions/exact?source=web&destination=api', payload: { Action: 'allow' } })
  await app.inject({ method: 'PUT', url: '/v1/connect/intentions/exact?source=admin&destination=api', payload: { Permissions: [{ Action: 'allow', HTTP: { PathPrefix: '/' } }] } })
  const authorize = (payload: object) => app.inject({ method: 'POST', url: '/v1/agent/connect/authorize', payload })
  const allowed = await authorize({ Target: 'api', ClientCertURI: SPIFFE('web'), ClientCertSerial: '01' })
  t.equal(allowed.statusCode, 200)
  t.same(allowed.json(), { Authorized: true, Reason: 'Matched L4 intention: web => api (ID: 00000000-0000-4000-8000-000000000001, Precedence: 9)' })
  const denied = (await authorize({ Target: 'api', ClientCertURI: SPIFFE('batch') })).json()
  t.equal(denied.Authorized, false)
  t.match(denied.Reason, /default policy is deny/)
  const l7 = (await authorize({ Target: 'api', ClientCertURI: SPIFFE('admin') })).json()
  t.equal(l7.Authorized, false)
  t.match(l7.Reason, /^Matched L7 intention/)
  const rows: Array<[object, string]> = [
    [{ ClientCertURI: SPIFFE('web') }, 'Target service must be specified'],
    [{ Target: '*', ClientCertURI: SPIFFE('web') }, 'Target must name a service, not the wildcard "*"'],
    [{ Target: 'api', ClientCertURI: 'not-a-uri' }, 'ClientCertURI not a valid Connect identifier'],
    [{ Target: 'api', ClientCertURI: 'spiffe://td.consul/agent/client/dc/dc1/id/node1' }, 'ClientCertURI not a valid Service identifier'],
  ]
  for (const [payload, message] of rows) {
    const response = await authorize(payload)
    t.equal(response.statusCode, 400, message)
    t.equal(response.body, message)
  }
})
