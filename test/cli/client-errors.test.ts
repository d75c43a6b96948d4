import { spawn } from 'node:child_process'
import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { startFakeAgent } from './fixtures/fake-agent.ts'
import { MESH_BIN, runCli } from './fixtures/run-cli.ts'

// Every case runs the real CLI as a process: allow for a loaded 2-core machine.
t.setTimeout(180_000)

/** A port that was free a moment ago: nothing listens on it, so connections are refused. */
async function closedPort (): Promise<number> {
  const server = createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>(resolve => server.close(() => resolve()))
  return port
}

t.test('an unreachable agent is one line naming the address and the reason, exit 1', async t => {
  const port = await closedPort()
  const result = await runCli(['members'], { httpAddr: `http://127.0.0.1:${port}` })
  t.equal(result.code, 1)
  t.equal(result.stdout, '')
  t.equal(result.stderr, `Error: cannot reach the agent at http://127.0.0.1:${port}: connection refused\n`)
})

t.test('a non-2xx answer becomes one error line carrying the status and the agent\'s body text', async t => {
  const agent = await startFakeAgent({
    'GET /v1/catalog/nodes': { status: 500, body: 'catalog not ready:\n  still loading from LevelDB' },
  })
  t.teardown(() => agent.close())
  const result = await runCli(['catalog', 'nodes'], { httpAddr: agent.httpAddr })
  t.equal(result.code, 1)
  t.equal(result.stdout, '')
  t.equal(result.stderr, 'Error: GET /v1/catalog/nodes failed with 500: catalog not ready: still loading from LevelDB\n')
})

t.test('a 2xx answer that is not JSON is reported, not printed as data', async t => {
  const agent = await startFakeAgent({ 'GET /v1/catalog/nodes': { body: '<html>proxy login</html>' } })
  t.teardown(() => agent.close())
  const result = await runCli(['catalog', 'nodes'], { httpAddr: agent.httpAddr })
  t.equal(result.code, 1)
  t.match(result.stderr, /^Error: GET \/v1\/catalog\/nodes returned an unexpected body: not JSON/)
})

t.test('--http-addr wins over MESH_HTTP_ADDR, and host:port without a scheme means http', async t => {
  const agent = await startFakeAgent({ 'GET /v1/catalog/nodes': { body: [] } })
  t.teardown(() => agent.close())
  const hostPort = agent.httpAddr.replace('http://', '')
  const byFlag = await runCli(['catalog', 'nodes', '--http-addr', hostPort], { httpAddr: 'http://127.0.0.1:1' })
  t.equal(byFlag.code, 0)
  const byEnv = await runCli(['catalog', 'nodes'], { httpAddr: hostPort })
  t.equal(byEnv.code, 0)
  t.equal(agent.requests.length, 2)
})

t.test('a malformed --http-addr is a usage error', async t => {
  const result = await runCli(['members', '--http-addr', 'ftp://agent:21'])
  t.equal(result.code, 1)
  t.equal(result.stderr, 'Error: --http-addr must use http or https, got "ftp://agent:21"\n')
})

t.test('commander usage errors are one "Error:" line with exit 1; help exits 0', async t => {
  const unknownCommand = await runCli(['memberz'])
  t.equal(unknownCommand.code, 1)
  t.equal(unknownCommand.stderr, "Error: unknown command 'memberz' (Did you mean members?)\n")
  const badFormat = await runCli(['members', '--format', 'yaml'])
  t.equal(badFormat.code, 1)
  t.match(badFormat.stderr, /^Error: option '--format <format>' argument 'yaml' is invalid\. Allowed choices are table, json\.\n$/)
  const missingArgument = await runCli(['deregister'])
  t.equal(missingArgument.code, 1)
  t.equal(missingArgument.stderr, "Error: missing required argument 'id'\n")
  const help = await runCli(['members', '--help'])
  t.equal(help.code, 0)
  t.match(help.stdout, /Example/)
  t.match(help.stdout, /--http-addr/)
})

t.test('mesh version and mesh --version print the package version', async t => {
  const { version } = (await import('../../package.json', { with: { type: 'json' } })).default
  const human = await runCli(['version'])
  t.equal(human.code, 0)
  t.equal(human.stdout.split('\n')[0], `mesh v${version}`)
  const json = await runCli(['version', '--format', 'json'])
  t.same(JSON.parse(json.stdout), { Version: version, Node: process.version })
  const flag = await runCli(['--version'])
  t.equal(flag.stdout, `${version}\n`)
})

t.test('a reader that closes the pipe early (mesh ... | head -1) is not an error', async t => {
  const child = spawn(process.execPath, [MESH_BIN, '--help'], { stdio: ['ignore', 'pipe', 'pipe'] })
  child.stdout.destroy()
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const code = await new Promise(resolve => child.on('close', resolve))
  t.equal(stderr, '')
  t.equal(code, 0)
})
