// The pure parts of the DNS server, with tables of exact values: the hand-written query reader,
// Consul's service_ttl matching, `addr` labels; and the error codes' documentation.

import t from 'tap'
import { readFileSync } from 'node:fs'
import dnsPacket from 'dns-packet'
import { DNS_ERROR_CODES } from '../../../agent/dns/errors.ts'
import { serviceTtlFor } from '../../../agent/dns/lookup.ts'
import { addressFromAddrLabel, addrLabel } from '../../../agent/dns/records.ts'
import { questionName, readQuery } from '../../../agent/dns/wire.ts'
import { query } from './fixture.ts'

t.test('readQuery reads id, flags, question end, type, class and the OPT record', async (t) => {
  const plain = dnsPacket.encode(query('Web.Service.consul', 'SRV', { id: 513 }))
  const read = readQuery(plain)
  t.match(read, { kind: 'query', id: 513, qtype: 33, qclass: 1, hasEdns: false, ednsUdpSizeBytes: 0, dnssecOk: false })
  t.equal(read.kind === 'query' && read.questionEnd, plain.length, 'the question runs to the end')
  t.equal(read.kind === 'query' && questionName(plain, read.questionEnd), 'Web.Service.consul', 'the name keeps its case')

  const withEdns = dnsPacket.encode(query('a.consul', 'A', {
    additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1400, extendedRcode: 0, ednsVersion: 0, flags: dnsPacket.DNSSEC_OK, flag_do: true, options: [] }]
  }))
  t.match(readQuery(withEdns), { kind: 'query', hasEdns: true, ednsUdpSizeBytes: 1400, dnssecOk: true, ednsVersion: 0 })
})

t.test('readQuery classifies what it cannot answer', async (t) => {
  const good = dnsPacket.encode(query('a.consul', 'A', { id: 9 }))
  const withFlags = (flags: number): Buffer => { const copy = Buffer.from(good); copy.writeUInt16BE(flags, 2); return copy }
  const opt = { type: 'OPT' as const, name: '.', udpPayloadSize: 512, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }
  const table: Array<[string, Buffer, string]> = [
    ['empty', Buffer.alloc(0), 'drop'],
    ['11 bytes', good.subarray(0, 11), 'drop'],
    ['a response', withFlags(0x8000), 'drop'],
    ['opcode STATUS', withFlags(2 << 11), 'notimp'],
    ['header only', good.subarray(0, 12), 'malformed'],
    ['name cut', good.subarray(0, 15), 'malformed'],
    ['type cut', good.subarray(0, good.length - 1), 'malformed'],
    ['pointer in question', Buffer.concat([good.subarray(0, 12), Buffer.from([0xc0, 0x0c, 0, 1, 0, 1])]), 'malformed'],
    ['two OPT records', dnsPacket.encode(query('a.consul', 'A', { additionals: [opt, opt] })), 'malformed'],
    ['additional count without record', (() => { const copy = Buffer.from(good); copy.writeUInt16BE(1, 10); return copy })(), 'malformed'],
    ['a good query', good, 'query']
  ]
  for (const [name, bytes, kind] of table) t.equal(readQuery(bytes).kind, kind, name)
  const longName = Buffer.concat([good.subarray(0, 12), Buffer.from(Array.from({ length: 5 }, () => [63, ...Buffer.alloc(63, 97)]).flat()), Buffer.from([0, 0, 1, 0, 1])])
  t.equal(readQuery(longName).kind, 'malformed', 'a name over 255 bytes')
})

t.test("serviceTtlFor: exact name, then longest prefix*, then '*', then the default", async (t) => {
  const overrides = { web: 10, 'we*': 20, 'w*': 30, '*': 40, 'db*': 50 }
  const table: Array<[string, Record<string, number>, number]> = [
    ['web', overrides, 10],
    ['webapp', overrides, 20],
    ['worker', overrides, 30],
    ['dbmaster', overrides, 50],
    ['cache', overrides, 40],
    ['cache', { web: 10 }, 7],
    ['anything', {}, 7]
  ]
  for (const [service, rules, expected] of table) t.equal(serviceTtlFor(service, rules, 7), expected, `${service} in ${JSON.stringify(rules)}`)
})

t.test('addr labels encode and decode IPv4 and IPv6 as Consul does', async (t) => {
  t.equal(addrLabel('10.9.9.9'), '0a090909')
  t.equal(addrLabel('127.0.0.1'), '7f000001')
  t.equal(addrLabel('fd00::1'), 'fd000000000000000000000000000001')
  t.equal(addrLabel('host.example'), undefined)
  t.equal(addressFromAddrLabel('0a090909'), '10.9.9.9')
  t.equal(addressFromAddrLabel('fd000000000000000000000000000001'), 'fd00:0000:0000:0000:0000:0000:0000:0001')
  t.equal(addressFromAddrLabel('xyz'), undefined)
  t.equal(addressFromAddrLabel('0a0909'), undefined)
})

t.test('every DNS error code is documented in docs/errors/dns.md, and no other', async (t) => {
  const page = readFileSync(new URL('../../../docs/errors/dns.md', import.meta.url), 'utf8')
  const documented = new Set(page.match(/MESH_ERR_DNS_[A-Z_]+/g))
  t.same([...documented].sort(), [...DNS_ERROR_CODES].sort())
})
