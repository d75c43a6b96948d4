// Property of the sidecar's HTTP/1.1 head parser (what a caller's bytes reach first): any head is
// parsed, handed over to node's server, or refused with a reason, never an exception; and a head
// it parses itself is unambiguous: an origin-form path, one Host, at most one Content-Length and
// no Transfer-Encoding, no folded, bare-CR or bare-LF lines (the request-smuggling shapes).
import t from 'tap'
import fc from 'fast-check'
import { HAND_OVER, parseHead } from '../../proxy/http1.ts'
import { assertReached, fuzzParameters } from './fuzz.ts'

const token = fc.string({ minLength: 0, maxLength: 12, unit: fc.constantFrom('G', 'E', 'T', 'a', '-', '_', ':', ' ', '\t', '\r', '\n', '\u0000', '\u007f', '\u00e9', '/', '?', '%', '0', '1') })
const headerName = fc.oneof({ weight: 4, arbitrary: fc.constantFrom('Host', 'host', 'Content-Length', 'content-length', 'Transfer-Encoding', 'Connection', 'Upgrade', 'Expect', 'X-Forwarded-Client-Cert', 'Cookie', 'Set-Cookie', '__proto__', 'constructor') }, { weight: 1, arbitrary: token })
const headerValue = fc.oneof({ weight: 4, arbitrary: fc.constantFrom('api', '0', '5', '18446744073709551616', '-1', ' 5', '5, 5', 'chunked', 'close', 'keep-alive', 'upgrade', 'x') }, { weight: 1, arbitrary: token })
const line = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(headerName, fc.constantFrom(': ', ':', ' : ', ':\t'), headerValue).map(([name, sep, value]) => `${name}${sep}${value}`) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(' ', '\t'), headerValue).map(([space, value]) => `${space}${value}`) },
  { weight: 1, arbitrary: token }
)
const requestLine = fc.tuple(
  fc.oneof({ weight: 4, arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'CONNECT', 'OPTIONS') }, { weight: 1, arbitrary: token }),
  fc.oneof({ weight: 4, arbitrary: fc.constantFrom('/', '/v1/x?y=1', '*', 'http://api/', '/é', '//x') }, { weight: 1, arbitrary: token }),
  fc.oneof({ weight: 4, arbitrary: fc.constant('HTTP/1.1') }, { weight: 1, arbitrary: fc.constantFrom('HTTP/1.0', 'HTTP/2.0', 'HTTP/1.1 ', 'http/1.1', '') })
).map(([method, target, version]) => `${method} ${target} ${version}`)
const head = fc.tuple(
  requestLine,
  fc.array(line, { maxLength: 5 }),
  fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  fc.nat(),
  fc.oneof({ weight: 8, arbitrary: fc.constant('\r\n') }, { weight: 1, arbitrary: fc.constantFrom('\n', '\r') })
).map(([first, lines, withHost, at, eol]) => {
  const all = [...lines]
  if (withHost) all.splice(at % (all.length + 1), 0, 'Host: api')
  return Buffer.from([first, ...all].join(eol), 'latin1')
})

t.test('every head is parsed, handed over or refused, and a parsed one is unambiguous', async t => {
  let parsed = 0
  await fc.assert(fc.property(head, bytes => {
    const result = parseHead(bytes, bytes.length)
    if (typeof result === 'string') return
    parsed++
    const text = bytes.toString('latin1')
    const lines = text.split('\r\n')
    if (!result.path.startsWith('/')) throw new Error(`parsed a non-origin-form target ${result.path}`)
    if (/[^\r]\n|\r(?!\n)/.test(text)) throw new Error('parsed a head with a bare CR or LF')
    if (lines.slice(1).some(header => header.startsWith(' ') || header.startsWith('\t'))) throw new Error('parsed a folded header')
    const names = lines.slice(1).map(header => header.slice(0, header.indexOf(':')).trim().toLowerCase())
    if (names.filter(name => name === 'host').length !== 1) throw new Error('parsed a head without exactly one Host')
    if (names.filter(name => name === 'content-length').length > 1) throw new Error('parsed two Content-Lengths')
    if (names.includes('transfer-encoding')) throw new Error('parsed a Transfer-Encoding itself')
    if (!Number.isSafeInteger(result.contentLength) || result.contentLength < 0) throw new Error(`content length ${result.contentLength}`)
    if (Object.getPrototypeOf(result.headers) !== Object.prototype && Object.getPrototypeOf(result.headers) !== null) throw new Error('headers object with a foreign prototype')
  }), fuzzParameters(1000))
  assertReached(t, parsed > 20, `${parsed} heads were parsed on the fast path`)
  const http10 = Buffer.from('GET / HTTP/1.0\r\nHost: a')
  t.equal(parseHead(http10, http10.length), HAND_OVER, 'HTTP/1.0 is handed over')
})
