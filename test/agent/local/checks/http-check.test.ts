import t from 'tap'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Test } from 'tap'
import { HttpProbe, statusForHttpCode } from '../../../../agent/local/checks/http-check.ts'
import { closedPort } from './fixtures/ports.ts'

interface Seen { method: string, url: string, headers: http.IncomingHttpHeaders, body: string }

async function startServer (t: Test, handler: (request: http.IncomingMessage, response: http.ServerResponse) => void) {
  const seen: Seen[] = []
  const server = http.createServer((request, response) => {
    let body = ''
    request.on('data', (chunk) => { body += chunk })
    request.on('end', () => {
      seen.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers, body })
      handler(request, response)
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>(resolve => { server.closeAllConnections(); server.close(() => resolve()) }))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen }
}

t.test('status rules: 2xx passing, 429 warning, anything else critical', async t => {
  t.same([200, 204, 299, 429, 300, 404, 500, 503].map(statusForHttpCode),
    ['passing', 'passing', 'passing', 'warning', 'critical', 'critical', 'critical', 'critical'])
})

for (const [code, status] of [[200, 'passing'], [429, 'warning'], [500, 'critical']] as const) {
  t.test(`a live server answering ${code} is ${status}, with Consul's output format`, async t => {
    const { url } = await startServer(t, (_request, response) => { response.writeHead(code).end('body text') })
    const result = await new HttpProbe({ url: `${url}/health` }).check(new AbortController().signal)
    t.equal(result.status, status)
    t.equal(result.output, `HTTP GET ${url}/health: ${code} ${http.STATUS_CODES[code]} Output: body text`)
  })
}

t.test('method, repeated headers and body are sent; User-Agent and Accept default as Consul', async t => {
  const { url, seen } = await startServer(t, (_request, response) => { response.end() })
  await new HttpProbe({ url, method: 'post', header: { 'X-Token': ['a', 'b'] }, body: '{"ping":1}' }).check(new AbortController().signal)
  t.equal(seen[0].method, 'POST')
  t.equal(seen[0].headers['x-token'], 'a, b')
  t.equal(seen[0].headers['user-agent'], 'Consul Health Check')
  t.equal(seen[0].headers.accept, 'text/plain, text/*, */*')
  t.equal(seen[0].body, '{"ping":1}')
})

t.test('a given User-Agent replaces the default', async t => {
  const { url, seen } = await startServer(t, (_request, response) => { response.end() })
  await new HttpProbe({ url, header: { 'user-agent': ['probe/1'] } }).check(new AbortController().signal)
  t.equal(seen[0].headers['user-agent'], 'probe/1')
})

t.test('the body in the output is capped at 4 KiB', async t => {
  const { url } = await startServer(t, (_request, response) => { response.end('x'.repeat(10_000) + 'END') })
  const result = await new HttpProbe({ url }).check(new AbortController().signal)
  t.ok(result.output.includes('Captured 4096 of 10003 bytes'))
  t.ok(result.output.endsWith('END'))
  t.ok(result.output.length < 4096 + 200)
})

t.test('a refused connection is critical with the error', async t => {
  const port = await closedPort()
  const result = await new HttpProbe({ url: `http://127.0.0.1:${port}/` }).check(new AbortController().signal)
  t.equal(result.status, 'critical')
  t.match(result.output, new RegExp(`^HTTP GET http://127\\.0\\.0\\.1:${port}/: .*ECONNREFUSED`))
})

t.test('a server that never answers is critical once the round is aborted for its timeout', async t => {
  const { url } = await startServer(t, () => {})
  const controller = new AbortController()
  const pending = new HttpProbe({ url }).check(controller.signal)
  controller.abort(new Error('check timed out after 10000ms'))
  const result = await pending
  t.same(result, { status: 'critical', output: `HTTP GET ${url}/: check timed out after 10000ms` })
})

t.test('redirects are followed as Go does: 302 turns into GET, 307 repeats the method; the final answer decides', async t => {
  const { url, seen } = await startServer(t, (request, response) => {
    if (request.url === '/moved') response.writeHead(302, { Location: '/temp' }).end()
    else if (request.url === '/temp') response.writeHead(307, { Location: `${url}/final` }).end()
    else response.writeHead(429).end('busy')
  })
  const result = await new HttpProbe({ url: `${url}/moved`, method: 'POST', body: 'x' }).check(new AbortController().signal)
  t.same(result, { status: 'warning', output: `HTTP POST ${url}/moved: 429 Too Many Requests Output: busy` })
  t.same(seen.map(request => [request.method, request.url, request.body]), [['POST', '/moved', 'x'], ['GET', '/temp', ''], ['GET', '/final', '']])
})

t.test('a redirect loop is critical after 10 redirects', async t => {
  const { url, seen } = await startServer(t, (_request, response) => { response.writeHead(301, { Location: '/again' }).end() })
  const result = await new HttpProbe({ url }).check(new AbortController().signal)
  t.same(result, { status: 'critical', output: `HTTP GET ${url}/: stopped after 10 redirects` })
  t.equal(seen.length, 11)
})
