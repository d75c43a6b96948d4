import { join } from 'node:path'
import t from 'tap'
import { startFakeAgent } from './fixtures/fake-agent.ts'
import { runCli } from './fixtures/run-cli.ts'

// Every case runs the real CLI as a process: allow for a loaded 2-core machine.
t.setTimeout(180_000)

const REGISTER = 'PUT /v1/agent/service/register'

t.test('register from flags sends one Consul service definition with its checks', async t => {
  const agent = await startFakeAgent({ [REGISTER]: { body: '' } })
  t.teardown(() => agent.close())
  const result = await runCli([
    'register', '--name', 'web', '--id', 'web-1', '--address', '10.0.0.9', '--port', '8080',
    '--tag', 'v1', '--tag', 'primary', '--meta', 'team=shop', '--meta', 'url=http://x/?a=b',
    '--check-http', 'http://127.0.0.1:8080/health', '--check-tcp', '127.0.0.1:8080', '--check-interval', '5s',
    '--check-ttl', '30s',
  ], { httpAddr: agent.httpAddr })
  t.equal(result.code, 0, result.stderr)
  t.equal(result.stdout, 'Registered service: web\n')
  t.equal(agent.requests.length, 1)
  t.equal(agent.requests[0].contentType, 'application/json')
  t.same(agent.requests[0].body, {
    Name: 'web',
    ID: 'web-1',
    Address: '10.0.0.9',
    Port: 8080,
    Tags: ['v1', 'primary'],
    Meta: { team: 'shop', url: 'http://x/?a=b' },
    Checks: [
      { HTTP: 'http://127.0.0.1:8080/health', Interval: '5s' },
      { TCP: '127.0.0.1:8080', Interval: '5s' },
      { TTL: '30s' },
    ],
  })
})

t.test('register with only a name sends only the name; HTTP checks default to a 10s interval', async t => {
  const agent = await startFakeAgent({ [REGISTER]: { body: '' } })
  t.teardown(() => agent.close())
  await runCli(['register', '--name', 'worker'], { httpAddr: agent.httpAddr })
  await runCli(['register', '--name', 'api', '--check-http', 'https://api.local/health'], { httpAddr: agent.httpAddr })
  t.same(agent.requests.map(request => request.body), [
    { Name: 'worker' },
    { Name: 'api', Checks: [{ HTTP: 'https://api.local/health', Interval: '10s' }] },
  ])
})

t.test('register refuses bad flags with one line and sends nothing', async t => {
  const agent = await startFakeAgent({ [REGISTER]: { body: '' } })
  t.teardown(() => agent.close())
  const cases: Array<[string[], RegExp]> = [
    [['--port', '8080'], /^Error: --name is required \(or give a JSON FILE\)\n$/],
    [['--name', 'web', '--port', '70000'], /--port must be a port number between 1 and 65535/],
    [['--name', 'web', '--meta', 'novalue'], /--meta must be KEY=VALUE/],
    [['--name', 'web', '--check-http', 'ftp://x'], /--check-http must be an http:\/\/ or https:\/\/ URL/],
    [['--name', 'web', '--check-tcp', 'localhost'], /--check-tcp must be in the form HOST:PORT/],
    [['--name', 'web', '--check-ttl', '30'], /--check-ttl must be a duration with a unit/],
    [['--name', 'web', '--check-ttl', '30s', '--check-interval', '5s'], /--check-interval applies to --check-http and --check-tcp/],
    [['--name', 'a b'], /--name must be a non-empty name/],
  ]
  for (const [args, message] of cases) {
    const result = await runCli(['register', ...args], { httpAddr: agent.httpAddr })
    t.equal(result.code, 1, args.join(' '))
    t.match(result.stderr, message, args.join(' '))
    t.equal(result.stderr.split('\n').length, 2, 'one line')
  }
  t.equal(agent.requests.length, 0)
})

t.test('register FILE accepts one service, {"Service"}, {"Services"} and an array', async t => {
  const agent = await startFakeAgent({ [REGISTER]: { body: '' } })
  t.teardown(() => agent.close())
  const dir = t.testdir({
    'one.json': JSON.stringify({ Name: 'a', Port: 1 }),
    'wrapped.json': JSON.stringify({ Service: { Name: 'b', Connect: { SidecarService: {} } } }),
    'many.json': JSON.stringify({ Services: [{ Name: 'c' }, { Name: 'd' }] }),
    'array.json': JSON.stringify([{ Name: 'e' }]),
  })
  for (const file of ['one.json', 'wrapped.json', 'many.json', 'array.json']) {
    const result = await runCli(['register', join(dir, file)], { httpAddr: agent.httpAddr })
    t.equal(result.code, 0, result.stderr)
  }
  t.same(agent.requests.map(request => request.body), [
    { Name: 'a', Port: 1 },
    { Name: 'b', Connect: { SidecarService: {} } },
    { Name: 'c' },
    { Name: 'd' },
    { Name: 'e' },
  ])
})

