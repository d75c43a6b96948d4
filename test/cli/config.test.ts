import { join } from 'node:path'
import t from 'tap'
import { startFakeAgent } from './fixtures/fake-agent.ts'
import { runCli } from './fixtures/run-cli.ts'

// Every case runs the real CLI as a process: allow for a loaded 2-core machine.
t.setTimeout(180_000)

t.test('config write PUTs each entry of the file to /v1/config', async t => {
  const agent = await startFakeAgent({ 'PUT /v1/config': { body: true } })
  t.teardown(() => agent.close())
  const entries = [{ Kind: 'service-defaults', Name: 'web', Protocol: 'http' }, { Kind: 'proxy-defaults', Name: 'global', Config: { foo: 1 } }]
  const dir = t.testdir({ 'entries.json': JSON.stringify(entries) })
  const result = await runCli(['config', 'write', join(dir, 'entries.json')], { httpAddr: agent.httpAddr })
  t.equal(result.code, 0, result.stderr)
  t.equal(result.stdout, 'Config entry written: service-defaults/web\nConfig entry written: proxy-defaults/global\n')
  t.same(agent.requests.map(request => [request.method, request.path, request.body]), entries.map(entry => ['PUT', '/v1/config', entry]))
})

t.test('config write rejects entries without a valid Kind and Name before sending', async t => {
  const agent = await startFakeAgent({ 'PUT /v1/config': { body: true } })
  t.teardown(() => agent.close())
  const result = await runCli(['config', 'write', '-'], { httpAddr: agent.httpAddr, stdin: '[{"Kind":"service-defaults","Name":"web"},{"Kind":"Service Defaults","Name":"x"}]' })
  t.equal(result.code, 1)
  t.equal(result.stderr, 'Error: stdin: entry 2 needs a "Kind" such as "service-defaults"\n')
  t.equal(agent.requests.length, 0)
})

t.test('config read prints the entry as JSON; a missing entry is an error', async t => {
  const entry = { Kind: 'service-defaults', Name: 'web', Protocol: 'http', ModifyIndex: 4 }
  const agent = await startFakeAgent({ 'GET /v1/config/service-defaults/web': { body: entry } })
  t.teardown(() => agent.close())
  const found = await runCli(['config', 'read', '--kind', 'service-defaults', '--name', 'web'], { httpAddr: agent.httpAddr })
  t.same(JSON.parse(found.stdout), entry)
  const missing = await runCli(['config', 'read', '--kind', 'service-defaults', '--name', 'db'], { httpAddr: agent.httpAddr })
  t.equal(missing.code, 1)
  t.equal(missing.stderr, 'Error: no config entry service-defaults/db\n')
  const badKind = await runCli(['config', 'read', '--kind', 'Bad_Kind', '--name', 'db'], { httpAddr: agent.httpAddr })
  t.equal(badKind.code, 1)
  t.match(badKind.stderr, /--kind must be a config entry kind/)
  t.equal(agent.requests.length, 2)
})

t.test('config list prints sorted names, or the entries with --format json; delete sends DELETE', async t => {
  const entries = [{ Kind: 'service-router', Name: 'web' }, { Kind: 'service-router', Name: 'api' }]
  const agent = await startFakeAgent({
    'GET /v1/config/service-router': { body: entries },
    'GET /v1/config/service-router/api': { body: entries[1] },
    'DELETE /v1/config/service-router/api': { body: true },
  })
  t.teardown(() => agent.close())
  const names = await runCli(['config', 'list', '--kind', 'service-router'], { httpAddr: agent.httpAddr })
  t.equal(names.stdout, 'Name\napi\nweb\n')
  const json = await runCli(['config', 'list', '--kind', 'service-router', '--format', 'json'], { httpAddr: agent.httpAddr })
  t.same(JSON.parse(json.stdout), entries)
  const deleted = await runCli(['config', 'delete', '--kind', 'service-router', '--name', 'api'], { httpAddr: agent.httpAddr })
  t.equal(deleted.code, 0)
  t.equal(deleted.stdout, 'Config entry deleted: service-router/api\n')
  t.same(agent.requests.at(-1)?.method, 'DELETE')
})

t.test('config delete of an entry the agent does not hold is already absent: exit 0, nothing deleted', async t => {
  const agent = await startFakeAgent({ 'DELETE /v1/config/service-router/api': { body: {} } })
  t.teardown(() => agent.close())
  const result = await runCli(['config', 'delete', '--kind', 'service-router', '--name', 'api'], { httpAddr: agent.httpAddr })
  t.equal(result.code, 0, result.stderr)
  t.equal(result.stdout, 'Already absent: config entry service-router/api\n')
  t.same(agent.requests.map(request => `${request.method} ${request.path}`), ['GET /v1/config/service-router/api'])
})

