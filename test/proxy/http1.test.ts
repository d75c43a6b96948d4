// The hand-written HTTP/1.1 paths (proxy/http1.ts on the listeners, proxy/client.ts on the
// legs): strict parsing that answers smuggling material 400 and forwards nothing, keep-alive and
// pipelining in order, the hand-over to node's server for what the fast path leaves alone, and a
// client that refuses ambiguous answers and streams what it does not buffer.

import t from 'tap'
import { createServer } from 'node:http'
import type { IncomingHttpHeaders, Server } from 'node:http'
import { connect, createServer as createNetServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { HAND_OVER, parseHead } from '../../proxy/http1.ts'
import type { RequestHead } from '../../proxy/http1.ts'
import { startSidecar } from '../../proxy/sidecar.ts'
import type { Sidecar } from '../../proxy/sidecar.ts'
import { cleanupPki, testPki } from './fixtures/certs.ts'
import { endpoint, get, snapshotFor, upstream } from './fixtures/mesh.ts'

t.teardown(cleanupPki)

const head = (text: string): RequestHead | string => {
  const bytes = Buffer.from(text, 'latin1')
  return parseHead(bytes, bytes.length)
}

t.test('parseHead: a plain request', async (t) => {
  const parsed = head('GET /a?b=1 HTTP/1.1\r\nHost: api\r\nCookie: a=1\r\nCookie: b=2\r\nAccept: x\r\naccept: y\r\nUser-Agent: one\r\nUser-Agent: two\r\nX-Pad:   v  ')
  if (typeof parsed === 'string') throw new Error(parsed)
  t.equal(parsed.method, 'GET')
  t.equal(parsed.path, '/a?b=1')
  t.equal(parsed.host, 'api')
  t.equal(parsed.contentLength, 0)
  t.equal(parsed.close, false)
  t.same({ ...parsed.headers }, { host: 'api', cookie: 'a=1; b=2', accept: 'x, y', 'user-agent': 'one', 'x-pad': 'v' }, 'merged as node merges them')
})

t.test('parseHead: names that meet Object.prototype stay plain headers', async (t) => {
  const parsed = head('GET / HTTP/1.1\r\nHost: api\r\nconstructor: c\r\ntoString: s\r\n__proto__: p')
  if (typeof parsed === 'string') throw new Error(parsed)
  t.equal(parsed.headers.constructor, 'c')
  t.equal(parsed.headers.tostring, 's')
  t.equal(Object.getPrototypeOf(parsed.headers), Object.prototype, '__proto__ is dropped, not assigned')
})

t.test('parseHead: malformed heads are refused with a reason', async (t) => {
  const cases: Array<[string, string]> = [
    ['GET / HTTP/1.1\r\nHost: api\r\nContent-Length: 1\r\nContent-Length: 1', 'duplicate Content-Length'],
    ['POST / HTTP/1.1\r\nHost: api\r\nContent-Length: 3\r\nTransfer-Encoding: chunked', 'both Transfer-Encoding and Content-Length'],
    ['POST / HTTP/1.1\r\nHost: api\r\nTransfer-Encoding: chunked\r\nContent-Length: 3', 'both Transfer-Encoding and Content-Length'],
    ['GET / HTTP/1.1\r\nHost: api\r\nContent-Length: -1', 'invalid Content-Length'],
    ['GET / HTTP/1.1\r\nHost: api\r\nContent-Length: 1,1', 'invalid Content-Length'],
    ['GET / HTTP/1.1\r\nHost: api\r\nContent-Length: 0x10', 'invalid Content-Length'],
    ['GET / HTTP/1.1\r\nHost: api\r\nX-A: 1\r\n folded', 'obsolete line folding in header'],
    ['GET / HTTP/1.1\nHost: api', 'bare LF in message head'],
    ['GET / HTTP/1.1\r\nHost: api\rX: 1', 'bare CR in message head'],
    ['GET / HTTP/1.1\r\nHost: a\u0000pi', 'control character in message head'],
    ['GET / HTTP/1.1\r\nHost : api', 'invalid header name'],
    ['GET / HTTP/1.1\r\nHost: api\r\nNoColon', 'header line without a name and colon'],
    ['GET / HTTP/1.1\r\nX: 1', 'missing Host header'],
    ['GET / HTTP/1.1\r\nHost: a\r\nHost: b', 'duplicate Host'],
    ['GET  / HTTP/1.1\r\nHost: api', 'malformed request line'],
    ['GET / x HTTP/1.1\r\nHost: api', 'malformed request line'],
    ['G(T / HTTP/1.1\r\nHost: api', 'invalid method'],
    ['FOO / HTTP/1.1\r\nHost: api', 'invalid method'],
    ['get / HTTP/1.1\r\nHost: api', 'invalid method'],
    ['GET / HTTP/1.1 \r\nHost: api', 'malformed request line'],
    ['GET / HTTP/x\r\nHost: api', 'unsupported protocol version']
  ]
  for (const [text, reason] of cases) t.equal(head(text), reason, JSON.stringify(text))
})

t.test('parseHead: valid but unusual requests are left to node', async (t) => {
  for (const text of [
    'POST / HTTP/1.1\r\nHost: api\r\nTransfer-Encoding: chunked',
    'GET / HTTP/1.0\r\nHost: api',
    'GET http://api/ HTTP/1.1\r\nHost: api',
    'OPTIONS * HTTP/1.1\r\nHost: api',
    'GET / HTTP/1.1\r\nHost: api\r\nUpgrade: websocket\r\nConnection: upgrade',
    'PUT / HTTP/1.1\r\nHost: api\r\nExpect: 100-continue\r\nContent-Length: 3',
    `POST / HTTP/1.1\r\nHost: api\r\nContent-Length: ${1024 * 1024}`
  ]) t.equal(head(text), HAND_OVER, JSON.stringify(text))
})

/** An app that answers with what it got: method, url, headers and body, as JSON. */
async function startMirrorApp (): Promise<{ server: Server, port: number, requests: Array<{ method: string, url: string, headers: IncomingHttpHeaders, body: string }> }> {
  const requests: Array<{ method: string, url: string, headers: IncomingHttpHeaders, body: string }> = []
  const server = createServer((req, res) => {
    let body = ''
    req.setEncoding('latin1')
    req.on('data', (chunk: string) => { body += chunk })
    req.on('end', () => {
      requests.push({ method: req.method!, url: req.url!, headers: req.headers, body })
      if (req.url === '/big') {
        // Chunked (no length) and larger than what the forwarder buffers: streamed on both legs.
        res.writeHead(200, { 'content-type': 'text/plain' })
        for (let i = 0; i < 100; i++) res.write('x'.repeat(1000) + '\n')
        res.end()
        return
      }
      if (req.url === '/empty') {
        res.writeHead(204)
        res.end()
        return
      }
      const answer = JSON.stringify({ method: req.method, url: req.url, body, source: req.headers['x-mesh-source'] })
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer), 'set-cookie': ['a=1', 'b=2'] })
      res.end(req.method === 'HEAD' ? undefined : answer)
    })
  })
  await new Promise<void>((resolve) => { server.listen(0, '127.0.0.1', resolve) })
  return { server, port: (server.address() as AddressInfo).port, requests }
}

