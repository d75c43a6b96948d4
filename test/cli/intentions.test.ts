import { join } from 'node:path'
import t from 'tap'
import { startFakeAgent } from './fixtures/fake-agent.ts'
import type { RecordedRequest } from './fixtures/fake-agent.ts'
import { runCli } from './fixtures/run-cli.ts'

// Every case runs the real CLI as a process: allow for a loaded 2-core machine.
t.setTimeout(180_000)

const EXACT = '/v1/connect/intentions/exact'
const summary = (request: RecordedRequest): unknown[] => [request.method, request.path, request.query, request.body]

t.test('allow and deny on a free pair create its intention, and print the agent\'s record with --format json', async t => {
  const stored = new Map<string, Record<string, unknown>>()
  const agent = await startIntentionStore(stored)
  t.teardown(() => agent.close())
  const allow = await runCli(['intentions', 'allow', 'web', 'api', '--description', 'frontend calls api'], { httpAddr: agent.httpAddr })
  t.equal(allow.code, 0, allow.stderr)
  t.equal(allow.stdout, 'Created: web => api (allow)\n')
  const deny = await runCli(['intention', 'deny', '*', 'db', '--format', 'json'], { httpAddr: agent.httpAddr })
  t.equal(deny.code, 0, deny.stderr)
  t.same(JSON.parse(deny.stdout), { Result: 'created', Intention: stored.get('* => db') })
  t.match(JSON.parse(deny.stdout).Intention, { ID: 'id', SourceName: '*', DestinationName: 'db', Action: 'deny', Precedence: 9 })
  t.same(agent.requests.map(summary), [
    ['GET', EXACT, { source: 'web', destination: 'api' }, undefined],
    ['PUT', EXACT, { source: 'web', destination: 'api' }, { SourceName: 'web', DestinationName: 'api', Action: 'allow', Description: 'frontend calls api' }],
    ['GET', EXACT, { source: 'web', destination: 'api' }, undefined],
    ['GET', EXACT, { source: '*', destination: 'db' }, undefined],
    ['PUT', EXACT, { source: '*', destination: 'db' }, { SourceName: '*', DestinationName: 'db', Action: 'deny' }],
    ['GET', EXACT, { source: '*', destination: 'db' }, undefined],
  ], 'read, write, read back the agent\'s record')
})

t.test('allow after a deny changes the action and keeps the description and metadata', async t => {
  const stored = new Map<string, Record<string, unknown>>([
    ['web => api', { ID: 'w1', SourceName: 'web', DestinationName: 'api', Action: 'deny', Description: 'frozen', Meta: { ticket: 'OPS-1' }, Precedence: 9 }],
  ])
  const agent = await startIntentionStore(stored)
  t.teardown(() => agent.close())
  const allow = await runCli(['intentions', 'allow', 'web', 'api'], { httpAddr: agent.httpAddr })
  t.equal(allow.code, 0, allow.stderr)
  t.equal(allow.stdout, 'Changed: web => api (deny → allow)\n')
  t.equal(allow.stderr, '')
  t.same(agent.requests.filter(request => request.method === 'PUT').map(summary), [
    ['PUT', EXACT, { source: 'web', destination: 'api' }, { SourceName: 'web', DestinationName: 'api', Action: 'allow', Description: 'frozen', Meta: { ticket: 'OPS-1' } }],
  ])
  const json = await runCli(['intentions', 'deny', 'web', 'api', '--format', 'json'], { httpAddr: agent.httpAddr })
  t.equal(json.code, 0, json.stderr)
  t.same(JSON.parse(json.stdout), { Result: 'changed', Intention: stored.get('web => api') })
  t.equal(stored.get('web => api')?.Action, 'deny')
})

t.test('the action a pair already has is unchanged: exit 0 and nothing written', async t => {
  const stored = new Map<string, Record<string, unknown>>([
    ['web => api', { ID: 'w1', SourceName: 'web', DestinationName: 'api', Action: 'allow', Description: '', Meta: {}, Permissions: null, Precedence: 9 }],
  ])
  const agent = await startIntentionStore(stored)
  t.teardown(() => agent.close())
  const again = await runCli(['intentions', 'allow', 'web', 'api'], { httpAddr: agent.httpAddr })
  t.equal(again.code, 0, again.stderr)
  t.equal(again.stdout, 'Unchanged: web => api (allow)\n')
  const json = await runCli(['intentions', 'allow', 'web', 'api', '--format', 'json'], { httpAddr: agent.httpAddr })
  t.same(JSON.parse(json.stdout), { Result: 'unchanged', Intention: stored.get('web => api') })
  t.same(agent.requests.map(request => request.method), ['GET', 'GET'], 'only the reads')
})