/** A fake agent with an in-memory config store, echoing entries back the way Consul does. */
async function startStoreAgent (store: Map<string, Record<string, unknown>>) {
  const agent = await startFakeAgent({
    'PUT /v1/config': request => {
      const entry = request.body as Record<string, unknown>
      // Like the agent: a refused entry is refused whether validated or written; ?validate stores nothing.
      if (String(entry.Name).startsWith('bad')) return { status: 400, body: `${String(entry.Name)} is not a valid entry` }
      if (request.query.validate !== undefined) return { body: true }
      store.set(`${String(entry.Kind)}/${String(entry.Name)}`, { ...entry, Meta: null, CreateIndex: 1, ModifyIndex: 2 })
      return { body: true }
    },
    // Like the agent: one verdict per entry, null when accepted; stores nothing.
    'POST /v1/mesh/config/validate': request => ({
      body: (request.body as Array<Record<string, unknown>>).map(entry => String(entry.Name).startsWith('bad') ? `${String(entry.Name)} is not a valid entry` : null),
    }),
  })
  agent.routes.set('GET /v1/config/service-defaults/web', () => stored('service-defaults/web'))
  agent.routes.set('GET /v1/config/service-router/web', () => stored('service-router/web'))
  agent.routes.set('GET /v1/config/proxy-defaults/global', () => stored('proxy-defaults/global'))
  function stored (key: string) {
    const entry = store.get(key)
    return entry === undefined ? { status: 404, body: `Config entry not found for "${key}"` } : { body: entry }
  }
  return agent
}

const ROUTER_V1 = { Kind: 'service-router', Name: 'web', Routes: [{ Match: { HTTP: { PathPrefix: '/v2' } }, Destination: { ServiceSubset: 'v1' } }] }
const ROUTER_V2 = { Kind: 'service-router', Name: 'web', Routes: [{ Match: { HTTP: { PathPrefix: '/v2' } }, Destination: { ServiceSubset: 'v2' } }] }

t.test('config apply: files in name order, GET before PUT, only changed entries written, a summary of what changed', async t => {
  const store = new Map<string, Record<string, unknown>>([
    ['service-defaults/web', { Kind: 'service-defaults', Name: 'web', Protocol: 'http', Meta: null, CreateIndex: 1, ModifyIndex: 1 }],
    ['service-router/web', { ...ROUTER_V1, CreateIndex: 1, ModifyIndex: 1 }],
  ])
  const agent = await startStoreAgent(store)
  t.teardown(() => agent.close())
  const dir = t.testdir({
    '20-router.json': JSON.stringify(ROUTER_V2),
    '10-defaults.json': JSON.stringify([{ Kind: 'service-defaults', Name: 'web', Protocol: 'http' }, { Kind: 'proxy-defaults', Name: 'global', Config: { protocol: 'http' } }]),
    'README.md': 'not an entry',
  })
  const result = await runCli(['config', 'apply', dir], { httpAddr: agent.httpAddr })
  t.equal(result.code, 0, result.stderr)
  t.same(agent.requests.map(request => `${request.method} ${request.path}${request.query.validate === undefined ? '' : '?validate'}`), [
    'GET /v1/config/service-defaults/web',
    'GET /v1/config/proxy-defaults/global',
    'GET /v1/config/service-router/web',
    'POST /v1/mesh/config/validate',
    'PUT /v1/config',
    'PUT /v1/config',
  ], 'every changed entry is validated by the agent, in one request, before the first write')
  const lines = result.stdout.split('\n')
  t.match(lines[0], /^Entry +Result +Changed +File$/)
  t.match(lines[1], /^service-defaults\/web +unchanged +\S*10-defaults\.json$/)
  t.match(lines[2], /^proxy-defaults\/global +created +\S*10-defaults\.json$/)
  t.match(lines[3], /^service-router\/web +updated +Routes +\S*20-router\.json$/)
  t.equal(lines[4], '3 entries: 1 created, 1 updated, 1 unchanged')

  const again = await runCli(['config', 'apply', dir, '--format', 'json'], { httpAddr: agent.httpAddr })
  t.same(JSON.parse(again.stdout).map((result: { Result: string }) => result.Result), ['unchanged', 'unchanged', 'unchanged'],
    'applying the same directory twice changes nothing the second time')
})

