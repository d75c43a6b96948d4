// Error answers, checked on the raw packets: NXDOMAIN and empty NOERROR with the SOA, FORMERR with
// the id echoed, silence for unreadable packets, REFUSED, NOTIMP, BADVERS; and garbage over UDP and
// TCP leaves the server answering.

import t from 'tap'
import dnsPacket from 'dns-packet'
import type { SoaAnswer } from 'dns-packet'
import { askTcp, askUdp, decode, MemoryView, query, seededRandom, startServer, udpExchange } from './fixture.ts'
import type { Decoded } from './fixture.ts'

function catalog (): MemoryView {
  const view = new MemoryView()
  view.addNode('alpha', '10.0.0.1')
  view.addService('web', 'alpha')
  return view
}

function soaOf (answer: Decoded): SoaAnswer {
  t.equal(answer.authorities.length, 1, 'one authority record')
  const soa = answer.authorities[0] as SoaAnswer
  t.equal(soa.type, 'SOA')
  return soa
}

t.test('unknown name: NXDOMAIN, authoritative, with Consul\'s SOA in the authority section', async (t) => {
  const nowMs = 1_700_000_123_456
  const { server, port } = await startServer(catalog(), { nowMs: () => nowMs })
  t.teardown(() => server.stop())
  const { decoded } = await askUdp(port, query('nothing.service.consul', 'A'))
  t.equal(decoded.rcode, 'NXDOMAIN')
  t.equal(decoded.flag_aa, true)
  t.equal(decoded.answers.length, 0)
  const soa = soaOf(decoded)
  t.equal(soa.name, 'consul')
  t.same(soa.data, {
    mname: 'ns.consul', rname: 'hostmaster.consul', serial: 1_700_000_123, refresh: 3600, retry: 600, expire: 86400, minimum: 0
  })
  t.equal(soa.ttl, 0)
  for (const name of ['web.nothing.consul', 'a.b.c.service.consul', 'zz.addr.consul', 'x.y.node.consul']) {
    t.equal((await askUdp(port, query(name, 'A'))).decoded.rcode, 'NXDOMAIN', name)
  }
})

t.test('known name without records of the type: NOERROR, no answers, the SOA', async (t) => {
  const { server, port } = await startServer(catalog(), { soa: { minTtlS: 30 } })
  t.teardown(() => server.stop())
  const { decoded } = await askUdp(port, query('web.service.consul', 'AAAA'))
  t.equal(decoded.rcode, 'NOERROR')
  t.equal(decoded.answers.length, 0)
  t.equal(soaOf(decoded).data.minimum, 30)
  const apex = await askUdp(port, query('consul', 'SOA'))
  t.equal(apex.decoded.answers[0]?.type, 'SOA', 'the domain itself answers its SOA')
})

t.test('a readable header with a broken question: FORMERR with the id echoed', async (t) => {
  const { server, port } = await startServer(catalog())
  t.teardown(() => server.stop())
  const good = dnsPacket.encode(query('web.service.consul', 'A', { id: 4242 }))
  const cases: Array<[string, Buffer]> = [
    ['question cut short', good.subarray(0, good.length - 3)],
    ['two questions', dnsPacket.encode({ ...query('a.consul', 'A', { id: 4242 }), questions: [{ name: 'a.consul', type: 'A' }, { name: 'b.consul', type: 'A' }] })],
    ['no question', dnsPacket.encode({ type: 'query', id: 4242, questions: [] })],
    ['label length over 63', Buffer.concat([good.subarray(0, 12), Buffer.from([0x50]), good.subarray(13)])]
  ]
  for (const [name, bytes] of cases) {
    const answer = await udpExchange(port, bytes)
    t.ok(answer, `${name}: answered`)
    const decoded = decode(answer!)
    t.equal(decoded.id, 4242, `${name}: id echoed`)
    t.equal(decoded.rcode, 'FORMERR', `${name}: FORMERR`)
    t.equal(decoded.flag_qr, true)
  }
})

