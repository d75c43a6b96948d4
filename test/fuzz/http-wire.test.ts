// Property of the agent's HTTP API listener on the wire (what a peer's bytes reach before any
// route): raw request bytes, from well-formed to hostile (bad request lines, duplicate or
// overflowing Content-Length, Transfer-Encoding with broken chunks, oversized and bare-CR/LF
// headers, truncated bodies), written over a real socket in arbitrary pieces and then half-closed.
// The server answers each request it can frame with a 4xx or a success, never a 5xx, closes the
// connection once the client is done, keeps answering well-formed requests afterwards, and keeps
// no memory per request: the same cases sent a second time leave the heap where the first left it.
// (test/fuzz/http.test.ts covers the routes' own validation through `inject`.)
import t from 'tap'
import fc from 'fast-check'
import { connect } from 'node:net'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { assertReached, fuzzParameters } from './fuzz.ts'
import { startHttpHarness } from './http-harness.ts'

const HOST = '127.0.0.92'
/** Closing takes milliseconds; a connection still open after this is a server that never closed it. */
const CLOSE_DEADLINE_MS = 10_000
/** Heap a second round of the same cases may add, bytes: far below what one kept request per case would. */
const HEAP_GROWTH_BYTES = 6 * 1024 * 1024

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

const token = fc.string({ minLength: 0, maxLength: 10, unit: fc.constantFrom('G', 'E', 'T', 'a', '-', ':', ' ', '\t', '\r', '\n', '\u0000', '\u007f', '\u00e9', '/', '?', '%', '0', '9') })
const pick = <T>(common: T[], rare: fc.Arbitrary<T>): fc.Arbitrary<T> => fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...common) }, { weight: 1, arbitrary: rare })

interface WireCase {
  bytes: Buffer
  /** Where the bytes are cut into writes. */
  cuts: number[]
}

function wireCase (targets: string[]): fc.Arbitrary<WireCase> {
  const requestLine = fc.tuple(
    pick(['GET', 'PUT', 'POST', 'DELETE', 'HEAD', 'OPTIONS'], token),
    pick(targets, token),
    pick(['HTTP/1.1', 'HTTP/1.0'], fc.constantFrom('HTTP/2.0', 'HTTP/1.1 ', 'http/1.1', 'HTTP/9', ''))
  ).map(([method, target, version]) => `${method} ${target} ${version}`)
  const header = fc.oneof(
    { weight: 4, arbitrary: fc.tuple(pick(['Host', 'Content-Length', 'Transfer-Encoding', 'Content-Type', 'Connection', 'Expect', 'X-Consul-Token'], token), pick([': ', ':'], fc.constantFrom(' : ', ':\t')), pick(['127.0.0.1', '0', '5', '64', 'chunked', 'application/json', 'close', 'keep-alive', '100-continue', '18446744073709551616', '-1', '5, 6'], token)).map(([name, sep, value]) => `${name}${sep}${value}`) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom(' ', '\t'), token).map(([space, value]) => `${space}${value}`) },
    { weight: 1, arbitrary: fc.constantFrom(`X-Big: ${'x'.repeat(20_000)}`, `Cookie: ${'c=1; '.repeat(4000)}`) }
  )
  const body = fc.oneof(
    fc.constant(''),
    fc.constantFrom('{}', '{"Name":"web"}', '[', '{"a":'.repeat(100), 'null', '"x"'),
    fc.constantFrom('5\r\nhello\r\n0\r\n\r\n', '5\r\nhel', 'zz\r\nx\r\n', '0\r\n\r\n', '1;ext=1\r\nx\r\n0\r\nTrailer: y\r\n\r\n', 'ffffffffffffffffff\r\n'),
    fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes).toString('latin1'))
  )
  const hostile = fc.tuple(requestLine, fc.array(header, { maxLength: 5 }), fc.boolean(), body, pick(['\r\n'], fc.constantFrom('\n', '\r'))).map(([first, headers, withHost, payload, eol]) => {
    const lines = withHost ? ['Host: 127.0.0.1', ...headers] : headers
    return [first, ...lines].join(eol) + eol + eol + payload
  })
  // Well-formed requests between the hostile ones: what the server must keep answering.
  const wellFormed = fc.tuple(fc.constantFrom(...targets), fc.constantFrom('keep-alive', 'close')).map(([target, connection]) => `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: ${connection}\r\n\r\n`)
  return fc.tuple(
    fc.array(fc.oneof(wellFormed, hostile), { minLength: 1, maxLength: 3 }),
    fc.array(fc.nat(), { maxLength: 4 })
  ).map(([requests, cuts]) => {
    const text = requests.join('')
    const bytes = Buffer.from(text, 'latin1')
    return { bytes, cuts: cuts.map((cut) => cut % (bytes.length + 1)).sort((a, b) => a - b) }
  })
}

