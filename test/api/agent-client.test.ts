// The shared HTTP client for the agent's API: JSON with the modify index, 404 as absent, readable
// transport failures, and a caller's abort that is not mistaken for an unreachable agent.
import t from 'tap'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { AgentClient, AgentResponseError, AgentUnreachableError } from '../../api/agent-client.ts'

async function fakeAgent (t: { teardown: (fn: () => void) => void }) {
  const server = createServer((request, response) => {
    if (request.url?.startsWith('/v1/hang') === true) return
    if (request.url === '/v1/missing') { response.statusCode = 404; response.end('no such thing'); return }
    response.setHeader('X-Consul-Index', '42')
    response.end(JSON.stringify({ url: request.url, method: request.method }))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.closeAllConnections(); server.close() })
  return new AgentClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)
}

t.test('an answer comes with its X-Consul-Index; boolean query flags are sent as 1', async (t) => {
  const client = await fakeAgent(t)
  t.same(await client.exchange('GET', '/v1/catalog/services', { query: { index: '7', passing: true, absent: undefined } }), { body: { url: '/v1/catalog/services?index=7&passing=1', method: 'GET' }, index: 42 })
})

t.test('404 is absent for getOptional and an AgentResponseError otherwise', async (t) => {
  const client = await fakeAgent(t)
  t.equal(await client.getOptional('/v1/missing'), null)
  await t.rejects(client.get('/v1/missing'), new AgentResponseError('GET', '/v1/missing', 404, 'no such thing'))
  await t.rejects(client.get('/v1/missing'), { code: 'MESH_ERR_CLI_AGENT_STATUS', message: 'GET /v1/missing failed with 404: no such thing' })
})

t.test('no answer is AgentUnreachableError; the caller\'s abort rejects with its own reason', async (t) => {
  const client = await fakeAgent(t)
  await t.rejects(client.exchange('GET', '/v1/hang', { timeoutMs: 50 }), { code: 'MESH_ERR_CLI_AGENT_UNREACHABLE', message: /no answer within 0\.05 s$/ })
  const controller = new AbortController()
  const pending = client.exchange('GET', '/v1/hang', { signal: controller.signal })
  controller.abort(new Error('stopping'))
  await t.rejects(pending, { message: 'stopping' })
  await t.rejects(new AgentClient('http://127.0.0.1:1').get('/v1/agent/self'), AgentUnreachableError)
})
