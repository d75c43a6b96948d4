import t from 'tap'
import { startFakeAgent } from './fixtures/fake-agent.ts'
import { runCli } from './fixtures/run-cli.ts'

// Every case runs the real CLI as a process: allow for a loaded 2-core machine.
t.setTimeout(180_000)

const SUMMARY = {
  Services: { Added: ['x'], Updated: [], Removed: ['y'] },
  Checks: { Added: [], Updated: ['disk'], Removed: [] },
  LogLevel: { From: 'info', To: 'debug' },
  RestartRequired: ['ports.http', 'bind_addr'],
}

t.test('reload PUTs /v1/agent/reload and prints what changed and what needs a restart', async t => {
  const agent = await startFakeAgent({ 'PUT /v1/agent/reload': { body: SUMMARY } })
  t.teardown(() => agent.close())
  const result = await runCli(['reload'], { httpAddr: agent.httpAddr })
  t.equal(result.code, 0, result.stderr)
  t.equal(result.stderr, '')
  t.equal(result.stdout, 'reloaded: 1 service added (x), 1 removed (y), 1 check updated (disk), log level info→debug; restart needed for: ports.http, bind_addr\n')
  t.same(agent.requests.map(request => `${request.method} ${request.path}`), ['PUT /v1/agent/reload'])
})

t.test('reload says so when nothing changed; --format json prints the agent\'s summary', async t => {
  const unchanged = {
    Services: { Added: [], Updated: [], Removed: [] },
    Checks: { Added: [], Updated: [], Removed: [] },
    LogLevel: null,
    RestartRequired: [],
  }
  const agent = await startFakeAgent({ 'PUT /v1/agent/reload': { body: unchanged } })
  t.teardown(() => agent.close())
  const text = await runCli(['reload'], { httpAddr: agent.httpAddr })
  t.equal(text.code, 0, text.stderr)
  t.equal(text.stdout, 'reloaded: no changes\n')
  const json = await runCli(['reload', '--format', 'json'], { httpAddr: agent.httpAddr })
  t.equal(json.code, 0, json.stderr)
  t.same(JSON.parse(json.stdout), unchanged)
})

t.test('reload fails with exit 1 and the agent\'s message when the config is invalid', async t => {
  const agent = await startFakeAgent({
    'PUT /v1/agent/reload': { status: 500, body: 'config file /etc/mesh.d/bad.json is not valid JSON: Unexpected token' },
  })
  t.teardown(() => agent.close())
  const result = await runCli(['reload'], { httpAddr: agent.httpAddr })
  t.equal(result.code, 1)
  t.equal(result.stdout, '')
  t.match(result.stderr, /^Error: PUT \/v1\/agent\/reload failed with 500: config file \/etc\/mesh\.d\/bad\.json is not valid JSON: Unexpected token\n$/)
})

t.test('reload refuses an answer that is not a reload summary', async t => {
  const agent = await startFakeAgent({ 'PUT /v1/agent/reload': { body: { Services: 'x' } } })
  t.teardown(() => agent.close())
  const result = await runCli(['reload'], { httpAddr: agent.httpAddr })
  t.equal(result.code, 1)
  t.match(result.stderr, /^Error: PUT \/v1\/agent\/reload returned an unexpected body: Services must hold Added, Updated and Removed lists of IDs\n$/)
})

t.test('reload against no agent fails with the client\'s unreachable error', async t => {
  const agent = await startFakeAgent()
  const httpAddr = agent.httpAddr
  await agent.close()
  const result = await runCli(['reload'], { httpAddr })
  t.equal(result.code, 1)
  t.match(result.stderr, /^Error: cannot reach the agent at .*connection refused\n$/)
})