interface Pair { web: Sidecar, api: Sidecar, port: number, stop: () => Promise<void> }

/** web's outbound listener → mTLS → api's inbound → the app on `appPort`. */
async function startPair (appPort: number): Promise<Pair> {
  const pki = testPki()
  const api = await startSidecar({ snapshot: snapshotFor({ service: 'api', leaf: pki.api1, pki, appPort }) })
  const web = await startSidecar({ snapshot: snapshotFor({ service: 'web', leaf: pki.web, pki, appPort: 1, upstreams: [upstream([endpoint('api-1', api.ports().inbound)])] }) })
  return {
    web,
    api,
    port: web.ports().upstreams.api!,
    stop: async () => {
      await web.stop({ drainMs: 100 })
      await api.stop({ drainMs: 100 })
    }
  }
}

/** Writes raw bytes to the listener and collects everything until the proxy closes the connection. */
function raw (port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = ''
    const socket = connect({ port, host: '127.0.0.1' }, () => { socket.write(bytes, 'latin1') })
    socket.setEncoding('latin1')
    socket.on('data', (chunk: string) => { data += chunk })
    socket.on('error', reject)
    socket.on('close', () => { resolve(data) })
  })
}

const statuses = (text: string): string[] => [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => m[1]!)

t.test('smuggling material is answered 400, closes the connection and reaches nothing', async (t) => {
  const app = await startMirrorApp()
  const pair = await startPair(app.port)
  const attempts = [
    'POST / HTTP/1.1\r\nHost: api\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: api\r\n\r\n',
    'POST / HTTP/1.1\r\nHost: api\r\nContent-Length: 0\r\nContent-Length: 40\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: api\r\n\r\n',
    'GET / HTTP/1.1\nHost: api\n\nGET /smuggled HTTP/1.1\nHost: api\n\n',
    'GET / HTTP/1.1\r\nHost: api\r\nX-A: 1\r\n Transfer-Encoding: chunked\r\n\r\n',
    'GET / HTTP/1.1\r\nHost: api\r\nTransfer-Encoding : chunked\r\n\r\n'
  ]
  for (const attempt of attempts) {
    const answer = await raw(pair.port, attempt)
    t.same(statuses(answer), ['400'], `one 400 and the connection closed: ${JSON.stringify(attempt.slice(0, 60))}`)
    t.match(answer, /x-mesh-error: MESH_ERR_PROXY_BAD_REQUEST/)
  }
  t.equal(app.requests.length, 0, 'the app saw none of it')
  await pair.stop()
  app.server.close()
})

