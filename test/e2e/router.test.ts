// A service-router across two real agents (127.0.0.121 and .122), applied with `mesh config apply`
// from a directory that also holds the service-defaults it needs: `web` on B calls `api`; /v2/… goes
// to `api-v2` (on B) with the prefix rewritten and a response header set, a header sends any path
// there too, and everything else reaches `api` (on A). Deleting the router sends all to `api`.

import t from 'tap'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createServer } from 'node:http'
import type { Server } from 'node:http'
import { Cluster, freePort, http, members, waitFor } from './harness.ts'
import type { AgentProcess } from './harness.ts'

const MESH = new URL('../../cli/mesh.mjs', import.meta.url).pathname

async function app (name: string, address: string): Promise<{ server: Server, port: number }> {
  const server = createServer((request, response) => {
    response.setHeader('content-type', 'text/plain')
    response.end(`${name} ${request.url}`)
  })
  await new Promise<void>((resolve) => server.listen(0, address, resolve))
  return { server, port: (server.address() as { port: number }).port }
}

async function call (port: number, path: string, headers: Record<string, string> = {}): Promise<{ status: number, body: string, routedBy: string | null }> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, { headers, signal: AbortSignal.timeout(10_000) })
  return { status: response.status, body: await response.text(), routedBy: response.headers.get('x-routed-by') }
}

async function mesh (agent: AgentProcess, ...args: string[]): Promise<{ code: number | null, stdout: string, stderr: string }> {
  const child = spawn(process.execPath, [MESH, ...args, '--http-addr', agent.httpUrl], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  return { code, stdout, stderr }
}

t.test('a router applied on one agent routes requests on the other', async (t) => {
  const cluster = new Cluster()
  const apps: Server[] = []
  const dir = mkdtempSync(join(tmpdir(), 'mesh-router-'))
  t.teardown(async () => {
    for (const server of apps) server.close()
    await cluster.cleanup()
    rmSync(dir, { recursive: true, force: true })
  })
  const a = await cluster.start({ name: 'ra', bindAddress: '127.0.0.121' })
  const b = await cluster.start({ name: 'rb', bindAddress: '127.0.0.122', join: [a.gossipAddr] })
  for (const agent of [a, b]) await waitFor(`${agent.name} membership`, async () => (await members(agent)).length === 2)

  const api = await app('api', '127.0.0.121')
  const apiV2 = await app('api-v2', '127.0.0.122')
  apps.push(api.server, apiV2.server)
  const upstreamPort = await freePort()
  t.equal((await http(a, 'PUT', '/v1/agent/service/register', { Name: 'api', Address: '127.0.0.121', Port: api.port, Connect: { SidecarService: { Proxy: { LocalServiceAddress: '127.0.0.121' } } } })).status, 200)
  t.equal((await http(b, 'PUT', '/v1/agent/service/register', { Name: 'api-v2', Address: '127.0.0.122', Port: apiV2.port, Connect: { SidecarService: { Proxy: { LocalServiceAddress: '127.0.0.122' } } } })).status, 200)
  t.equal((await http(b, 'PUT', '/v1/agent/service/register', { Name: 'web', Port: 1, Connect: { SidecarService: { Proxy: { Upstreams: [{ DestinationName: 'api', LocalBindPort: upstreamPort }] } } } })).status, 200)

  writeFileSync(join(dir, '10-defaults.json'), JSON.stringify([
    { Kind: 'service-defaults', Name: 'api', Protocol: 'http' },
    { Kind: 'service-defaults', Name: 'api-v2', Protocol: 'http' },
  ]))
  writeFileSync(join(dir, '20-router.json'), JSON.stringify({
    Kind: 'service-router',
    Name: 'api',
    Routes: [
      { Match: { HTTP: { PathPrefix: '/v2/' } }, Destination: { Service: 'api-v2', PrefixRewrite: '/', ResponseHeaders: { Set: { 'x-routed-by': 'v2-prefix' } } } },
      { Match: { HTTP: { Header: [{ Name: 'x-canary', Exact: '1' }] } }, Destination: { Service: 'api-v2' } },
    ],
  }))
  const applied = await mesh(a, 'config', 'apply', dir)
  t.equal(applied.code, 0, `mesh config apply: ${applied.stderr}`)
  t.match(applied.stdout, /service-router\/api +created/)

  await waitFor('the router on B', async () => (await call(upstreamPort, '/v2/users').catch(() => undefined))?.body === 'api-v2 /users', 20_000, 50)
  // api's sidecar on A reaches B's catalog by replication, maybe after the router.
  await waitFor('api healthy on B', async () => (await call(upstreamPort, '/users').catch(() => undefined))?.body === 'api /users', 20_000, 50)
  const v2 = await call(upstreamPort, '/v2/users?x=1')
  t.same([v2.status, v2.body, v2.routedBy], [200, 'api-v2 /users?x=1', 'v2-prefix'], 'the path prefix route, rewritten, with its response header')
  t.equal((await call(upstreamPort, '/users', { 'x-canary': '1' })).body, 'api-v2 /users', 'the header route')
  const plain = await call(upstreamPort, '/users')
  t.same([plain.body, plain.routedBy], ['api /users', null], 'the default route goes to api itself')

  const refused = await http(a, 'PUT', '/v1/config', { Kind: 'service-router', Name: 'api', Routes: [{ Match: { HTTP: { PathPrefix: '/a', PathExact: '/a' } } }] })
  t.equal(refused.status, 400, 'a broken router is refused')
  t.equal((await call(upstreamPort, '/v2/users')).body, 'api-v2 /users', 'and changes nothing')

  t.equal((await http(a, 'DELETE', '/v1/config/service-router/api')).status, 200)
  await waitFor('the router gone on B', async () => (await call(upstreamPort, '/v2/users')).body === 'api /v2/users', 20_000, 50)
})
