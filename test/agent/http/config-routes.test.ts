import t from 'tap'
import type { Test } from 'tap'
import pino from 'pino'
import { buildHttpServer } from '../../../agent/http/server.ts'
import { registerConfigRoutes } from '../../../agent/http/config-routes.ts'
import type { ConfigRouteDeps } from '../../../agent/http/config-routes.ts'
import { registerIntentionRoutes } from '../../../agent/http/intentions-routes.ts'
import { AgentPolicy, KIND_INTENTION } from '../../../agent/connect/policy.ts'
import type { Intention } from '../../../api/intentions/model.ts'
import type { Catalog } from '../../../catalog/catalog.ts'
import { memoryCatalog } from '../../catalog/fixtures.ts'

/**
 * The agent's deps do not track service-intentions entry indexes, so the routes allow only cas=0
 * there. To test how the routes use the indexes when deps do offer them, this adds them: an entry's
 * CreateIndex and ModifyIndex are the earliest and latest the catalog holds for its intentions
 * (an entry write rewrites every intention it keeps, so the latest moves with each write).
 */
function withIntentionEntryIndexes (deps: ConfigRouteDeps, catalog: Catalog): ConfigRouteDeps {
  const intentionEntryIndexes = (destinationName: string): { CreateIndex: number, ModifyIndex: number } | undefined => {
    const stored = catalog.clusterEntries(KIND_INTENTION).filter((entry) => (entry.value as Intention).DestinationName === destinationName)
    if (stored.length === 0) return undefined
    return { CreateIndex: Math.min(...stored.map((entry) => entry.createIndex)), ModifyIndex: Math.max(...stored.map((entry) => entry.modifyIndex)) }
  }
  return { ...deps, get index () { return deps.index }, intentionEntryIndexes }
}

/** The config and intention routes over the agent's own AgentPolicy on an in-memory catalog. */
async function setup (t: Test, options: { tracksIntentionIndexes?: boolean } = {}) {
  const catalog = await memoryCatalog(t, 'node-1')
  const policy = new AgentPolicy({ defaultPolicy: 'deny' }, { catalog, log: pino({ level: 'silent' }) })
  policy.start()
  const configDeps = policy.configRouteDeps()
  const app = buildHttpServer()
  registerConfigRoutes(app, options.tracksIntentionIndexes === true ? withIntentionEntryIndexes(configDeps, catalog) : configDeps)
  registerIntentionRoutes(app, policy.intentionRouteDeps())
  await app.ready()
  t.teardown(async () => { await app.close(); policy.stop() })
  return { app, catalog, policy }
}

const intentionsEntry = {
  Kind: 'service-intentions',
  Name: 'api',
  Sources: [
    { Name: 'web', Permissions: [{ Action: 'deny', HTTP: { PathPrefix: '/admin' } }, { Action: 'allow', HTTP: { PathPrefix: '/' } }] },
    { Name: '*', Action: 'deny' },
  ],
}

t.test('a service-intentions entry becomes the destination\'s intentions and reads back as an entry', async (t) => {
  const { app, policy } = await setup(t)
  const put = await app.inject({ method: 'PUT', url: '/v1/config', payload: intentionsEntry })
  t.equal(put.statusCode, 200)
  t.equal(put.body, 'true')
  t.equal(policy.intentions.get('*', 'api')?.Action, 'deny')
  t.equal(policy.intentions.get('web', 'api')?.Permissions?.length, 2)
  const exact = await app.inject({ method: 'GET', url: '/v1/connect/intentions/exact?source=web&destination=api' })
  t.equal(exact.json().Precedence, 9, 'visible through the intention API')
  const entry = (await app.inject({ method: 'GET', url: '/v1/config/service-intentions/api' })).json()
  t.equal(entry.Kind, 'service-intentions')
  t.same(entry.Sources.map((s: { Name: string, Precedence: number }) => [s.Name, s.Precedence]), [['web', 9], ['*', 8]])
  t.equal(entry.Sources[0].LegacyID, policy.intentions.get('web', 'api')?.ID)
  const list = (await app.inject({ method: 'GET', url: '/v1/config/service-intentions' })).json()
  t.same(list.map((e: { Name: string }) => e.Name), ['api'])
})

t.test('writing the entry again replaces the destination\'s set: dropped sources are deleted, IDs of kept ones survive', async (t) => {
  const { app, policy } = await setup(t)
  await app.inject({ method: 'PUT', url: '/v1/config', payload: intentionsEntry })
  const webId = policy.intentions.get('web', 'api')?.ID
  await app.inject({ method: 'PUT', url: '/v1/connect/intentions/exact?source=web&destination=db', payload: { Action: 'allow' } })
  const put = await app.inject({ method: 'PUT', url: '/v1/config', payload: { Kind: 'service-intentions', Name: 'api', Sources: [{ Name: 'web', Action: 'allow' }] } })
  t.equal(put.body, 'true')
  t.equal(policy.intentions.get('*', 'api'), undefined)
  t.equal(policy.intentions.get('web', 'api')?.ID, webId)
  t.equal(policy.intentions.get('web', 'db')?.Action, 'allow', 'other destinations untouched')
})

