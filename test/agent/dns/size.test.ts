// Answer sizes: UDP answers fit 512 bytes or the client's EDNS0 size, cut answers set TC, the
// additional section gives way first, TCP carries everything, udpAnswerLimit caps UDP answers.

import t from 'tap'
import type { Test } from 'tap'
import { Resolver } from 'node:dns/promises'
import dnsPacket from 'dns-packet'
import type { Answer, SrvAnswer } from 'dns-packet'
import { askTcp, askUdp, decode, MemoryView, query, startServer } from './fixture.ts'

function catalog (instances: number): MemoryView {
  const view = new MemoryView()
  for (let index = 1; index <= instances; index++) {
    view.addNode(`node${index}`, `10.0.${Math.floor(index / 256)}.${index % 256}`)
    view.addService('big', `node${index}`, { port: 9000 + index })
  }
  return view
}

function ednsQuery (name: string, type: string, udpPayloadSize: number, dnssecOk = false): ReturnType<typeof query> {
  return query(name, type, {
    additionals: [{ type: 'OPT', name: '.', udpPayloadSize, extendedRcode: 0, ednsVersion: 0, flags: dnssecOk ? dnsPacket.DNSSEC_OK : 0, flag_do: dnssecOk, options: [] }]
  })
}

/** The additional A records must be exactly the targets of SRV answers kept (no orphans). */
function additionalTargetsKept (t: Test, answers: Answer[], additionals: Answer[]): void {
  const targets = new Set(answers.map((record) => (record as SrvAnswer).data.target))
  for (const record of additionals) if (record.type === 'A') t.ok(targets.has(record.name), `${record.name} is a kept target`)
}


t.test('50 instances over UDP without EDNS0: answer within 512 bytes, TC set', async (t) => {
  const { server, port } = await startServer(catalog(50))
  t.teardown(() => server.stop())
  for (const type of ['SRV', 'A']) {
    const { decoded, bytes } = await askUdp(port, query('big.service.consul', type))
    t.ok(bytes.length <= 512, `${type}: ${bytes.length} bytes`)
    t.equal(decoded.flag_tc, true, `${type}: TC set`)
    t.ok(decoded.answers.length > 0 && decoded.answers.length < 50, `${type}: ${decoded.answers.length} answers kept`)
    t.equal(decoded.rcode, 'NOERROR')
    additionalTargetsKept(t, decoded.answers, decoded.additionals)
  }
})

t.test('retried over TCP the same question gets all 50 answers and their additional records', async (t) => {
  const { server, port } = await startServer(catalog(50))
  t.teardown(() => server.stop())
  const [bytes] = await askTcp(port, [dnsPacket.encode(query('big.service.consul', 'SRV'))])
  const decoded = decode(bytes!)
  t.equal(decoded.flag_tc, false)
  t.equal(decoded.answers.length, 50)
  t.equal(decoded.additionals.length, 50)
  t.same(decoded.answers.map((record) => (record as SrvAnswer).data.port).sort(), Array.from({ length: 50 }, (_, index) => 9001 + index).sort())
})

t.test('node:dns falls back to TCP on TC and sees all 50 instances', async (t) => {
  const { server, port } = await startServer(catalog(50))
  t.teardown(() => server.stop())
  const resolver = new Resolver({ timeout: 1000, tries: 1 })
  resolver.setServers([`127.0.0.1:${port}`])
  t.equal((await resolver.resolveSrv('big.service.consul')).length, 50)
  t.equal((await resolver.resolve4('big.service.consul')).length, 50)
})

t.test('EDNS0: the offered size is used, the OPT record echoed with the DO bit', async (t) => {
  const { server, port } = await startServer(catalog(50))
  t.teardown(() => server.stop())
  const roomy = await askUdp(port, ednsQuery('big.service.consul', 'A', 4096, true))
  t.equal(roomy.decoded.flag_tc, false, '50 A records fit in 4096 bytes')
  t.equal(roomy.decoded.answers.length, 50)
  const opt = roomy.decoded.additionals.find((record) => record.type === 'OPT') as { udpPayloadSize: number, flag_do: boolean } | undefined
  t.ok(opt, 'OPT echoed')
  t.equal(opt?.flag_do, true, 'DO bit echoed')
  t.equal(opt?.udpPayloadSize, 4096, 'our UDP size advertised')

  const middle = await askUdp(port, ednsQuery('big.service.consul', 'SRV', 1232))
  t.ok(middle.bytes.length <= 1232 && middle.bytes.length > 512, `${middle.bytes.length} bytes within 1232`)
  t.equal(middle.decoded.flag_tc, true)
  t.equal(middle.decoded.additionals.at(-1)?.type, 'OPT', 'OPT kept when cutting')

  const between = await askUdp(port, ednsQuery('big.service.consul', 'SRV', 1300))
  t.ok(between.bytes.length <= 1232, `1300 offered: cut to the 1232 step (${between.bytes.length})`)

  const small = await askUdp(port, ednsQuery('big.service.consul', 'A', 100))
  t.ok(small.bytes.length <= 512 && small.decoded.answers.length > 2, 'sizes under 512 count as 512')

  const huge = await askUdp(port, ednsQuery('big.service.consul', 'SRV', 65000))
  t.ok(huge.bytes.length <= 4096, `capped at maxUdpSizeBytes (${huge.bytes.length})`)
  t.equal(huge.decoded.answers.length, 50, 'every SRV answer fits in 4096')
  t.ok(huge.decoded.additionals.length < 50, 'the additional records that would pass 4096 are left out')
})

t.test('the additional section is trimmed before any answer, without TC', async (t) => {
  const { server, port } = await startServer(catalog(6))
  t.teardown(() => server.stop())
  const { decoded, bytes } = await askUdp(port, query('big.service.consul', 'SRV'))
  t.ok(bytes.length <= 512)
  t.equal(decoded.answers.length, 6, 'every answer kept')
  t.ok(decoded.additionals.length < 6, `${decoded.additionals.length} of 6 additional records kept`)
  t.equal(decoded.flag_tc, false, 'optional records left out do not set TC')
  additionalTargetsKept(t, decoded.answers, decoded.additionals)
})

t.test('udpAnswerLimit caps UDP answers; TCP still carries all', async (t) => {
  const { server, port } = await startServer(catalog(10), { udpAnswerLimit: 3 })
  t.teardown(() => server.stop())
  const { decoded } = await askUdp(port, ednsQuery('big.service.consul', 'A', 4096))
  t.equal(decoded.answers.length, 3)
  const [bytes] = await askTcp(port, [dnsPacket.encode(query('big.service.consul', 'A'))])
  t.equal(decode(bytes!).answers.length, 10)
})
