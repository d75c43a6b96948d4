// Property: for every DNS message (random bytes, well-formed queries for our forms, and mutations
// of them), the server's packet handler never throws and never fails internally (no SERVFAIL, no
// error log); what it answers decodes, carries the query's id, and fits the transport's size.
import t from 'tap'
import fc from 'fast-check'
import dnsPacket from 'dns-packet'
import type { Packet } from 'dns-packet'
import { DnsServer } from '../../agent/dns/server.ts'
import { MemoryView, seededRandom } from '../agent/dns/fixture.ts'
import { captureLogger, LEVEL } from '../fixtures/log-capture.ts'
import { assertReached, fuzzParameters } from './fuzz.ts'
import { dnsRegressions } from './regressions.ts'

const SERVFAIL = 2
const MAX_UDP_BYTES = 4096

function server (): { server: DnsServer, errors: () => unknown[] } {
  const view = new MemoryView()
  view.addNode('node-1', '127.0.0.91', { rack: 'r1' })
  view.addNode('node-2', '127.0.0.92')
  view.addService('web', 'node-1', { tags: ['v1', 'primary'], port: 8080 })
  view.addService('web', 'node-2', { tags: ['v2'], port: 8081, status: 'warning' })
  view.addService('web-sidecar-proxy', 'node-1', { port: 21000, proxyFor: 'web' })
  for (let i = 0; i < 40; i++) view.addService('big', 'node-2', { port: 9000 + i, serviceAddress: `127.0.0.${91 + (i % 9)}` })
  const { log, lines } = captureLogger('debug')
  return { server: new DnsServer({ view, port: 0, random: seededRandom(1), nowMs: () => 0, log }), errors: () => lines.filter(line => line.level >= LEVEL.error) }
}

/** Checks one answer, throwing what is wrong; returns its outcome (rcode, "records", or "none"). */
async function check (dns: ReturnType<typeof server>, packet: Buffer, overTcp: boolean): Promise<string> {
  const result = dns.server.answer(packet, overTcp)
  const answer = result instanceof Promise ? await result : result
  if (dns.errors().length > 0) throw new Error(`logged an error: ${JSON.stringify(dns.errors()[0])}`)
  if (answer === undefined) return 'none'
  if (answer.length < 12) throw new Error(`answer of ${answer.length} bytes has no header`)
  if (packet.length >= 2 && answer.readUInt16BE(0) !== packet.readUInt16BE(0)) throw new Error('answer id differs from the query id')
  if ((answer[2] & 0x80) === 0) throw new Error('answer without the QR bit')
  if ((answer[3] & 0x0f) === SERVFAIL) throw new Error('SERVFAIL: the lookup failed internally')
  if (!overTcp && answer.length > MAX_UDP_BYTES) throw new Error(`UDP answer of ${answer.length} bytes`)
  if (overTcp && answer.length > 65535) throw new Error(`TCP answer of ${answer.length} bytes`)
  let decoded: ReturnType<typeof dnsPacket.decode>
  try {
    decoded = dnsPacket.decode(answer)
  } catch (error) {
    throw new Error(`answer does not decode: ${(error as Error).message}`)
  }
  return (decoded.answers?.length ?? 0) > 0 ? 'records' : `rcode ${answer[3] & 0x0f}`
}