t.test('a malformed request after a valid one on the same connection: the first is answered, the rest refused', async (t) => {
  const app = await startMirrorApp()
  const pair = await startPair(app.port)
  const answer = await raw(pair.port, 'GET /first HTTP/1.1\r\nHost: api\r\n\r\nGET /second HTTP/1.1\r\nHost: api\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab')
  t.same(statuses(answer), ['200', '400'])
  t.same(app.requests.map((r) => r.url), ['/first'])
  await pair.stop()
  app.server.close()
})

t.test('pipelined requests are answered in order, with bodies, on one connection', async (t) => {
  const app = await startMirrorApp()
  const pair = await startPair(app.port)
  const answer = await raw(pair.port,
    'GET /1 HTTP/1.1\r\nHost: api\r\n\r\n' +
    'POST /2 HTTP/1.1\r\nHost: api\r\nContent-Length: 5\r\n\r\nhello' +
    'HEAD /3 HTTP/1.1\r\nHost: api\r\n\r\n' +
    'GET /empty HTTP/1.1\r\nHost: api\r\n\r\n' +
    'DELETE /5 HTTP/1.1\r\nHost: api\r\nConnection: close\r\n\r\n')
  t.same(statuses(answer), ['200', '200', '200', '204', '200'])
  t.same(app.requests.map((r) => `${r.method} ${r.url} ${r.body}`), ['GET /1 ', 'POST /2 hello', 'HEAD /3 ', 'GET /empty ', 'DELETE /5 '])
  t.match(answer, /"method":"POST","url":"\/2","body":"hello","source":"web"/, 'the body and the caller identity arrived')
  const responses = answer.split(/(?=HTTP\/1\.1 \d{3})/)
  t.match(responses[2], /content-length: 5\d\r\n/i, 'HEAD keeps the length of the entity')
  t.notMatch(responses[2], /\r\n\r\n./s, 'and has no body')
  t.notMatch(responses[3], /content-length|transfer-encoding/i, '204 has neither length nor body')
  t.match(responses[4], /connection: close/, 'the last answer says the connection closes')
  t.equal((answer.match(/set-cookie: /g) ?? []).length, 8, 'set-cookie lines stay separate')
  await pair.stop()
  app.server.close()
})

t.test('streamed request bodies go through the one client, framed as the caller framed them, on reused connections', async (t) => {
  const app = await startMirrorApp()
  let appConnections = 0
  app.server.on('connection', () => { appConnections++ })
  const pair = await startPair(app.port)
  const big = 'q'.repeat(100_000)
  // Larger than the server side reads whole: node's server streams it, the pool writes it as it comes.
  const sized = await raw(pair.port, `POST /sized HTTP/1.1\r\nHost: api\r\nContent-Length: ${big.length}\r\nConnection: close\r\n\r\n${big}`)
  t.same(statuses(sized), ['200'])
  for (let i = 0; i < 3; i++) {
    const chunked = await raw(pair.port, `POST /chunked-${i} HTTP/1.1\r\nHost: api\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n0\r\n\r\n`)
    t.same(statuses(chunked), ['200'])
  }
  const [first, ...rest] = app.requests
  t.equal(first!.body.length, big.length, 'the whole sized body arrived')
  t.equal(first!.headers['content-length'], String(big.length), 'with the caller\'s Content-Length')
  t.equal(first!.headers['transfer-encoding'], undefined, 'and not chunked')
  t.same(rest.map((r) => [r.url, r.body, r.headers['transfer-encoding']]), [0, 1, 2].map((i) => [`/chunked-${i}`, 'abc', 'chunked']), 'no length: chunked')
  t.equal(appConnections, 1, 'one keep-alive connection to the app carried all four')
  await pair.stop()
  app.server.close()
})