t.test('config apply --dry-run reports the plan and writes nothing', async t => {
  const store = new Map<string, Record<string, unknown>>([['service-router/web', { ...ROUTER_V1, ModifyIndex: 1 }]])
  const agent = await startStoreAgent(store)
  t.teardown(() => agent.close())
  const dir = t.testdir({ 'router.json': JSON.stringify(ROUTER_V2) })
  const result = await runCli(['config', 'apply', dir, '--dry-run'], { httpAddr: agent.httpAddr })
  t.equal(result.code, 0, result.stderr)
  t.match(result.stdout, /service-router\/web +would be updated +Routes/)
  t.match(result.stdout, /Dry run, nothing written: 1 entry: 0 created, 1 updated, 0 unchanged/)
  const writes = (): number => agent.requests.filter(request => request.method === 'PUT' && request.query.validate === undefined).length
  t.same(agent.requests.map(request => request.method), ['GET', 'POST'], 'read, then validated by the agent')
  t.equal(writes(), 0)

  const diff = await runCli(['config', 'apply', dir, '--dry-run', '--diff'], { httpAddr: agent.httpAddr })
  t.match(diff.stdout, `\nservice-router/web (${join(dir, 'router.json')})\n  Routes\n` +
    '  - [{"Destination":{"ServiceSubset":"v1"},"Match":{"HTTP":{"PathPrefix":"/v2"}}}]\n' +
    '  + [{"Destination":{"ServiceSubset":"v2"},"Match":{"HTTP":{"PathPrefix":"/v2"}}}]\n\nDry run')
  t.equal(writes(), 0, 'still nothing written')
  t.same(store.get('service-router/web')?.Routes, ROUTER_V1.Routes)
})

t.test('config apply writes nothing when the agent refuses any changed entry, and names every refused one', async t => {
  const store = new Map<string, Record<string, unknown>>()
  const agent = await startStoreAgent(store)
  t.teardown(() => agent.close())
  const dir = t.testdir({
    '10-good.json': JSON.stringify({ Kind: 'service-defaults', Name: 'web', Protocol: 'http' }),
    '20-bad.json': JSON.stringify([{ Kind: 'service-defaults', Name: 'bad-one' }, { Kind: 'service-defaults', Name: 'bad-two' }]),
  })
  for (const args of [[], ['--dry-run']]) {
    const result = await runCli(['config', 'apply', dir, ...args], { httpAddr: agent.httpAddr })
    t.equal(result.code, 1)
    t.match(result.stderr, /the agent refused 2 of 3 changed entries, nothing was written/)
    t.match(result.stderr, /20-bad\.json: service-defaults\/bad-one: bad-one is not a valid entry/)
    t.match(result.stderr, /20-bad\.json: service-defaults\/bad-two: bad-two is not a valid entry/)
  }
  t.equal(store.size, 0, 'the valid entry before the bad ones was not written either')
  t.equal(agent.requests.filter(request => request.method === 'PUT' && request.query.validate === undefined).length, 0)
})

t.test('config apply validates every file first: one bad file or a duplicate entry means no request at all', async t => {
  const agent = await startStoreAgent(new Map())
  t.teardown(() => agent.close())
  const broken = t.testdir({ 'a.json': JSON.stringify({ Kind: 'service-defaults', Name: 'web' }), 'b.json': '{ nope' })
  const brokenResult = await runCli(['config', 'apply', broken], { httpAddr: agent.httpAddr })
  t.equal(brokenResult.code, 1)
  t.match(brokenResult.stderr, /^Error: \S*b\.json: not valid JSON/)
  const duplicate = t.testdir({ 'a.json': JSON.stringify({ Kind: 'service-defaults', Name: 'web' }), 'b.json': JSON.stringify({ Kind: 'service-defaults', Name: 'web' }) })
  const duplicateResult = await runCli(['config', 'apply', duplicate], { httpAddr: agent.httpAddr })
  t.match(duplicateResult.stderr, /b\.json: service-defaults\/web is already defined in \S*a\.json/)
  const empty = await runCli(['config', 'apply', t.testdir({ 'notes.txt': '' })], { httpAddr: agent.httpAddr })
  t.match(empty.stderr, /holds no \*\.json file/)
  const missing = await runCli(['config', 'apply', join(broken, 'nope')], { httpAddr: agent.httpAddr })
  t.match(missing.stderr, /nope: no such directory/)
  t.equal(agent.requests.length, 0)
})
