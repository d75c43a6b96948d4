import t from 'tap'
import { startFakeAgent } from './fixtures/fake-agent.ts'
import { runCli } from './fixtures/run-cli.ts'

// Every case runs the real CLI as a process: allow for a loaded 2-core machine.
t.setTimeout(180_000)

const MEMBERS = [
  { Name: 'node-b', Addr: '10.0.0.2', Port: 8301, Status: 4, Tags: { role: 'node', dc: 'dc1', build: '0.1.0:abc', vsn: '2' } },
  { Name: 'node-a', Addr: '10.0.0.1', Port: 8301, Status: 1, Tags: { role: 'consul', dc: 'dc1', build: '0.1.0', vsn: '2' } },
  { Name: 'node-c', Addr: '::1', Port: 8301, Status: 3, Tags: { role: 'node', dc: 'dc2' }, ProtocolCur: 2 },
  { Name: 'node-d', Addr: '10.0.0.4', Port: 8301, Status: 2, Tags: {} },
]

t.test('members prints a table sorted by name with Consul status numbers as names', async t => {
  const agent = await startFakeAgent({ 'GET /v1/agent/members': { body: MEMBERS } })
  t.teardown(() => agent.close())
  const result = await runCli(['members'], { httpAddr: agent.httpAddr })
  t.equal(result.code, 0)
  t.equal(result.stderr, '')
  t.equal(result.stdout, [
    'Node    Address        Status   Type    Build  Protocol  DC',
    'node-a  10.0.0.1:8301  alive    server  0.1.0  2         dc1',
    'node-b  10.0.0.2:8301  failed   client  0.1.0  2         dc1',
    'node-c  [::1]:8301     left     client         2         dc2',
    'node-d  10.0.0.4:8301  leaving',
    '',
  ].join('\n'))
  t.same(agent.requests.map(request => `${request.method} ${request.path}`), ['GET /v1/agent/members'])
})

t.test('members --status filters by a regular expression on the status name; --format json keeps the raw members', async t => {
  const agent = await startFakeAgent({ 'GET /v1/agent/members': { body: MEMBERS } })
  t.teardown(() => agent.close())
  const result = await runCli(['members', '--status', 'failed|left', '--format', 'json'], { httpAddr: agent.httpAddr })
  t.equal(result.code, 0)
  t.same(JSON.parse(result.stdout), [MEMBERS[0], MEMBERS[2]], 'node-b (failed) and node-c (left), by name')
})

t.test('members --status with an invalid regular expression fails before any request', async t => {
  const agent = await startFakeAgent({ 'GET /v1/agent/members': { body: MEMBERS } })
  t.teardown(() => agent.close())
  const result = await runCli(['members', '--status', '('], { httpAddr: agent.httpAddr })
  t.equal(result.code, 1)
  t.match(result.stderr, /^Error: --status is not a valid regular expression: .*\n$/)
  t.equal(agent.requests.length, 0)
})

t.test('join PUTs each address, URL-encoded, and reports how many worked', async t => {
  const agent = await startFakeAgent({
    'PUT /v1/agent/join/10.0.0.5:8301': { body: true },
    'PUT /v1/agent/join/[::1]:8301': { body: true },
  })
  t.teardown(() => agent.close())
  const result = await runCli(['join', '10.0.0.5:8301', '[::1]:8301'], { httpAddr: agent.httpAddr })
  t.equal(result.code, 0)
  t.equal(result.stdout, 'Successfully joined cluster by contacting 2 nodes.\n')
  t.same(agent.requests.map(request => `${request.method} ${request.path}`),
    ['PUT /v1/agent/join/10.0.0.5:8301', 'PUT /v1/agent/join/[::1]:8301'])
  t.equal(agent.requests[1].rawPath, '/v1/agent/join/%5B%3A%3A1%5D%3A8301', 'the address is one path segment')
})

t.test('join succeeds when one address works, warns about the others, and fails when none does', async t => {
  const agent = await startFakeAgent({
    'PUT /v1/agent/join/10.0.0.5': { body: true },
    'PUT /v1/agent/join/10.0.0.6': { status: 500, body: 'dial tcp 10.0.0.6:8301: connection refused' },
  })
  t.teardown(() => agent.close())
  const partial = await runCli(['join', '10.0.0.6', '10.0.0.5'], { httpAddr: agent.httpAddr })
  t.equal(partial.code, 0)
  t.equal(partial.stdout, 'Successfully joined cluster by contacting 1 node.\n')
  t.match(partial.stderr, /^Warning: could not join through 10\.0\.0\.6 \(.*500: dial tcp 10\.0\.0\.6:8301: connection refused\)\n$/)
  const none = await runCli(['join', '10.0.0.6'], { httpAddr: agent.httpAddr })
  t.equal(none.code, 1)
  t.match(none.stderr, /^Error: could not join through any address: 10\.0\.0\.6 .*connection refused\)\n$/)
})

t.test('join rejects a malformed address without contacting the agent', async t => {
  const agent = await startFakeAgent()
  t.teardown(() => agent.close())
  const result = await runCli(['join', '10.0.0.5:notaport'], { httpAddr: agent.httpAddr })
  t.equal(result.code, 1)
  t.match(result.stderr, /^Error: address must be a port number/)
  t.equal(agent.requests.length, 0)
})

t.test('leave and force-leave (with --prune) call the agent endpoints', async t => {
  const agent = await startFakeAgent({
    'PUT /v1/agent/leave': { body: '' },
    'PUT /v1/agent/force-leave/node-b': { body: '' },
  })
  t.teardown(() => agent.close())
  const leave = await runCli(['leave'], { httpAddr: agent.httpAddr })
  t.equal(leave.code, 0)
  t.equal(leave.stdout, 'Graceful leave complete\n')
  const forceLeave = await runCli(['force-leave', 'node-b', '--prune'], { httpAddr: agent.httpAddr })
  t.equal(forceLeave.code, 0)
  t.same(agent.requests.map(request => [request.method, request.path, request.query]), [
    ['PUT', '/v1/agent/leave', {}],
    ['PUT', '/v1/agent/force-leave/node-b', { prune: '1' }],
  ])
})