t.test('register FILE validates every service before sending any, and reads stdin for "-"', async t => {
  const agent = await startFakeAgent({ [REGISTER]: { body: '' } })
  t.teardown(() => agent.close())
  const dir = t.testdir({ 'half.json': JSON.stringify([{ Name: 'ok' }, { Port: 80 }]), 'bad.json': '{"Name":' })
  const half = await runCli(['register', join(dir, 'half.json')], { httpAddr: agent.httpAddr })
  t.equal(half.code, 1)
  t.match(half.stderr, /half\.json: service 2 must be a JSON object with a "Name"/)
  const bad = await runCli(['register', join(dir, 'bad.json')], { httpAddr: agent.httpAddr })
  t.match(bad.stderr, /bad\.json: not valid JSON/)
  const missing = await runCli(['register', join(dir, 'nope.json')], { httpAddr: agent.httpAddr })
  t.match(missing.stderr, /nope\.json: no such file/)
  const mixed = await runCli(['register', join(dir, 'half.json'), '--name', 'x'], { httpAddr: agent.httpAddr })
  t.match(mixed.stderr, /either a JSON FILE or --name/)
  t.equal(agent.requests.length, 0)
  const piped = await runCli(['register', '-'], { httpAddr: agent.httpAddr, stdin: '{"Name":"from-stdin"}' })
  t.equal(piped.code, 0)
  t.same(agent.requests.map(request => request.body), [{ Name: 'from-stdin' }])
})

t.test('a rejected registration reports the agent\'s reason', async t => {
  const agent = await startFakeAgent({ [REGISTER]: { status: 400, body: 'Invalid check: TTL must be > 0 for TTL checks' } })
  t.teardown(() => agent.close())
  const dir = t.testdir({ 'svc.json': JSON.stringify({ Name: 'x', Check: { TTL: '0s' } }) })
  const result = await runCli(['register', join(dir, 'svc.json')], { httpAddr: agent.httpAddr })
  t.equal(result.code, 1)
  t.equal(result.stderr, 'Error: PUT /v1/agent/service/register failed with 400: Invalid check: TTL must be > 0 for TTL checks\n')
})

t.test('deregister PUTs the service ID', async t => {
  const agent = await startFakeAgent({ 'PUT /v1/agent/service/deregister/web 1': { body: '' } })
  t.teardown(() => agent.close())
  const result = await runCli(['deregister', 'web 1'], { httpAddr: agent.httpAddr })
  t.equal(result.code, 0)
  t.equal(result.stdout, 'Deregistered service: web 1\n')
  t.equal(agent.requests[0].rawPath, '/v1/agent/service/deregister/web%201')
})

t.test('deregister of an ID the agent does not hold is already absent, exit 0', async t => {
  const agent = await startFakeAgent({
    'PUT /v1/agent/service/deregister/web-9': { status: 404, body: 'Unknown service ID "web-9". Ensure that the service ID is passed, not the service name.' },
    'GET /v1/agent/services': { body: { 'web-1': { ID: 'web-1', Service: 'web' } } },
  })
  t.teardown(() => agent.close())
  const result = await runCli(['deregister', 'web-9'], { httpAddr: agent.httpAddr })
  t.equal(result.code, 0, result.stderr)
  t.equal(result.stdout, 'Already absent: service web-9\n')
  t.equal(result.stderr, '')
})

t.test('deregister by a service name that is not an ID names the IDs instead of claiming it is absent', async t => {
  const agent = await startFakeAgent({
    'PUT /v1/agent/service/deregister/web': { status: 404, body: 'Unknown service ID "web"' },
    'GET /v1/agent/services': { body: { 'web-2': { ID: 'web-2', Service: 'web' }, 'web-1': { ID: 'web-1', Service: 'web' }, db: { ID: 'db', Service: 'db' } } },
  })
  t.teardown(() => agent.close())
  const result = await runCli(['deregister', 'web'], { httpAddr: agent.httpAddr })
  t.equal(result.code, 1)
  t.equal(result.stdout, '')
  t.equal(result.stderr, 'Error: no service with ID "web" on this agent; "web" is the name of web-1, web-2: deregister by ID\n')
})
