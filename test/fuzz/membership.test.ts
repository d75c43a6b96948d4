// Properties of the membership wire: decoding any bytes either yields a validated message or throws
// a MembershipError (never anything else), and a core fed any sequence of decoded messages never
// throws, keeps its own incarnation within the bound, stays alive in its own view, and only ever
// sends messages its peers' decoder accepts (so nothing it says can be refused or overflow).
import t from 'tap'
import fc from 'fast-check'
import { decodeMessage, encodeMessage, MAX_INCARNATION } from '../../agent/membership/codec.ts'
import { MembershipError } from '../../agent/membership/errors.ts'
import { Membership } from '../../agent/membership/membership.ts'
import { lan, membershipConfig } from '../../agent/membership/config.ts'
import type { MembershipMessage } from '../../agent/membership/types.ts'
import { mulberry32 } from '../sim/engine.ts'
import { anyJson, anyText, assertReached, fuzzParameters } from './fuzz.ts'
import { membershipRegressions } from './regressions.ts'

const config = membershipConfig({}, lan)
const encoder = new TextEncoder()

const memberName = fc.oneof({ weight: 8, arbitrary: fc.constantFrom('self', 'b', 'c', 'd') }, { weight: 1, arbitrary: anyText(20) })
const incarnation = fc.oneof(
  { weight: 6, arbitrary: fc.nat({ max: 5 }) },
  { weight: 2, arbitrary: fc.constantFrom(MAX_INCARNATION - 1, MAX_INCARNATION) },
  { weight: 1, arbitrary: fc.constantFrom(MAX_INCARNATION + 1, Number.MAX_SAFE_INTEGER, -1, 1.5) },
  { weight: 1, arbitrary: anyJson(1) }
)
const meta = fc.oneof({ weight: 4, arbitrary: fc.constant({}) }, { weight: 1, arbitrary: anyJson(2) })
const gossipEntry = fc.oneof(
  { weight: 3, arbitrary: fc.record({ type: fc.constant('alive'), name: memberName, id: memberName.map(name => `id-${name}`), addr: memberName.map(name => `${name}:8301`), meta, incarnation }) },
  { weight: 3, arbitrary: fc.record({ type: fc.constantFrom('suspect', 'dead'), name: memberName, incarnation, from: memberName }) },
  { weight: 1, arbitrary: anyJson(2) }
)
const gossip = fc.oneof({ weight: 5, arbitrary: fc.array(gossipEntry, { maxLength: 3 }) }, { weight: 1, arbitrary: anyJson(2) })
const memberState = fc.record({ name: memberName, id: memberName.map(name => `id-${name}`), addr: memberName.map(name => `${name}:8301`), meta, incarnation, status: fc.constantFrom('alive', 'suspect', 'dead', 'left', 'zombie') })
const message = fc.oneof(
  { weight: 2, arbitrary: fc.record({ v: fc.constant(1), type: fc.constant('gossip'), gossip }) },
  fc.record({ v: fc.constant(1), type: fc.constant('ping'), seq: fc.nat({ max: 20 }), target: memberName, gossip }),
  fc.record({ v: fc.constant(1), type: fc.constant('ping-req'), seq: fc.nat({ max: 20 }), target: memberName, targetAddr: memberName.map(name => `${name}:8301`), gossip }),
  fc.record({ v: fc.constant(1), type: fc.constantFrom('ack', 'nack'), seq: fc.nat({ max: 20 }), gossip }),
  fc.record({ v: fc.constant(1), type: fc.constant('gossip'), gossip }),
  fc.record({ v: fc.constant(1), type: fc.constant('push-pull'), join: fc.boolean(), reply: fc.boolean(), members: fc.array(memberState, { maxLength: 5 }) }),
  fc.record({ v: anyJson(1), type: anyText(10) }, { requiredKeys: [] }),
  anyJson(3)
)
/** Bytes as a datagram could carry them: JSON of a message-like value, or anything at all. */
const datagram = fc.oneof(
  { weight: 4, arbitrary: message.map(value => encoder.encode(JSON.stringify(value) ?? 'null')) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }) },
  { weight: 1, arbitrary: anyText(200).map(text => encoder.encode(text)) }
)

function decodeOrRefuse (bytes: Uint8Array): MembershipMessage | undefined {
  try {
    return decodeMessage(bytes, config.maxReliableMessageBytes)
  } catch (error) {
    if (error instanceof MembershipError) return undefined
    throw error
  }
}

t.test('decoding any bytes yields a message or a MembershipError, nothing else', async t => {
  let decoded = 0
  const regressions = membershipRegressions.map(text => [encoder.encode(text)] as [Uint8Array])
  const parameters = fuzzParameters(500, regressions)
  fc.assert(fc.property(datagram, bytes => {
    const message = decodeOrRefuse(bytes)
    if (message === undefined) return
    decoded++
    // What was accepted is exactly what re-encodes: nothing unvalidated slipped through.
    const again = decodeMessage(encodeMessage(message, config.maxReliableMessageBytes), config.maxReliableMessageBytes)
    if (JSON.stringify(again) !== JSON.stringify(message)) throw new Error('a decoded message does not survive a round trip')
  }), parameters)
  assertReached(t, decoded > (parameters.numRuns ?? 0) / 10, `${decoded} of ${parameters.numRuns} generated datagrams were valid messages (the generator reaches the core)`)
})

t.test('a core fed any decoded messages never throws, stays within the bound, and only sends what peers accept', async t => {
  let sent = 0
  fc.assert(fc.property(fc.array(fc.tuple(memberName, datagram, fc.nat({ max: 2000 })), { minLength: 1, maxLength: 25 }), inputs => {
    const core = new Membership({ self: { name: 'self', id: 'id-self', addr: 'self:8301', meta: {} }, config, random: mulberry32(1) })
    let nowMs = 0
    const outputs = [...core.start(nowMs)]
    for (const [from, bytes, advanceMs] of inputs) {
      nowMs += advanceMs
      const message = decodeOrRefuse(bytes)
      if (message !== undefined) outputs.push(...core.receive(`${from}:8301`, message, nowMs))
      outputs.push(...core.tick(nowMs))
    }
    for (const output of outputs) {
      if (output.kind !== 'send') continue
      sent++
      const limit = output.reliable ? config.maxReliableMessageBytes : config.maxDatagramBytes
      decodeMessage(encodeMessage(output.message, limit), limit)
    }
    const self = core.member('self')
    if (self === undefined || self.status !== 'alive') throw new Error(`the member sees itself ${self?.status}`)
    if (self.incarnation > MAX_INCARNATION) throw new Error(`incarnation ${self.incarnation} above the bound`)
  }), fuzzParameters(300))
  assertReached(t, sent > 0, `${sent} messages sent by the cores were all accepted by the decoder`)
})
