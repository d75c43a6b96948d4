// Specification of the membership wire codec: round trips, versioning, bounds, typed errors.
import t from 'tap'
import { decodeMessage, encodeMessage, limits, MAX_ACCUSATION_INCARNATION, MAX_INCARNATION } from '../../../agent/membership/codec.ts'
import type { MembershipMessage } from '../../../agent/membership/types.ts'

const bytes = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value))

t.test('every message type survives an encode/decode round trip', async t => {
  const messages: MembershipMessage[] = [
    { type: 'ping', seq: 1, target: 'b', gossip: [{ type: 'alive', name: 'c', id: 'id-c', addr: '10.0.0.3:8301', meta: { dc: 'dc1' }, incarnation: 4 }] },
    { type: 'ping-req', seq: 2, target: 'b', targetAddr: '10.0.0.2:8301', gossip: [{ type: 'suspect', name: 'b', incarnation: 1, from: 'a' }] },
    { type: 'ack', seq: 3, gossip: [{ type: 'dead', name: 'd', incarnation: 0, from: 'd' }] },
    { type: 'nack', seq: 4, gossip: [] },
    { type: 'gossip', gossip: [] },
    { type: 'push-pull', join: true, reply: false, members: [{ name: 'a', id: 'id-a', addr: 'x:1', meta: {}, incarnation: 0, status: 'left' }] }
  ]
  for (const message of messages) t.same(decodeMessage(encodeMessage(message, 1400), 1400), message, message.type)
})

t.test('encoding refuses to exceed the budget', async t => {
  const message: MembershipMessage = { type: 'ping', seq: 1, target: 'x'.repeat(100), gossip: [] }
  t.throws(() => encodeMessage(message, 64), { code: 'MESH_ERR_MEMBERSHIP_TOO_LARGE' })
})

t.test('decoding rejects bad input with a typed error', async t => {
  const good = { v: 1, type: 'ack', seq: 1, gossip: [] }
  const cases: Array<[string, Uint8Array, string]> = [
    ['not JSON', new TextEncoder().encode('{nope'), 'MESH_ERR_MEMBERSHIP_DECODE'],
    ['invalid UTF-8', new Uint8Array([0x7b, 0xff, 0x7d]), 'MESH_ERR_MEMBERSHIP_DECODE'],
    ['an array', bytes([good]), 'MESH_ERR_MEMBERSHIP_DECODE'],
    ['another version', bytes({ ...good, v: 2 }), 'MESH_ERR_MEMBERSHIP_VERSION'],
    ['no version', bytes({ type: 'ack', seq: 1, gossip: [] }), 'MESH_ERR_MEMBERSHIP_VERSION'],
    ['a version object whose toString is data', new TextEncoder().encode('{"v":{"toString":null}}'), 'MESH_ERR_MEMBERSHIP_VERSION'],
    ['a version nested too deep to serialize', new TextEncoder().encode('{"v":' + '['.repeat(20_000) + ']'.repeat(20_000) + '}'), 'MESH_ERR_MEMBERSHIP_VERSION'],
    ['a type object whose toString is data', new TextEncoder().encode('{"v":1,"type":{"toString":1}}'), 'MESH_ERR_MEMBERSHIP_DECODE'],
    ['unknown type', bytes({ ...good, type: 'hello' }), 'MESH_ERR_MEMBERSHIP_DECODE'],
    ['negative seq', bytes({ ...good, seq: -1 }), 'MESH_ERR_MEMBERSHIP_DECODE'],
    ['fractional seq', bytes({ ...good, seq: 1.5 }), 'MESH_ERR_MEMBERSHIP_DECODE'],
    ['gossip not an array', bytes({ ...good, gossip: {} }), 'MESH_ERR_MEMBERSHIP_DECODE'],
    ['too many gossip entries', bytes({ ...good, gossip: Array(limits.gossipEntries + 1).fill({ type: 'dead', name: 'a', incarnation: 0, from: 'a' }) }), 'MESH_ERR_MEMBERSHIP_DECODE'],
    ['empty name', bytes({ ...good, gossip: [{ type: 'dead', name: '', incarnation: 0, from: 'a' }] }), 'MESH_ERR_MEMBERSHIP_DECODE'],
    ['long name', bytes({ ...good, gossip: [{ type: 'dead', name: 'n'.repeat(limits.nameChars + 1), incarnation: 0, from: 'a' }] }), 'MESH_ERR_MEMBERSHIP_DECODE'],
    ['name with a lone surrogate', bytes({ ...good, gossip: [{ type: 'dead', name: 'a\ud800', incarnation: 0, from: 'a' }] }), 'MESH_ERR_MEMBERSHIP_DECODE'],
    ['name with a control character', bytes({ ...good, gossip: [{ type: 'dead', name: 'a\u0000', incarnation: 0, from: 'a' }] }), 'MESH_ERR_MEMBERSHIP_DECODE'],
    ['name with a slash', bytes({ ...good, gossip: [{ type: 'dead', name: 'a/b', incarnation: 0, from: 'a' }] }), 'MESH_ERR_MEMBERSHIP_DECODE'],
    ['meta value not a string', bytes({ ...good, gossip: [{ type: 'alive', name: 'a', id: 'i', addr: 'x', meta: { k: 1 }, incarnation: 0 }] }), 'MESH_ERR_MEMBERSHIP_DECODE'],
    ['bad member status', bytes({ v: 1, type: 'push-pull', join: false, reply: false, members: [{ name: 'a', id: 'i', addr: 'x', meta: {}, incarnation: 0, status: 'zombie' }] }), 'MESH_ERR_MEMBERSHIP_DECODE'],
    ['join not boolean', bytes({ v: 1, type: 'push-pull', join: 1, reply: false, members: [] }), 'MESH_ERR_MEMBERSHIP_DECODE'],
    ['oversized', bytes({ ...good, pad: 'x'.repeat(2000) }), 'MESH_ERR_MEMBERSHIP_TOO_LARGE']
  ]
  // A large budget, so each case fails on its own defect; the last one fails on size alone.
  for (const [what, input, code] of cases) t.throws(() => decodeMessage(input, what === 'oversized' ? 1400 : 64 * 1024), { code }, what)
})