t.test('packets without a readable header, and responses, get no answer', async (t) => {
  const { server, port } = await startServer(catalog())
  t.teardown(() => server.stop())
  t.equal(await udpExchange(port, Buffer.from([1, 2, 3]), 200), undefined, 'shorter than a header')
  const response = dnsPacket.encode({ ...query('web.service.consul', 'A'), type: 'response' })
  t.equal(await udpExchange(port, response, 200), undefined, 'a response is not answered (no reflection loops)')
})

t.test('names outside the domain are REFUSED without recursors', async (t) => {
  const { server, port } = await startServer(catalog())
  t.teardown(() => server.stop())
  const { decoded } = await askUdp(port, query('example.com', 'A'))
  t.equal(decoded.rcode, 'REFUSED')
  t.equal(decoded.flag_ra, false, 'no recursion available')
  t.equal(decoded.flag_aa, false, 'not authoritative for a name outside the domain')
  t.equal(decoded.questions[0]?.name, 'example.com', 'question echoed')
})

t.test('classes other than IN and ANY are REFUSED', async (t) => {
  const { server, port } = await startServer(catalog())
  t.teardown(() => server.stop())
  const chaos = await askUdp(port, { ...query('version.bind', 'TXT'), questions: [{ name: 'version.bind', type: 'TXT', class: 'CH' }] })
  t.equal(chaos.decoded.rcode, 'REFUSED')
  const any = await askUdp(port, { ...query('web.service.consul', 'A'), questions: [{ name: 'web.service.consul', type: 'A', class: 'ANY' }] })
  t.equal(any.decoded.answers.length, 1, 'class ANY is answered like IN')
})

t.test('opcodes other than QUERY get NOTIMP', async (t) => {
  const { server, port } = await startServer(catalog())
  t.teardown(() => server.stop())
  const { decoded } = await askUdp(port, query('web.service.consul', 'A', { id: 77, flags: 5 << 11 }))
  t.equal(decoded.rcode, 'NOTIMP')
  t.equal(decoded.id, 77)
})

t.test('EDNS version other than 0 gets BADVERS in the OPT record', async (t) => {
  const { server, port } = await startServer(catalog())
  t.teardown(() => server.stop())
  const { decoded } = await askUdp(port, query('web.service.consul', 'A', {
    additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, extendedRcode: 0, ednsVersion: 1, flags: 0, flag_do: false, options: [] }]
  }))
  const opt = decoded.additionals.find((record) => record.type === 'OPT') as { extendedRcode: number } | undefined
  t.equal(opt?.extendedRcode, 1, 'extended rcode 16 = BADVERS')
  t.equal(decoded.answers.length, 0)
})

t.test('random bytes and cut packets over UDP and TCP leave the server answering', async (t) => {
  const { server, port } = await startServer(catalog())
  t.teardown(() => server.stop())
  const random = seededRandom(99)
  const good = dnsPacket.encode(query('web.service.consul', 'SRV'))
  const garbage: Buffer[] = []
  for (let index = 0; index < 300; index++) {
    const length = Math.floor(random() * 80)
    const bytes = Buffer.alloc(length)
    for (let offset = 0; offset < length; offset++) bytes[offset] = Math.floor(random() * 256)
    if (length > 4) bytes[2] = bytes[2]! & 0x07 // mostly queries with opcode 0, to reach the question reader
    garbage.push(bytes)
    garbage.push(good.subarray(0, Math.floor(random() * good.length)))
  }
  for (const bytes of garbage) await udpExchange(port, bytes, 5)
  t.equal((await askUdp(port, query('web.service.consul', 'A'))).decoded.answers.length, 1, 'UDP still answers')

  // Garbage frames on one TCP connection (which may be closed by a zero-length frame), then a fresh one.
  await askTcp(port, garbage.filter((bytes) => bytes.length > 0), 0, 500).catch(() => undefined)
  const [answer] = await askTcp(port, [dnsPacket.encode(query('web.service.consul', 'A'))])
  t.equal(decode(answer!).answers.length, 1, 'TCP still answers')
})