t.test('--replace is accepted and changes nothing about the outcome', async t => {
  const stored = new Map<string, Record<string, unknown>>([
    ['web => db', { ID: 'd1', SourceName: 'web', DestinationName: 'db', Action: 'allow', Precedence: 9 }],
  ])
  const agent = await startIntentionStore(stored)
  t.teardown(() => agent.close())
  const replaced = await runCli(['intentions', 'deny', 'web', 'db', '--replace'], { httpAddr: agent.httpAddr })
  t.equal(replaced.code, 0, replaced.stderr)
  t.equal(replaced.stdout, 'Changed: web => db (allow → deny)\n')
  const unchanged = await runCli(['intentions', 'deny', 'web', 'db', '--replace'], { httpAddr: agent.httpAddr })
  t.equal(unchanged.code, 0, unchanged.stderr)
  t.equal(unchanged.stdout, 'Unchanged: web => db (deny)\n')
  const created = await runCli(['intentions', 'allow', 'web', 'cache', '--replace'], { httpAddr: agent.httpAddr })
  t.equal(created.stdout, 'Created: web => cache (allow)\n')
  const help = await runCli(['intentions', 'allow', '--help'])
  t.match(help.stdout, /--replace +accepted for compatibility and does nothing/)
})

t.test('a new description alone is a change; an L7 intention becomes an L4 one', async t => {
  const l7 = [{ Action: 'allow', HTTP: { PathPrefix: '/read' } }]
  const stored = new Map<string, Record<string, unknown>>([
    ['web => api', { ID: 'w1', SourceName: 'web', DestinationName: 'api', Action: 'allow', Description: 'old', Precedence: 9 }],
    ['admin => api', { ID: 'a1', SourceName: 'admin', DestinationName: 'api', Action: '', Permissions: l7, Precedence: 9 }],
  ])
  const agent = await startIntentionStore(stored)
  t.teardown(() => agent.close())
  const described = await runCli(['intentions', 'allow', 'web', 'api', '--description', 'new'], { httpAddr: agent.httpAddr })
  t.equal(described.stdout, 'Changed: web => api (allow, description changed)\n')
  t.equal(stored.get('web => api')?.Description, 'new')
  const sameDescription = await runCli(['intentions', 'allow', 'web', 'api', '--description', 'new'], { httpAddr: agent.httpAddr })
  t.equal(sameDescription.stdout, 'Unchanged: web => api (allow)\n')
  const l4 = await runCli(['intentions', 'deny', 'admin', 'api'], { httpAddr: agent.httpAddr })
  t.equal(l4.stdout, 'Changed: admin => api (L7 (1 permissions) → deny)\n')
  t.same(agent.requests.at(-2)?.body, { SourceName: 'admin', DestinationName: 'api', Action: 'deny' }, 'the permissions are not sent')
})

t.test('list prints a table, L7 intentions shown by their permissions', async t => {
  const intentions = [
    { SourceName: 'web', DestinationName: 'api', Action: 'allow', Precedence: 9, Description: 'frontend' },
    { SourceName: 'admin', DestinationName: 'api', Action: '', Permissions: [{ Action: 'allow', HTTP: { PathPrefix: '/admin' } }], Precedence: 9 },
    { SourceName: '*', DestinationName: 'db', Action: 'deny', Precedence: 8 },
  ]
  const agent = await startFakeAgent({ 'GET /v1/connect/intentions': { body: intentions } })
  t.teardown(() => agent.close())
  const table = await runCli(['intentions', 'list'], { httpAddr: agent.httpAddr })
  t.equal(table.stdout, [
    'Source  Action              Destination  Precedence  Description',
    'web     allow               api          9           frontend',
    'admin   L7 (1 permissions)  api          9',
    '*       deny                db           8',
    '',
  ].join('\n'))
  const json = await runCli(['intentions', 'list', '--format', 'json'], { httpAddr: agent.httpAddr })
  t.same(JSON.parse(json.stdout), intentions)
})

t.test('get prints one intention; a missing one is an error', async t => {
  const agent = await startFakeAgent({
    [`GET ${EXACT}`]: request => request.query.source === 'web'
      ? { body: { ID: 'abc', SourceName: 'web', DestinationName: 'api', Action: 'allow', Precedence: 9, Description: 'x' } }
      : { status: 404, body: 'Intention not found' },
  })
  t.teardown(() => agent.close())
  const found = await runCli(['intentions', 'get', 'web', 'api'], { httpAddr: agent.httpAddr })
  t.equal(found.code, 0)
  t.match(found.stdout, /^Source: +web\nDestination: +api\nAction: +allow\nID: +abc\nDescription: +x\nPrecedence: +9\n/)
  const missing = await runCli(['intentions', 'get', 'batch', 'api'], { httpAddr: agent.httpAddr })
  t.equal(missing.code, 1)
  t.equal(missing.stderr, 'Error: no intention from "batch" to "api"\n')
})

