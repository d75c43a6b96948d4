// Sidecar ports against a real agent on 127.0.0.41 (an address no other e2e test uses, so the
// range 21000–21255 there is this test's): a port a plain net.Server holds is refused when given
// explicitly (409, nothing registered) and skipped when assigned; and after a restart with the
// service persisted, a sidecar whose port another process took reports the bind error in its
// listening check, then recovers once the port is freed.

import t from 'tap'
import { createServer } from 'node:net'
import type { Server } from 'node:net'
import { Cluster, http, waitFor } from './harness.ts'

const ADDRESS = '127.0.0.41'

async function occupy (port: number): Promise<Server> {
  const server = createServer((socket) => { socket.destroy() })
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(port, ADDRESS, resolve) })
  return server
}

const close = async (server: Server): Promise<void> => { await new Promise<void>((resolve) => { server.close(() => { resolve() }) }) }

t.test('sidecar ports held by another process', async (t) => {
  const cluster = new Cluster()
  const holders: Server[] = []
  t.teardown(async () => {
    for (const server of holders) if (server.listening) server.close()
    await cluster.cleanup()
  })
  let agent = await cluster.start({ name: 'ports', bindAddress: ADDRESS })
  holders.push(await occupy(21000))

  const refused = await http(agent, 'PUT', '/v1/agent/service/register', { Name: 'web', Port: 8080, Connect: { SidecarService: { Port: 21000 } } })
  t.equal(refused.status, 409)
  t.equal(refused.text, `sidecar proxy cannot listen on ${ADDRESS}:21000: EADDRINUSE; free the port, give SidecarService.Port another one, or leave Port out to have a free one assigned`)
  t.same((await http(agent, 'GET', '/v1/agent/services')).body, {}, 'neither the service nor its sidecar is registered')

  t.equal((await http(agent, 'PUT', '/v1/agent/service/register', { Name: 'web', Port: 8080, Connect: { SidecarService: {} } })).status, 200)
  const sidecar = (await http(agent, 'GET', '/v1/agent/service/web-sidecar-proxy')).body as { Port: number }
  t.equal(sidecar.Port, 21001, 'the assigned port skips the one the net.Server holds')

  // Restart with the registration persisted, another process now on the sidecar's port.
  await cluster.kill(agent)
  holders.push(await occupy(21001))
  agent = await cluster.start({ name: 'ports', dataDir: agent.dataDir, bindAddress: ADDRESS })
  const listening = async (): Promise<{ Status: string, Output: string }> =>
    ((await http(agent, 'GET', '/v1/agent/checks')).body as Record<string, { Status: string, Output: string }>)['service:web-sidecar-proxy:1']
  const reason = `listener on ${ADDRESS}:21001: EADDRINUSE`
  await waitFor('the listening check to report the bind error', async () => (await listening()).Output === reason)
  t.equal((await listening()).Status, 'critical', 'critical with the reason, though the port answers TCP connects')

  await close(holders[1])
  await waitFor('the listening check to follow its own probe again', async () => (await listening()).Output !== reason, 40_000)
  t.match(await listening(), { Status: 'passing', Output: `TCP connect ${ADDRESS}:21001: Success` })
})