/** Writes the case in its pieces, half-closes, and reads until the server closes; the answer's bytes. */
function exchange (port: number, wire: WireCase): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: HOST, port })
    const received: Buffer[] = []
    const deadline = setTimeout(() => {
      socket.destroy()
      reject(new Error(`the server kept the connection open ${CLOSE_DEADLINE_MS} ms after the client finished: ${JSON.stringify(wire.bytes.toString('latin1').slice(0, 300))}`))
    }, CLOSE_DEADLINE_MS)
    socket.on('data', (chunk: Buffer) => { received.push(chunk) })
    socket.on('error', () => {})
    socket.on('close', () => {
      clearTimeout(deadline)
      resolve(Buffer.concat(received).toString('latin1'))
    })
    socket.once('connect', () => {
      let from = 0
      for (const cut of [...wire.cuts, wire.bytes.length]) {
        if (cut > from) socket.write(wire.bytes.subarray(from, cut))
        from = Math.max(from, cut)
      }
      socket.end()
    })
  })
}

t.test('raw request bytes never get a 5xx, every connection is closed, and nothing is kept per request', async (t) => {
  const harness = await startHttpHarness(t)
  await harness.app.listen({ host: HOST, port: 0 })
  const port = (harness.app.server.address() as { port: number }).port
  // Route templates with their parameters filled, minus blocking queries (a `?wait=` legitimately waits).
  const targets = [...new Set(harness.routes.filter((route) => route.url !== '/v1/mesh/ca/rotate').map((route) => route.url.replace(/:[A-Za-z]+/g, 'web')))]
  const arbitrary = wireCase([...targets, '/v1/agent/self?pretty', '/v1/nothing', '*', 'http://127.0.0.1/v1/agent/self', '/%zz', '/v1/catalog/service/web?filter=Service%20%3D%3D'])
  let answered = 0
  let successes = 0
  const round = async (): Promise<void> => {
    await fc.assert(fc.asyncProperty(arbitrary, async (wire) => {
      const answer = await exchange(port, wire)
      for (const match of answer.matchAll(/HTTP\/1\.[01] (\d{3})/g)) {
        const status = Number(match[1])
        answered++
        if (status < 300) successes++
        if (status >= 500) throw new Error(`answered ${status} to ${JSON.stringify(wire.bytes.toString('latin1').slice(0, 300))}: ${answer.slice(0, 300)}`)
      }
    }), fuzzParameters(250))
  }
  await round()
  gc()
  const before = process.memoryUsage().heapUsed
  await round()
  gc()
  const after = process.memoryUsage().heapUsed
  t.comment(`heap after the first round ${(before / 1048576).toFixed(1)} MB, after the same cases again ${(after / 1048576).toFixed(1)} MB`)
  t.ok(after - before < HEAP_GROWTH_BYTES, `the same cases a second time keep no memory (${((after - before) / 1048576).toFixed(2)} MB more)`)
  t.comment(`${answered} answers over both rounds, ${successes} of them successes`)
  assertReached(t, answered > 200 && successes > 20, `${answered} answers, ${successes} of them successes`)
  const check = await exchange(port, { bytes: Buffer.from('GET /v1/agent/self HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n'), cuts: [] })
  t.match(check, /^HTTP\/1\.1 200 /, 'a well-formed request is still answered')
})