t.test('an answer before the streamed request body is out: delivered, and the connection freed only after the body', async (t) => {
  let appConnections = 0
  const seen: string[] = []
  const app = createServer((req, res) => {
    seen.push(req.url!)
    if (req.url === '/early') {
      // Answers at once, without reading the body; node reads the rest of it away.
      res.writeHead(413, { 'content-length': '0' })
      res.end()
      return
    }
    req.resume()
    req.on('end', () => { res.end('ok') })
  })
  app.on('connection', () => { appConnections++ })
  await new Promise<void>((resolve) => { app.listen(0, '127.0.0.1', resolve) })
  const pair = await startPair((app.address() as AddressInfo).port)
  const big = 'e'.repeat(200_000)
  const early = await raw(pair.port, `POST /early HTTP/1.1\r\nHost: api\r\nContent-Length: ${big.length}\r\nConnection: close\r\n\r\n${big}`)
  t.same(statuses(early), ['413'])
  const after = await raw(pair.port, 'GET /after HTTP/1.1\r\nHost: api\r\nConnection: close\r\n\r\n')
  t.same(statuses(after), ['200'], 'the next request is answered')
  t.same(seen, ['/early', '/after'])
  t.ok(appConnections <= 2, `${appConnections} connections to the app: no connection was left half-written and reused`)
  await pair.stop()
  await new Promise<void>((resolve) => { app.close(() => { resolve() }) })
})

t.test('what the fast path leaves alone still works through node\'s server', async (t) => {
  const app = await startMirrorApp()
  const pair = await startPair(app.port)
  const chunked = await raw(pair.port, 'POST /chunked HTTP/1.1\r\nHost: api\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n')
  t.same(statuses(chunked), ['200'])
  t.match(chunked, /"body":"abcde"/, 'a chunked body is streamed through')
  const http10 = await raw(pair.port, 'GET /old HTTP/1.0\r\nHost: api\r\n\r\n')
  t.match(http10, /^HTTP\/1\.1 200/)
  const absolute = await raw(pair.port, 'GET http://api/x HTTP/1.1\r\nHost: api\r\nConnection: close\r\n\r\n')
  t.same(statuses(absolute), ['400'], 'absolute-form is refused, as before')
  // A fast-path request, then one for node's server, on the same connection: the hand-over
  // happens between them and both are answered.
  const mixed = await raw(pair.port, 'GET /fast HTTP/1.1\r\nHost: api\r\n\r\nPOST /slow HTTP/1.1\r\nHost: api\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n1\r\nz\r\n0\r\n\r\n')
  t.same(statuses(mixed), ['200', '200'])
  t.same(app.requests.map((r) => `${r.url} ${r.body}`), ['/chunked abcde', '/old ', '/fast ', '/slow z'])
  await pair.stop()
  app.server.close()
})

t.test('large streamed answers and keep-alive through the pools', async (t) => {
  const app = await startMirrorApp()
  const pair = await startPair(app.port)
  const big = await get(pair.port, '/big', false)
  t.equal(big.headers['transfer-encoding'], 'chunked')
  t.equal(big.body, ('x'.repeat(1000) + '\n').repeat(100), 'the whole chunked body arrived')
  for (let i = 0; i < 5; i++) t.equal((await get(pair.port, `/again/${i}`, false)).status, 200)
  t.equal(app.requests.length, 6)
  await pair.stop()
  app.server.close()
})

t.test('an ambiguous answer from the app is refused, not passed on', async (t) => {
  let connections = 0
  const app = createNetServer((socket) => {
    connections++
    socket.on('data', () => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 12\r\n\r\nok')
    })
  })
  await new Promise<void>((resolve) => { app.listen(0, '127.0.0.1', resolve) })
  const pair = await startPair((app.address() as AddressInfo).port)
  const reply = await get(pair.port, '/', false)
  t.equal(reply.status, 503)
  t.equal(reply.headers['x-mesh-error'], 'MESH_ERR_PROXY_UPSTREAM_RESET')
  t.ok(connections >= 1)
  await pair.stop()
  await new Promise<void>((resolve) => { app.close(() => { resolve() }) })
})

t.test('the client pool survives the app closing idle connections', async (t) => {
  const app = await startMirrorApp()
  const pair = await startPair(app.port)
  t.equal((await get(pair.port, '/one', false)).status, 200)
  // The app drops every idle keep-alive connection; the next request must not land on a dead one.
  app.server.closeIdleConnections()
  t.equal((await get(pair.port, '/two', false)).status, 200)
  t.same(app.requests.map((r) => r.url), ['/one', '/two'])
  await pair.stop()
  app.server.close()
})