const label = fc.oneof(
  fc.constantFrom('web', 'WEB', 'big', 'node-1', 'node-2', 'v1', 'v2', '_web', '_tcp', 'service', 'node', 'connect', 'ingress', 'query', 'addr', 'dc1', 'dc2', 'consul', 'in-addr', 'arpa', '91', '0', 'primary', 'virtual'),
  fc.string({ minLength: 1, maxLength: 20, unit: fc.constantFrom('a', 'z', '0', '-', '_', '.', '*', '\\', ' ') })
)
/** Names in Consul's query forms (often with a case or label changed), and random label soups. */
const consulName = fc.record({
  form: fc.constantFrom('web.service', 'v1.web.service', 'big.service', '_web._tcp.service', 'web.connect', 'node-1.node', 'node-2.node', 'virtual', '91.0.0.127.in-addr.arpa', 'web.ingress', 'addr'),
  dc: fc.constantFrom('', '.dc1', '.dc2'),
  domain: fc.constantFrom('.consul', '.CONSUL', '.consul.', '.example', ''),
}).map(({ form, dc, domain }) => form.endsWith('arpa') ? form : `${form}${dc}${domain}`)
const name = fc.oneof(
  { weight: 3, arbitrary: consulName },
  { weight: 1, arbitrary: fc.array(label, { minLength: 0, maxLength: 7 }).map(labels => labels.join('.')) }
)
const queryPacket: fc.Arbitrary<Packet> = fc.record({
  id: fc.integer({ min: 0, max: 65535 }),
  flags: fc.constantFrom(0, dnsPacket.RECURSION_DESIRED, dnsPacket.RECURSION_DESIRED | dnsPacket.CHECKING_DISABLED),
  questions: fc.array(fc.record({
    name,
    type: fc.oneof({ weight: 3, arbitrary: fc.constantFrom('A', 'SRV', 'ANY') }, { weight: 1, arbitrary: fc.constantFrom('AAAA', 'TXT', 'PTR', 'SOA', 'NS', 'CNAME', 'MX', 'AXFR', 'CAA') }),
    class: fc.oneof({ weight: 5, arbitrary: fc.constant('IN') }, { weight: 1, arbitrary: fc.constantFrom('ANY', 'CH') }),
  }), { minLength: 1, maxLength: 1 }),
  edns: fc.option(fc.record({ udpPayloadSize: fc.integer({ min: 0, max: 65535 }), flags: fc.constantFrom(0, dnsPacket.DNSSEC_OK) }), { nil: undefined }),
}).map(({ id, flags, questions, edns }) => ({
  type: 'query',
  id,
  flags,
  questions: questions as Packet['questions'],
  additionals: edns === undefined ? [] : [{ type: 'OPT', name: '.', udpPayloadSize: edns.udpPayloadSize, flags: edns.flags, options: [] } as never],
}))

/** A well-formed query with some bytes replaced, or cut short, or extended. */
const mutated = fc.record({
  packet: queryPacket,
  edits: fc.array(fc.record({ at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }), { maxLength: 4 }),
  cut: fc.option(fc.nat(), { nil: undefined }),
  tail: fc.uint8Array({ maxLength: 8 }),
}).map(({ packet, edits, cut, tail }) => {
  const bytes = Buffer.from(dnsPacket.encode(packet))
  for (const edit of edits) bytes[edit.at % bytes.length] = edit.byte
  const cutAt = cut === undefined ? bytes.length : cut % (bytes.length + 1)
  return Buffer.concat([bytes.subarray(0, cutAt), tail])
})

const anyPacket = fc.oneof(
  fc.uint8Array({ maxLength: 600 }).map(bytes => Buffer.from(bytes)),
  queryPacket.map(packet => Buffer.from(dnsPacket.encode(packet))),
  mutated
)

t.test('every DNS message is answered without an internal failure, and what is answered decodes', async t => {
  const dns = server()
  const outcomes = new Map<string, number>()
  const regressions = dnsRegressions.map(hex => [Buffer.from(hex, 'hex'), false] as [Buffer, boolean])
  await fc.assert(fc.asyncProperty(anyPacket, fc.boolean(), async (packet, overTcp) => {
    const outcome = await check(dns, packet, overTcp)
    outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1)
  }), fuzzParameters(800, regressions))
  // The generators reach every path: answers with records, NXDOMAIN (3), FORMERR (1), dropped input.
  for (const outcome of ['records', 'rcode 3', 'rcode 1', 'none']) assertReached(t, (outcomes.get(outcome) ?? 0) > 0, `${outcome}: ${outcomes.get(outcome) ?? 0}`)
})