t.test('check prints Allowed with exit 0 and Denied with exit 1', async t => {
  const agent = await startFakeAgent({
    'GET /v1/connect/intentions/check': request => ({ body: { Allowed: request.query.destination === 'api' } }),
  })
  t.teardown(() => agent.close())
  const allowed = await runCli(['intentions', 'check', 'web', 'api'], { httpAddr: agent.httpAddr })
  t.equal(allowed.code, 0)
  t.equal(allowed.stdout, 'Allowed\n')
  const denied = await runCli(['intentions', 'check', 'web', 'db'], { httpAddr: agent.httpAddr })
  t.equal(denied.code, 1)
  t.equal(denied.stdout, 'Denied\n')
  t.equal(denied.stderr, '')
  t.same(agent.requests.map(request => request.query), [{ source: 'web', destination: 'api' }, { source: 'web', destination: 'db' }])
})

t.test('check treats an answer without a boolean Allowed as an error, not as Denied', async t => {
  const agent = await startFakeAgent({ 'GET /v1/connect/intentions/check': { body: {} } })
  t.teardown(() => agent.close())
  const result = await runCli(['intentions', 'check', 'web', 'api'], { httpAddr: agent.httpAddr })
  t.equal(result.code, 1)
  t.equal(result.stdout, '')
  t.match(result.stderr, /no boolean "Allowed" field/)
})

t.test('delete removes an existing intention; a pair without one is already absent, exit 0', async t => {
  const stored = new Map<string, Record<string, unknown>>([
    ['web => db', { ID: 'd1', SourceName: 'web', DestinationName: 'db', Action: 'deny', Precedence: 9 }],
  ])
  const agent = await startIntentionStore(stored)
  t.teardown(() => agent.close())
  const deleted = await runCli(['intentions', 'delete', 'web', 'db'], { httpAddr: agent.httpAddr })
  t.equal(deleted.code, 0, deleted.stderr)
  t.equal(deleted.stdout, 'Deleted: web => db (deny)\n')
  t.equal(stored.size, 0)
  const again = await runCli(['intentions', 'delete', 'web', 'db'], { httpAddr: agent.httpAddr })
  t.equal(again.code, 0, again.stderr)
  t.equal(again.stdout, 'Already absent: web => db\n')
  t.same(agent.requests.map(summary), [
    ['GET', EXACT, { source: 'web', destination: 'db' }, undefined],
    ['DELETE', EXACT, { source: 'web', destination: 'db' }, undefined],
    ['GET', EXACT, { source: 'web', destination: 'db' }, undefined],
  ])
})

/** A fake agent holding intentions by pair, as the exact endpoints see them. */
async function startIntentionStore (stored: Map<string, Record<string, unknown>>) {
  const key = (request: RecordedRequest): string => `${request.query.source} => ${request.query.destination}`
  return startFakeAgent({
    [`GET ${EXACT}`]: request => {
      const intention = stored.get(key(request))
      return intention === undefined ? { status: 404, body: 'Intention not found' } : { body: intention }
    },
    [`PUT ${EXACT}`]: request => {
      // Echo back like the agent: its own fields and zero values around what was sent.
      stored.set(key(request), { ID: 'id', Precedence: 9, Permissions: null, Description: '', Meta: {}, ...(request.body as Record<string, unknown>) })
      return { body: true }
    },
    [`DELETE ${EXACT}`]: request => {
      stored.delete(key(request))
      return { body: true }
    },
    'PUT /v1/config': { body: true },
  })
}