t.test('a read-modify-write cycle of an entry is accepted unchanged', async (t) => {
  const { app, policy } = await setup(t)
  await app.inject({ method: 'PUT', url: '/v1/config', payload: intentionsEntry })
  const before = policy.intentions.list()
  const entry = (await app.inject({ method: 'GET', url: '/v1/config/service-intentions/api' })).json()
  const put = await app.inject({ method: 'PUT', url: '/v1/config', payload: entry })
  t.equal(put.statusCode, 200)
  t.same(policy.intentions.list().map((i) => ({ ...i, UpdatedAt: '' })), before.map((i) => ({ ...i, UpdatedAt: '' })))
})

t.test('bad entries answer 400 and store nothing', async (t) => {
  const { app, catalog, policy } = await setup(t)
  const indexBefore = catalog.index
  const rows: Array<[unknown, RegExp]> = [
    [{ Name: 'api' }, /does not contain a kind/],
    [{ Kind: 'ingress-gateway', Name: 'api' }, /invalid config entry kind: ingress-gateway/],
    [{ Kind: 'service-router', Name: 'api' }, /discovery chain "api" uses a protocol "tcp" that does not permit advanced routing/],
    [{ Kind: 'service-intentions', Name: 'api', Sources: [] }, /At least one source is required/],
    [{ Kind: 'service-intentions', Name: 'api', Sources: [{ Name: 'web', Action: 'allow' }, { Name: 'x', Permissions: [{ Action: 'allow', HTTP: { PathExact: 'nope' } }] }] }, /^Sources\[1\]\.Permissions\[0\]\.HTTP\.PathExact doesn't start with '\/'/],
    [{ Kind: 'service-defaults', Name: 'web', Protocol: 'smtp' }, /Protocol must be one of tcp, http, http2, grpc/],
    [{ Kind: 'service-defaults', Name: 'web', Protocl: 'http' }, /invalid config key "Protocl"/],
    [{ Kind: 'service-defaults', Name: 'web/x' }, /not a valid service name/],
    [{ Kind: 'proxy-defaults', Name: 'web' }, /only "global" is supported/],
    [{ Kind: 'proxy-defaults', Name: 'global', Config: { protocol: 'carrier-pigeon' } }, /Config\.protocol must be one of/],
    [{ Kind: 'service-defaults', Name: 'web', Meta: { big: 'x'.repeat(600) } }, /exceeds maximum length 512/],
  ]
  for (const [payload, message] of rows) {
    const response = await app.inject({ method: 'PUT', url: '/v1/config', payload: payload as object })
    t.equal(response.statusCode, 400, String(message))
    t.match(response.body, message)
  }
  t.equal(policy.intentions.size, 0)
  t.same(policy.configEntries('service-defaults'), [])
  t.equal(catalog.index, indexBefore, 'index unchanged')
})

t.test('service-defaults and proxy-defaults are stored generically, with their indexes, and deleted', async (t) => {
  const { app } = await setup(t)
  t.equal((await app.inject({ method: 'PUT', url: '/v1/config', payload: { Kind: 'service-defaults', Name: 'web', Protocol: 'HTTP' } })).body, 'true')
  t.equal((await app.inject({ method: 'PUT', url: '/v1/config', payload: { kind: 'proxy-defaults', name: 'global', Config: { protocol: 'http' } } })).body, 'true')
  const web = (await app.inject({ method: 'GET', url: '/v1/config/service-defaults/web' })).json()
  t.match(web, { Kind: 'service-defaults', Name: 'web', Protocol: 'http', CreateIndex: Number, ModifyIndex: Number })
  t.same((await app.inject({ method: 'GET', url: '/v1/config/proxy-defaults' })).json().map((e: { Name: string }) => e.Name), ['global'])
  const deleted = await app.inject({ method: 'DELETE', url: '/v1/config/service-defaults/web' })
  t.equal(deleted.body, '{}')
  const missing = await app.inject({ method: 'GET', url: '/v1/config/service-defaults/web' })
  t.equal(missing.statusCode, 404)
  t.equal(missing.body, 'Config entry not found for "service-defaults" / "web"')
})

t.test('cas: 0 creates only if absent, N updates or deletes only at ModifyIndex N', async (t) => {
  const { app } = await setup(t)
  const put = (cas: number, payload: object) => app.inject({ method: 'PUT', url: `/v1/config?cas=${cas}`, payload })
  t.equal((await put(0, { Kind: 'service-defaults', Name: 'web', Protocol: 'http' })).body, 'true')
  t.equal((await put(0, { Kind: 'service-defaults', Name: 'web', Protocol: 'tcp' })).body, 'false', 'exists already')
  const { ModifyIndex } = (await app.inject({ method: 'GET', url: '/v1/config/service-defaults/web' })).json()
  t.equal((await put(ModifyIndex + 1, { Kind: 'service-defaults', Name: 'web', Protocol: 'tcp' })).body, 'false', 'stale index')
  t.equal((await put(ModifyIndex, { Kind: 'service-defaults', Name: 'web', Protocol: 'grpc' })).body, 'true')
  t.equal((await app.inject({ method: 'GET', url: '/v1/config/service-defaults/web' })).json().Protocol, 'grpc')
  t.equal((await app.inject({ method: 'DELETE', url: '/v1/config/service-defaults/web?cas=1' })).body, 'false')
  const current = (await app.inject({ method: 'GET', url: '/v1/config/service-defaults/web' })).json().ModifyIndex
  t.equal((await app.inject({ method: 'DELETE', url: `/v1/config/service-defaults/web?cas=${current}` })).body, 'true')
  t.equal((await app.inject({ method: 'PUT', url: '/v1/config?cas=abc', payload: intentionsEntry })).statusCode, 400)
})

t.test('cas on service-intentions uses the entry indexes when the deps track them', async (t) => {
  const { app, policy } = await setup(t, { tracksIntentionIndexes: true })
  const put = (cas: number, payload: object) => app.inject({ method: 'PUT', url: `/v1/config?cas=${cas}`, payload })
  t.equal((await put(0, intentionsEntry)).body, 'true', 'create-only on an absent entry')
  t.equal((await put(0, intentionsEntry)).body, 'false', 'create-only on an existing entry')
  const { CreateIndex, ModifyIndex } = (await app.inject({ method: 'GET', url: '/v1/config/service-intentions/api' })).json()
  t.ok(CreateIndex > 0 && ModifyIndex >= CreateIndex)
  t.equal((await put(ModifyIndex + 5, intentionsEntry)).body, 'false', 'stale index')
  t.equal((await put(ModifyIndex, { ...intentionsEntry, Sources: [{ Name: 'web', Action: 'allow' }] })).body, 'true')
  t.equal(policy.intentions.get('*', 'api'), undefined, 'the CAS write applied')
  const current = (await app.inject({ method: 'GET', url: '/v1/config/service-intentions/api' })).json()
  t.equal(current.CreateIndex, CreateIndex, 'CreateIndex survives updates')
  t.equal((await app.inject({ method: 'DELETE', url: '/v1/config/service-intentions/api?cas=0' })).body, 'false')
  t.equal((await app.inject({ method: 'DELETE', url: `/v1/config/service-intentions/api?cas=${current.ModifyIndex}` })).body, 'true')
  t.equal(policy.intentions.size, 0)
})

t.test('the agent tracks no service-intentions indexes: cas=0 still works, a non-zero cas is refused', async (t) => {
  const { app } = await setup(t)
  const put = (cas: number, payload: object) => app.inject({ method: 'PUT', url: `/v1/config?cas=${cas}`, payload })
  t.equal((await put(0, intentionsEntry)).body, 'true', 'cas=0 needs no indexes')
  t.equal((await put(7, intentionsEntry)).statusCode, 400, 'non-zero cas is refused without indexes')
})

t.test('deleting a service-intentions entry removes all its intentions', async (t) => {
  const { app, policy } = await setup(t)
  await app.inject({ method: 'PUT', url: '/v1/config', payload: intentionsEntry })
  const response = await app.inject({ method: 'DELETE', url: '/v1/config/service-intentions/api' })
  t.equal(response.statusCode, 200)
  t.equal(policy.intentions.size, 0)
  t.equal((await app.inject({ method: 'GET', url: '/v1/config/service-intentions/api' })).statusCode, 404)
})

t.test('GET blocks on the index', async (t) => {
  const { app, catalog } = await setup(t)
  const blocked = app.inject({ method: 'GET', url: `/v1/config/service-defaults?index=${catalog.index}&wait=5s` })
  await app.inject({ method: 'PUT', url: '/v1/config', payload: { Kind: 'service-defaults', Name: 'web', Protocol: 'http' } })
  const response = await blocked
  t.equal(response.json().length, 1)
  t.equal(response.headers['x-consul-index'], String(catalog.index))
})

t.test('PUT ?validate runs every check of a write and stores nothing', async (t) => {
  const { app, policy } = await setup(t)
  const valid = await app.inject({ method: 'PUT', url: '/v1/config?validate=1', payload: { Kind: 'service-defaults', Name: 'web', Protocol: 'http' } })
  t.equal(valid.statusCode, 200)
  t.equal(valid.body, 'true')
  t.equal((await app.inject({ method: 'GET', url: '/v1/config/service-defaults/web' })).statusCode, 404, 'not stored')

  const splitter = { Kind: 'service-splitter', Name: 'web', Splits: [{ Weight: 50, ServiceSubset: 'v1' }] }
  const refused = await app.inject({ method: 'PUT', url: '/v1/config?validate', payload: splitter })
  t.equal(refused.statusCode, 400, 'the same refusal a write would get')
  t.equal(refused.body, (await app.inject({ method: 'PUT', url: '/v1/config', payload: splitter })).body)

  t.equal((await app.inject({ method: 'PUT', url: '/v1/config?validate', payload: intentionsEntry })).body, 'true')
  t.same(policy.intentions.list(), [], 'a validated service-intentions entry creates no intention')
  const badIntentions = { ...intentionsEntry, Sources: [{ Name: 'web', Action: 'maybe' }] }
  t.equal((await app.inject({ method: 'PUT', url: '/v1/config?validate', payload: badIntentions })).statusCode, 400)
})

t.test('POST /v1/mesh/config/validate checks entries in order, each seeing those before it, and stores nothing', async (t) => {
  const { app } = await setup(t)
  const router = { Kind: 'service-router', Name: 'shop', Routes: [{ Match: { HTTP: { PathPrefix: '/v2' } }, Destination: { Service: 'shop-v2' } }] }
  const batch = [
    { Kind: 'service-defaults', Name: 'shop', Protocol: 'http' },
    { Kind: 'service-defaults', Name: 'shop-v2', Protocol: 'http' },
    router,
    { Kind: 'service-router', Name: 'ledger', Routes: [] },
    { Kind: 'service-splitter', Name: 'shop', Splits: [{ Weight: 90 }] },
  ]
  const response = await app.inject({ method: 'POST', url: '/v1/mesh/config/validate', payload: batch })
  t.equal(response.statusCode, 200)
  const verdicts = response.json() as Array<string | null>
  t.same(verdicts.slice(0, 3), [null, null, null], 'the router is accepted: the service-defaults before it count')
  t.match(verdicts[3], /discovery chain "ledger" uses a protocol "tcp"/)
  t.match(verdicts[4], /sum of all split weights must be 100/)
  const stored = await app.inject({ method: 'GET', url: '/v1/config/service-defaults/shop' })
  t.equal(stored.statusCode, 404, 'nothing was stored')
  const alone = await app.inject({ method: 'POST', url: '/v1/mesh/config/validate', payload: [router] })
  t.match((alone.json() as string[])[0], /discovery chain "shop" uses a protocol "tcp"/, 'without them the router is refused')
  const bad = await app.inject({ method: 'POST', url: '/v1/mesh/config/validate', payload: { Kind: 'service-router' } })
  t.equal(bad.statusCode, 400, 'a body that is not a list is refused')
})

t.test('a protocol change that would leave a router on tcp is refused, as Consul does', async (t) => {
  const { app } = await setup(t)
  for (const entry of [
    { Kind: 'service-defaults', Name: 'shop', Protocol: 'http' },
    { Kind: 'service-defaults', Name: 'shop-v2', Protocol: 'http' },
    { Kind: 'service-router', Name: 'shop', Routes: [{ Destination: { Service: 'shop-v2' } }] },
  ]) t.equal((await app.inject({ method: 'PUT', url: '/v1/config', payload: entry })).statusCode, 200)
  const toTcp = await app.inject({ method: 'PUT', url: '/v1/config', payload: { Kind: 'service-defaults', Name: 'shop-v2', Protocol: 'tcp' } })
  t.equal(toTcp.statusCode, 400)
  t.match(toTcp.body, /discovery chain "shop-v2" uses a protocol "tcp" that does not permit advanced routing or splitting behavior: service-router shop routes it/)
  const kept = await app.inject({ method: 'GET', url: '/v1/config/service-defaults/shop-v2' })
  t.equal((kept.json() as { Protocol: string }).Protocol, 'http', 'the refused write changed nothing')
  t.equal((await app.inject({ method: 'PUT', url: '/v1/config', payload: { Kind: 'service-defaults', Name: 'other', Protocol: 'tcp' } })).statusCode, 200, 'a service no router touches may be tcp')
  const batch = await app.inject({ method: 'POST', url: '/v1/mesh/config/validate', payload: [{ Kind: 'service-defaults', Name: 'shop', Protocol: 'tcp' }] })
  t.match((batch.json() as string[])[0], /discovery chain "shop" uses a protocol "tcp"/, 'the batch check refuses it too')
})
