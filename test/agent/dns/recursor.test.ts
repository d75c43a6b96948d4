// Forwarding names outside the domain to recursors: in order, with a timeout, UDP then TCP when the
// client asked over TCP and the upstream's UDP answer is truncated; SERVFAIL when none answers.

import t from 'tap'
import type { Test } from 'tap'
import dgram from 'node:dgram'
import net from 'node:net'
import { Resolver } from 'node:dns/promises'
import dnsPacket from 'dns-packet'
import type { Answer } from 'dns-packet'
import { parseRecursor } from '../../../agent/dns/recursor.ts'
import { askTcp, askUdp, decode, MemoryView, query, startServer } from './fixture.ts'

/** An upstream on 127.0.0.1: `one.test` has one A record; `many.test` has 40 and is truncated over UDP. */
async function startUpstream (t: Test): Promise<{ port: number, udpQueries: string[], tcpQueries: string[] }> {
  const udpQueries: string[] = []
  const tcpQueries: string[] = []
  const answerFor = (bytes: Buffer, overTcp: boolean): Buffer => {
    const request = dnsPacket.decode(bytes)
    const name = request.questions![0]!.name
    ;(overTcp ? tcpQueries : udpQueries).push(name)
    const records: Answer[] = []
    const count = name === 'many.test' ? 40 : name === 'one.test' ? 1 : 0
    for (let index = 0; index < count; index++) records.push({ type: 'A', name, ttl: 60, data: `192.0.2.${index + 1}` })
    const truncated = !overTcp && count > 10
    return dnsPacket.encode({
      type: 'response',
      id: request.id,
      flags: dnsPacket.RECURSION_AVAILABLE | (truncated ? dnsPacket.TRUNCATED_RESPONSE : 0) | (count === 0 ? 3 : 0),
      questions: request.questions,
      answers: truncated ? records.slice(0, 10) : records
    })
  }
  const udp = dgram.createSocket('udp4')
  await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', resolve))
  const port = udp.address().port
  udp.on('message', (bytes, from) => udp.send(answerFor(bytes, false), from.port, from.address))
  const tcp = net.createServer((socket) => {
    socket.on('data', (chunk) => socket.end(dnsPacket.streamEncode(dnsPacket.decode(answerFor(chunk.subarray(2), true)))))
  })
  await new Promise<void>((resolve) => tcp.listen(port, '127.0.0.1', resolve))
  t.teardown(() => { udp.close(); tcp.close() })
  return { port, udpQueries, tcpQueries }
}

/** A UDP port that receives and never answers. */
async function startSilent (t: Test): Promise<number> {
  const socket = dgram.createSocket('udp4')
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve))
  t.teardown(() => socket.close())
  return socket.address().port
}

const view = (): MemoryView => {
  const memory = new MemoryView()
  memory.addNode('alpha', '10.0.0.1')
  memory.addService('web', 'alpha')
  return memory
}

t.test('names outside the domain are answered by the recursor, ours are not forwarded', async (t) => {
  const upstream = await startUpstream(t)
  const { server, port } = await startServer(view(), { recursors: [`127.0.0.1:${upstream.port}`] })
  t.teardown(() => server.stop())
  const resolver = new Resolver({ timeout: 2000, tries: 1 })
  resolver.setServers([`127.0.0.1:${port}`])
  t.same(await resolver.resolve4('one.test'), ['192.0.2.1'])
  await t.rejects(resolver.resolve4('none.test'), { code: 'ENOTFOUND' }, "the upstream's NXDOMAIN is passed on")
  t.same(await resolver.resolve4('web.service.consul'), ['10.0.0.1'])
  t.same(upstream.udpQueries, ['one.test', 'none.test'])
  const { decoded } = await askUdp(port, query('web.service.consul', 'A'))
  t.equal(decoded.flag_ra, true, 'RA set when recursors are configured')
})

t.test('a silent recursor times out and the next one answers; none answering gives SERVFAIL', async (t) => {
  const silent = await startSilent(t)
  const upstream = await startUpstream(t)
  const both = await startServer(view(), { recursors: [`127.0.0.1:${silent}`, `127.0.0.1:${upstream.port}`], recursorTimeoutMs: 150 })
  t.teardown(() => both.server.stop())
  const started = performance.now()
  const { decoded } = await askUdp(both.port, query('one.test', 'A'))
  t.equal(decoded.answers.length, 1)
  t.ok(performance.now() - started >= 140, 'waited for the first recursor\'s timeout')

  const onlySilent = await startServer(view(), { recursors: [`127.0.0.1:${silent}`], recursorTimeoutMs: 100 })
  t.teardown(() => onlySilent.server.stop())
  const failed = await askUdp(onlySilent.port, query('one.test', 'A', { id: 999 }))
  t.equal(failed.decoded.rcode, 'SERVFAIL')
  t.equal(failed.decoded.id, 999)
})

t.test('over UDP a truncated upstream answer is passed on; over TCP it is fetched again over TCP', async (t) => {
  const upstream = await startUpstream(t)
  const { server, port } = await startServer(view(), { recursors: [`127.0.0.1:${upstream.port}`] })
  t.teardown(() => server.stop())
  const overUdp = await askUdp(port, query('many.test', 'A'))
  t.equal(overUdp.decoded.flag_tc, true)
  t.equal(overUdp.decoded.answers.length, 10)
  const [bytes] = await askTcp(port, [dnsPacket.encode(query('many.test', 'A'))])
  const overTcp = decode(bytes!)
  t.equal(overTcp.flag_tc, false)
  t.equal(overTcp.answers.length, 40)
  t.same(upstream.tcpQueries, ['many.test'])
})

t.test('recursor addresses: ip, ip:port, [ipv6]:port, bare ipv6; anything else is a config error', async (t) => {
  t.same(parseRecursor('10.0.0.1'), { host: '10.0.0.1', port: 53, label: '10.0.0.1' })
  t.same(parseRecursor('10.0.0.1:5353'), { host: '10.0.0.1', port: 5353, label: '10.0.0.1:5353' })
  t.same(parseRecursor('[::1]:5353'), { host: '::1', port: 5353, label: '[::1]:5353' })
  t.same(parseRecursor('fd00::1'), { host: 'fd00::1', port: 53, label: 'fd00::1' })
  for (const bad of ['dns.google', '10.0.0.1:0', '10.0.0.1:99999', '', '[::1]:x']) {
    t.throws(() => parseRecursor(bad), { code: 'MESH_ERR_DNS_INVALID_CONFIG' }, bad)
  }
})
