// `mesh proxy --sidecar-for web` takes web's sidecar over from the agent, serves the same upstream
// through the same ports, and hands it back to the agent when it stops.

import t from 'tap'
import { spawn } from 'node:child_process'
import { createServer } from 'node:http'
import { Cluster, freePort, http, waitFor } from './harness.ts'

const MESH = new URL('../../cli/mesh.mjs', import.meta.url).pathname

t.test('a standalone sidecar takes over and hands back', async (t) => {
  const cluster = new Cluster()
  const api = createServer((request, response) => response.end(`api ${request.url}`))
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => { api.close(); await cluster.cleanup() })
  // Its own loopback address: sidecar ports come from 21000 up, as in Consul, and must not meet
  // those of connect.test.ts's agent on 127.0.0.1 when both files run at once.
  const agent = await cluster.start({ name: 'sp1', logLevel: 'info', bindAddress: '127.0.0.21' })
  const apiPort = (api.address() as { port: number }).port
  const [upstream, sidecarPort] = [await freePort(), await freePort()]
  await http(agent, 'PUT', '/v1/config', { Kind: 'service-defaults', Name: 'api', Protocol: 'http' })
  await http(agent, 'PUT', '/v1/agent/service/register', { Name: 'api', Port: apiPort, Connect: { SidecarService: {} } })
  await http(agent, 'PUT', '/v1/agent/service/register', {
    Name: 'web', Port: 1, Connect: { SidecarService: { Port: sidecarPort, Proxy: { Upstreams: [{ DestinationName: 'api', LocalBindPort: upstream }] } } },
  })
  const get = async (path: string): Promise<string> => await (await fetch(`http://127.0.0.1:${upstream}${path}`, { signal: AbortSignal.timeout(5000) })).text()
  await waitFor('the in-process sidecar', async () => (await get('/a').catch(() => '')) === 'api /a', 60_000)

  const proxy = spawn(process.execPath, [MESH, 'proxy', '--sidecar-for', 'web', '--http-addr', agent.httpUrl], { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  proxy.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
  proxy.stderr.on('data', (chunk: Buffer) => { output += chunk.toString() })
  const exited = new Promise<number | null>((resolve) => proxy.once('exit', resolve))
  t.teardown(() => { proxy.kill('SIGKILL') })
  await waitFor('the standalone sidecar to start', async () => output.includes('standalone sidecar started'), 30_000)
  t.match(agent.output(), /sidecar stopped proxy=web-sidecar-proxy/, 'the agent stopped its own copy')
  t.equal(await get('/b'), 'api /b', 'the standalone sidecar serves the upstream')

  proxy.kill('SIGTERM')
  t.equal(await exited, 0, 'the standalone sidecar exits 0 on SIGTERM')
  await waitFor('the agent to take the sidecar back', async () => (await get('/c').catch(() => '')) === 'api /c', 30_000)
  t.pass('the agent runs the sidecar again after the claim is released')
})