t.test('DNS over TCP: any byte stream, cut into any chunks, gets each complete frame answered exactly once', async t => {
  const { TcpDnsListener } = await import('../../agent/dns/tcp.ts')
  const net = await import('node:net')
  const errors: Error[] = []
  const listener = new TcpDnsListener({
    limits: { maxConnections: 8, maxConnectionsPerSource: 8, handshakeTimeoutMs: 0, idleTimeoutMs: 10_000 },
    maxPendingPerConnection: 4,
    // Answers each message with itself, asynchronously for odd first bytes (like forwarded questions).
    onMessage: (message) => (message[0] & 1) === 1 ? Promise.resolve(Buffer.from(message)) : Buffer.from(message),
    onError: (error) => { errors.push(error) },
  })
  const port = await listener.listen(0, '127.0.0.91')
  t.teardown(() => listener.close())
  const frame = fc.oneof(
    { weight: 5, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 300 }).map(body => ({ body, length: body.length })) },
    { weight: 1, arbitrary: fc.record({ body: fc.uint8Array({ maxLength: 20 }), length: fc.integer({ min: 0, max: 65535 }) }) }
  )
  let framesAnswered = 0
  await fc.assert(fc.asyncProperty(fc.array(frame, { maxLength: 12 }), fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 1, maxLength: 8 }), async (frames, cuts) => {
    const stream = Buffer.concat(frames.map(({ body, length }) => { const header = Buffer.alloc(2); header.writeUInt16BE(length); return Buffer.concat([header, body]) }))
    // What a correct server answers: every complete frame up to the first zero-length one (which ends the connection).
    const expected: Buffer[] = []
    let endsInReset = false
    for (let offset = 0; offset + 2 <= stream.length;) {
      const length = stream.readUInt16BE(offset)
      if (length === 0) { endsInReset = true; break }
      if (offset + 2 + length > stream.length) break
      expected.push(stream.subarray(offset + 2, offset + 2 + length))
      offset += 2 + length
    }
    const received = await new Promise<Buffer>((resolve, reject) => {
      const socket = net.connect({ port, host: '127.0.0.91' })
      const chunks: Buffer[] = []
      socket.on('data', (chunk: Buffer) => { chunks.push(chunk) })
      socket.on('close', () => { resolve(Buffer.concat(chunks)) })
      socket.on('error', (error: NodeJS.ErrnoException) => { if (error.code === 'ECONNRESET' || error.code === 'EPIPE') return; reject(error) })
      socket.on('connect', () => {
        let offset = 0
        for (const cut of cuts) { if (offset < stream.length) socket.write(stream.subarray(offset, offset + cut)); offset += cut }
        if (offset < stream.length) socket.write(stream.subarray(offset))
        socket.end()
      })
    })
    const answers: Buffer[] = []
    for (let offset = 0; offset + 2 <= received.length; offset += 2 + received.readUInt16BE(offset)) answers.push(received.subarray(offset + 2, offset + 2 + received.readUInt16BE(offset)))
    // Answers may come out of order (RFC 7766; each carries its query's id), so compare as multisets.
    // A zero-length frame resets the connection: answers still in flight may be lost, never invented or repeated.
    const remaining = new Map<string, number>()
    for (const message of expected) remaining.set(message.toString('hex'), (remaining.get(message.toString('hex')) ?? 0) + 1)
    for (const answer of answers) {
      const key = answer.toString('hex')
      const left = remaining.get(key) ?? 0
      if (left === 0) throw new Error(`an answer that answers no frame, or one frame twice: ${key.slice(0, 40)}`)
      remaining.set(key, left - 1)
    }
    if (!endsInReset && answers.length !== expected.length) throw new Error(`${answers.length} answers for ${expected.length} complete frames`)
    framesAnswered += answers.length
  }), fuzzParameters(120))
  t.same(errors, [], 'no handler error')
  assertReached(t, framesAnswered > 100, `${framesAnswered} frames answered`)
})