t.test('apply writes each plain intention through its pair, only when new or different, L7 permissions included', async t => {
  const stored = new Map<string, Record<string, unknown>>([
    ['admin => api', { ID: 'a1', SourceName: 'admin', DestinationName: 'api', Action: 'allow', Description: '', Meta: {}, Permissions: null, Precedence: 9 }],
    ['batch => api', { ID: 'b1', SourceName: 'batch', DestinationName: 'api', Action: 'allow', Precedence: 9 }],
  ])
  const agent = await startIntentionStore(stored)
  t.teardown(() => agent.close())
  const l7 = [{ Action: 'allow', HTTP: { PathPrefix: '/read', Methods: ['GET'] } }]
  const dir = t.testdir({
    'intentions.json': JSON.stringify([
      { SourceName: 'web', DestinationName: 'api', Action: 'allow', Description: 'frontend' },
      { SourceName: 'web', DestinationName: 'db', Permissions: l7 },
      { SourceName: 'admin', DestinationName: 'api', Action: 'allow' },
      { SourceName: 'batch', DestinationName: 'api', Action: 'deny', ID: 'ignored', Precedence: 1 },
    ]),
  })
  const result = await runCli(['intentions', 'apply', join(dir, 'intentions.json')], { httpAddr: agent.httpAddr })
  t.equal(result.code, 0, result.stderr)
  t.equal(result.stdout, 'Intention     Result\nweb => api    created\nweb => db     created\nadmin => api  unchanged\nbatch => api  updated\n')
  t.same(agent.requests.filter(request => request.method === 'PUT').map(request => [request.query, request.body]), [
    [{ source: 'web', destination: 'api' }, { SourceName: 'web', DestinationName: 'api', Action: 'allow', Description: 'frontend' }],
    [{ source: 'web', destination: 'db' }, { SourceName: 'web', DestinationName: 'db', Permissions: l7 }],
    [{ source: 'batch', destination: 'api' }, { SourceName: 'batch', DestinationName: 'api', Action: 'deny' }],
  ], 'read-only fields from the file are not sent; the unchanged pair is not written')

  const again = await runCli(['intentions', 'apply', join(dir, 'intentions.json'), '--format', 'json'], { httpAddr: agent.httpAddr })
  t.same(JSON.parse(again.stdout).map((line: { Result: string }) => line.Result), ['unchanged', 'unchanged', 'unchanged', 'unchanged'])
  t.equal(agent.requests.filter(request => request.method === 'PUT').length, 3, 'applying the same file twice writes nothing the second time')
})

t.test('apply writes a service-intentions entry as is, L7 permissions included', async t => {
  const agent = await startIntentionStore(new Map())
  t.teardown(() => agent.close())
  const entry = {
    Kind: 'service-intentions',
    Name: 'api',
    Sources: [
      { Name: 'web', Permissions: [{ Action: 'allow', HTTP: { PathExact: '/health' } }, { Action: 'deny', HTTP: { PathPrefix: '/' } }] },
      { Name: '*', Action: 'deny' },
    ],
  }
  const dir = t.testdir({ 'api.json': JSON.stringify(entry) })
  const result = await runCli(['intentions', 'apply', join(dir, 'api.json'), '--format', 'json'], { httpAddr: agent.httpAddr })
  t.equal(result.code, 0, result.stderr)
  t.same(JSON.parse(result.stdout), [{ Target: 'service-intentions/api', Result: 'written' }])
  t.same(agent.requests.map(request => [request.method, request.path, request.query, request.body]), [['PUT', '/v1/config', {}, entry]])
})

t.test('apply validates the whole file before writing anything', async t => {
  const agent = await startIntentionStore(new Map())
  t.teardown(() => agent.close())
  const cases: Array<[unknown, RegExp]> = [
    [[{ SourceName: 'web', DestinationName: 'api', Action: 'allow' }, { SourceName: 'web', DestinationName: 'db', Action: 'maybe' }], /item 2 has Action "maybe"; expected allow or deny/],
    [{ SourceName: 'web', DestinationName: 'api' }, /needs exactly one of "Action".*or "Permissions"/],
    [{ SourceName: 'web', DestinationName: 'api', Action: 'allow', Permissions: [] }, /needs exactly one of/],
    [{ SourceName: 'web', DestinationName: 'api', Permissions: [{ Action: 'allow' }] }, /permission 1 needs an "HTTP" match object/],
    [{ Kind: 'service-router', Name: 'api' }, /is a "service-router" entry; intentions apply takes service-intentions/],
    [{ Kind: 'service-intentions', Name: 'api', Sources: [{ Action: 'allow' }] }, /source 1 needs a "Name"/],
    [{ DestinationName: 'api', Action: 'allow' }, /needs "SourceName" and "DestinationName"/],
    [[], /holds no intention/],
  ]
  for (const [content, message] of cases) {
    const dir = t.testdir({ 'bad.json': JSON.stringify(content) })
    const result = await runCli(['intentions', 'apply', join(dir, 'bad.json')], { httpAddr: agent.httpAddr })
    t.equal(result.code, 1, JSON.stringify(content))
    t.match(result.stderr, message)
  }
  t.equal(agent.requests.length, 0)
})

t.test('source and destination must be names or "*"', async t => {
  const result = await runCli(['intentions', 'allow', 'web', 'a/b'])
  t.equal(result.code, 1)
  t.match(result.stderr, /^Error: .*destination must be a service name or "\*", got "a\/b"\n$/)
})