t.test('decoding drops unknown fields, so nothing unvalidated reaches the core', async t => {
  const decoded = decodeMessage(bytes({ v: 1, type: 'nack', seq: 9, gossip: [], extra: 'x' }), 1400)
  t.same(decoded, { type: 'nack', seq: 9, gossip: [] })
})

t.test('incarnations are bounded: alive up to MAX_INCARNATION, accusations one below, so a refutation always fits', async t => {
  t.equal(MAX_INCARNATION, 2 ** 32 - 1, 'the bound is memberlist\'s uint32')
  const gossip = (entry: unknown): Uint8Array => bytes({ v: 1, type: 'gossip', gossip: [entry] })
  const dead = (incarnation: number) => ({ type: 'dead', name: 'b', incarnation, from: 'x' })
  const aliveAt = (incarnation: number) => ({ type: 'alive', name: 'b', id: 'id-b', addr: 'b:1', meta: {}, incarnation })
  const member = (incarnation: number, status: string) => bytes({ v: 1, type: 'push-pull', join: false, reply: false, members: [{ name: 'b', id: 'id-b', addr: 'b:1', meta: {}, incarnation, status }] })
  for (const [what, input] of [
    ['dead at 2^53−1', gossip(dead(Number.MAX_SAFE_INTEGER))],
    ['dead at the bound', gossip(dead(MAX_INCARNATION))],
    ['suspect at the bound', gossip({ ...dead(MAX_INCARNATION), type: 'suspect' })],
    ['alive above the bound', gossip(aliveAt(MAX_INCARNATION + 1))],
    ['push-pull suspect at the bound', member(MAX_INCARNATION, 'suspect')],
    ['push-pull left at the bound', member(MAX_INCARNATION, 'left')],
    ['push-pull alive above the bound', member(MAX_INCARNATION + 1, 'alive')]
  ] as Array<[string, Uint8Array]>) {
    t.throws(() => decodeMessage(input, 64 * 1024), { code: 'MESH_ERR_MEMBERSHIP_DECODE', message: /incarnation must be at most/ }, what)
  }
  t.equal((decodeMessage(gossip(dead(MAX_ACCUSATION_INCARNATION)), 1400) as { gossip: Array<{ incarnation: number }> }).gossip[0].incarnation, MAX_ACCUSATION_INCARNATION, 'an accusation at MAX−1 is accepted')
  t.equal((decodeMessage(gossip(aliveAt(MAX_INCARNATION)), 1400) as { gossip: Array<{ incarnation: number }> }).gossip[0].incarnation, MAX_INCARNATION, 'an alive at the bound (a refutation of MAX−1) is accepted')
  t.equal((decodeMessage(member(MAX_INCARNATION, 'alive'), 1400) as { members: Array<{ incarnation: number }> }).members[0].incarnation, MAX_INCARNATION)
})
