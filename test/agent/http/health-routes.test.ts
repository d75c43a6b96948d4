// Specification of /v1/health/*: instances with node and service checks, `?passing`, `?tag`,
// connect sidecars, checks by service/node/state, 400 on a bad state or filter, blocking queries.

import t from 'tap'
import type { Test } from 'tap'
import { AnswerCache } from '../../../agent/http/answer-cache.ts'
import { buildHttpServer } from '../../../agent/http/server.ts'
import { registerHealthRoutes } from '../../../agent/http/health-routes.ts'
import { checkEntry, checkRecord, nodeEntry, openCatalog, serviceEntry, serviceRecord } from '../../catalog/fixtures.ts'

async function setup (t: Test) {
  const catalog = await openCatalog(t, 'self')
  await catalog.registerService(serviceRecord('web-1', { Tags: ['v1'] }), [checkRecord('web-1-ttl')])
  await catalog.merge([
    nodeEntry('n1', 1, { Meta: { rack: 'r1' } }),
    serviceEntry('n1', 'web-2', 2, { Tags: ['v2'] }),
    checkEntry('n1', 'web-2-http', 3, { ServiceID: 'web-2', ServiceName: 'web', Status: 'critical' }),
    serviceEntry('n1', 'web-sidecar-proxy', 4, { Service: 'web-sidecar-proxy', Kind: 'connect-proxy', Proxy: { DestinationServiceName: 'web' } }),
  ])
  const app = buildHttpServer()
  // Every route test goes through the answer cache, as the agent wires it.
  const answers = new AnswerCache()
  registerHealthRoutes(app, { catalog, random: () => 0, answers })
  t.teardown(async () => { await app.close() })
  return { app, catalog, answers }
}

const ids = (entries: Array<{ Service: { ID: string } }>): string[] => entries.map(entry => entry.Service.ID)

t.test('GET /v1/health/service/:service returns Node, Service and Checks; ?passing drops unhealthy ones', async t => {
  const { app, catalog } = await setup(t)
  const response = await app.inject('/v1/health/service/web')
  t.equal(response.statusCode, 200)
  t.equal(response.headers['x-consul-index'], String(catalog.index))
  const entries = response.json()
  t.same(ids(entries), ['web-2', 'web-1'])
  t.match(entries[1], { Node: { Node: 'self', Datacenter: 'dc1' }, Service: { ID: 'web-1', Service: 'web', Tags: ['v1'] }, Checks: [{ CheckID: 'serfHealth' }, { CheckID: 'web-1-ttl', Status: 'passing' }] })
  t.same(ids((await app.inject('/v1/health/service/web?passing')).json()), ['web-1'])
  t.same(ids((await app.inject('/v1/health/service/web?passing=true')).json()), ['web-1'])
  t.same(ids((await app.inject('/v1/health/service/web?passing=false')).json()), ['web-2', 'web-1'])
  t.same(ids((await app.inject('/v1/health/service/web?tag=v2')).json()), ['web-2'])
  t.same(ids((await app.inject('/v1/health/service/web?node-meta=rack:r1')).json()), ['web-2'])
  t.same(ids((await app.inject(`/v1/health/service/web?filter=${encodeURIComponent('Checks.Status == critical')}`)).json()), ['web-2'])
  t.same((await app.inject('/v1/health/service/nothing')).json(), [])
})

t.test('membership shows through: a failed node\'s instances are no longer passing', async t => {
  const { app, catalog } = await setup(t)
  await catalog.setNodeLiveness('n1', 'failed')
  const [entry] = (await app.inject('/v1/health/service/web-sidecar-proxy')).json()
  t.match(entry.Checks[0], { CheckID: 'serfHealth', Status: 'critical' })
  t.same((await app.inject('/v1/health/service/web-sidecar-proxy?passing')).json(), [])
})

t.test('GET /v1/health/connect/:service lists sidecars for the service', async t => {
  const { app } = await setup(t)
  t.same(ids((await app.inject('/v1/health/connect/web')).json()), ['web-sidecar-proxy'])
})

