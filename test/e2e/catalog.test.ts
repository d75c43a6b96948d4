// The replicated catalog across real agents: a registration on one agent is visible on every agent;
// a crashed agent's services turn critical; a restarted one republishes with no duplicates; blocking
// queries wake on a change and return on `wait`; registrations survive kill -9.

import t from 'tap'
import { Cluster, http, members, waitFor } from './harness.ts'
import type { AgentProcess } from './harness.ts'

interface HealthEntry { Node: { Node: string }, Service: { ID: string, Service: string, Port: number }, Checks: Array<{ CheckID: string, Status: string }> }

async function health (agent: AgentProcess, service: string, query = ''): Promise<HealthEntry[]> {
  const response = await http(agent, 'GET', `/v1/health/service/${service}${query}`)
  if (response.status !== 200) throw new Error(`health: HTTP ${response.status}`)
  return response.body as HealthEntry[]
}

t.test('catalog replication, failure, restart and persistence across three agents', async (t) => {
  const cluster = new Cluster()
  t.teardown(async () => await cluster.cleanup())
  const a = await cluster.start({ name: 'ca' })
  const b = await cluster.start({ name: 'cb', join: [a.gossipAddr] })
  const c = await cluster.start({ name: 'cc', join: [a.gossipAddr] })
  for (const agent of [a, b, c]) await waitFor(`${agent.name} full membership`, async () => (await members(agent)).length === 3)

  const registered = await http(a, 'PUT', '/v1/agent/service/register', { Name: 'web', ID: 'web-1', Port: 8080, Tags: ['v1'], Check: { TTL: '60s', Status: 'passing' } })
  t.equal(registered.status, 200)
  for (const agent of [b, c]) {
    await waitFor(`web on ${agent.name}`, async () => (await health(agent, 'web', '?passing')).length === 1)
  }
  t.pass('a registration on A is visible, passing, on B and C')

  t.equal((await http(a, 'PUT', '/v1/agent/service/register', { Name: 'bad', Port: 'eighty' })).status, 400, 'bad registration is refused')
  t.same((await http(a, 'GET', '/v1/catalog/services')).body, { web: ['v1'] }, 'and nothing of it is stored')

  await http(b, 'PUT', '/v1/agent/service/register', { Name: 'api', ID: 'api-b', Port: 9090 })
  await http(b, 'PUT', '/v1/agent/service/register', { Name: 'api', ID: 'api-b2', Port: 9091 })
  await waitFor('api instances on A', async () => (await health(a, 'api')).length === 2)

  await cluster.kill(b)
  await waitFor('B failed on A', async () => (await members(a)).find((member) => member.Name === 'cb')?.Status === 4)
  await waitFor('api critical on A', async () => {
    const entries = await health(a, 'api')
    return entries.length === 2 && entries.every((entry) => entry.Checks.some((check) => check.CheckID === 'serfHealth' && check.Status === 'critical'))
  })
  t.equal((await health(a, 'api', '?passing')).length, 0, 'a failed node\'s services are excluded from ?passing')

  const restarted = await cluster.start({ name: 'cb', dataDir: b.dataDir, join: [a.gossipAddr] })
  await waitFor('api healthy again on A', async () => (await health(a, 'api', '?passing')).length === 2)
  const services = (await http(restarted, 'GET', '/v1/agent/services')).body as Record<string, unknown>
  t.same(Object.keys(services).sort(), ['api-b', 'api-b2'], 'the restarted agent has exactly its registrations')
  t.equal((await health(c, 'api')).length, 2, 'no duplicates on C')

  // Blocking query: wakes when the catalog changes.
  const first = await http(c, 'GET', '/v1/health/service/api')
  const index = Number(first.headers.get('x-consul-index'))
  t.ok(index > 0, 'answers carry X-Consul-Index')
  // The index is the agent's whole catalog, so an unrelated change (a check update elsewhere) may
  // wake a query early, as Consul allows; an unchanged catalog must hold it for `wait`.
  let timedOut = first
  let held = false
  for (let attempt = 0; attempt < 10 && !held; attempt++) {
    const sentIndex = Number(timedOut.headers.get('x-consul-index'))
    const started = Date.now()
    timedOut = await http(c, 'GET', `/v1/health/service/api?index=${sentIndex}&wait=300ms`)
    const returnedIndex = Number(timedOut.headers.get('x-consul-index'))
    t.ok(returnedIndex >= sentIndex, 'the index never goes back')
    held = returnedIndex === sentIndex && Date.now() - started >= 250
  }
  t.ok(held, 'an unchanged blocking query waits for `wait`')
  const woken = http(c, 'GET', `/v1/health/service/api?index=${Number(timedOut.headers.get('x-consul-index'))}&wait=30s`)
  await http(restarted, 'PUT', '/v1/agent/service/register', { Name: 'api', ID: 'api-b3', Port: 9092 })
  const answer = await woken
  t.equal((answer.body as HealthEntry[]).length, 3, 'a blocking query wakes with the change')

  // kill -9 and restart: exactly the same registrations.
  await cluster.kill(a)
  const again = await cluster.start({ name: 'ca', dataDir: a.dataDir, join: [c.gossipAddr] })
  const local = (await http(again, 'GET', '/v1/agent/services')).body as Record<string, { Port: number }>
  t.same(Object.keys(local), ['web-1'], 'registrations survive kill -9, none lost or duplicated')
  await waitFor('C sees web passing again', async () => (await health(c, 'web', '?passing')).length === 1)
})