t.test('GET /v1/health/checks/:service, /node/:node and /state/:state', async t => {
  const { app } = await setup(t)
  t.same((await app.inject('/v1/health/checks/web')).json().map((c: { CheckID: string }) => c.CheckID), ['web-2-http', 'web-1-ttl'])
  t.same((await app.inject('/v1/health/checks/web?node-meta=rack:r1')).json().map((c: { CheckID: string }) => c.CheckID), ['web-2-http'])
  t.same((await app.inject('/v1/health/node/n1')).json().map((c: { CheckID: string }) => c.CheckID), ['serfHealth', 'web-2-http'])
  t.same((await app.inject('/v1/health/node/ghost')).json(), [])
  t.same((await app.inject('/v1/health/state/critical')).json().map((c: { CheckID: string }) => c.CheckID), ['web-2-http'])
  t.equal((await app.inject('/v1/health/state/any')).json().length, 4)
  t.same((await app.inject('/v1/health/state/passing?node-meta=rack:r1')).json().map((c: { Node: string, CheckID: string }) => [c.Node, c.CheckID]), [['n1', 'serfHealth']])
  t.same((await app.inject('/v1/health/state/any?filter=Node%20%3D%3D%20self')).json().map((c: { CheckID: string }) => c.CheckID), ['serfHealth', 'web-1-ttl'])
})

t.test('bad state, filter or passing flag, and another datacenter, are refused', async t => {
  const { app } = await setup(t)
  const badState = await app.inject('/v1/health/state/sick')
  t.equal(badState.statusCode, 400)
  t.match(badState.body, /Bad check state "sick"/)
  const badFilter = await app.inject('/v1/health/service/web?filter=(Service.ID%20%3D%3D%20x')
  t.equal(badFilter.statusCode, 400)
  t.match(badFilter.body, /unmatched parentheses/)
  t.equal((await app.inject('/v1/health/checks/web?dc=elsewhere')).statusCode, 500)
  const badPassing = await app.inject('/v1/health/service/web?passing=maybe')
  t.equal(badPassing.statusCode, 400)
  t.match(badPassing.body, /Invalid value for \?passing/)
})

t.test('a blocking health query wakes when a check changes and times out on its wait', async t => {
  const { app, catalog } = await setup(t)
  const index = catalog.index
  const pending = app.inject(`/v1/health/service/web?passing&index=${index}&wait=30s`)
  await catalog.updateCheck('web-1-ttl', 'critical', 'TTL expired')
  const response = await pending
  t.equal(response.headers['x-consul-index'], String(index + 1))
  t.same(response.json(), [], 'the only passing instance just failed')
  const idle = await app.inject(`/v1/health/state/any?index=${index + 1}&wait=5ms`)
  t.equal(idle.headers['x-consul-index'], String(index + 1))
})

t.test('repeated health queries are answered from the answer cache until the catalog changes', async t => {
  const { app, catalog, answers } = await setup(t)
  const first = await app.inject('/v1/health/service/web?passing')
  const again = await app.inject('/v1/health/service/web?passing&index=0')
  t.equal(again.body, first.body, 'same question, same catalog: same bytes')
  t.equal(again.headers['content-type'], 'application/json; charset=utf-8')
  t.equal(answers.hits, 1, 'the second answer came from the cache (index=0 does not make it another question)')
  t.same(ids((await app.inject('/v1/health/service/web')).json()), ['web-2', 'web-1'], '?passing and its absence are different questions')
  t.same(ids((await app.inject('/v1/health/connect/web')).json()), ['web-sidecar-proxy'], 'the connect route does not share answers with the plain one')

  await catalog.updateCheck('web-1-ttl', 'critical', 'down')
  const after = await app.inject('/v1/health/service/web?passing')
  t.same(after.json(), [], 'a check change is seen at once: the cached answer was for an older index')
  t.equal(after.headers['x-consul-index'], String(catalog.index))
})
