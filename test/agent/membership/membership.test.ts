// Specification of the Membership state machine, driven input by input with an explicit clock.
import t from 'tap'
import { Membership } from '../../../agent/membership/membership.ts'
import { lan } from '../../../agent/membership/config.ts'
import { MAX_INCARNATION } from '../../../agent/membership/codec.ts'
import type { GossipEntry, MembershipMessage, MembershipOutput } from '../../../agent/membership/types.ts'
import { mulberry32 } from '../../sim/engine.ts'

function agent (name: string, seed = 1, id = `id-${name}`): Membership {
  const membership = new Membership({ self: { name, id, addr: `${name}:8301`, meta: { role: 'test' } }, random: mulberry32(seed) })
  membership.start(0)
  return membership
}

const sends = (outputs: MembershipOutput[]) => outputs.flatMap(output => output.kind === 'send' ? [output] : [])
const events = (outputs: MembershipOutput[]) => outputs.flatMap(output => output.kind === 'event' ? [`${output.type}:${output.member.name}`] : [])
const gossipOf = (outputs: MembershipOutput[]): GossipEntry[] =>
  sends(outputs).flatMap(send => 'gossip' in send.message ? send.message.gossip : [])
const alive = (name: string, incarnation = 0, id = `id-${name}`): GossipEntry =>
  ({ type: 'alive', name, id, addr: `${name}:8301`, meta: {}, incarnation })

/** An agent `a` that knows b, c, d and e as alive (learned by gossip), at time 0. */
function withPeers (): Membership {
  const a = agent('a')
  a.receive('b:8301', { type: 'gossip', gossip: ['b', 'c', 'd', 'e'].map(name => alive(name)) }, 0)
  return a
}

/**
 * Ticks at every deadline up to untilMs, collecting the outputs. The simulated world acks every
 * direct ping except those to members in `down`, so only they look failed.
 */
function runTicks (membership: Membership, untilMs: number, down: ReadonlySet<string> = new Set()): MembershipOutput[] {
  const outputs: MembershipOutput[] = []
  for (let deadline = membership.nextDeadlineMs(); deadline !== undefined && deadline <= untilMs; deadline = membership.nextDeadlineMs()) {
    const produced = membership.tick(deadline)
    outputs.push(...produced)
    for (const send of sends(produced)) {
      if (send.message.type !== 'ping' || down.has(send.message.target)) continue
      outputs.push(...membership.receive(send.to, { type: 'ack', seq: send.message.seq, gossip: [] }, deadline + 1))
    }
  }
  return outputs
}

/** Ticks through deadlines until a ping goes out; returns it with the time it was sent. */
function nextPing (membership: Membership): { atMs: number, ping: Extract<MembershipMessage, { type: 'ping' }> } {
  for (;;) {
    const atMs = membership.nextDeadlineMs() as number
    const ping = sends(membership.tick(atMs)).find(send => send.message.type === 'ping')
    if (ping !== undefined) return { atMs, ping: ping.message as Extract<MembershipMessage, { type: 'ping' }> }
  }
}

t.test('join sends our state as a reliable push-pull to every address; the peer replies with its own', async t => {
  const a = agent('a')
  const joined = sends(a.join(['b:8301', 'c:8301'], 10))
  t.same(joined.map(send => [send.to, send.reliable, send.message.type]), [['b:8301', true, 'push-pull'], ['c:8301', true, 'push-pull']])
  const request = joined[0].message as Extract<MembershipMessage, { type: 'push-pull' }>
  t.same(request.members.map(member => member.name), ['a'])

  const b = agent('b', 2)
  const outputs = b.receive('a:8301', request, 20)
  t.same(events(outputs), ['join:a'])
  const [reply] = sends(outputs)
  t.same([reply.to, reply.reliable, reply.message.type], ['a:8301', true, 'push-pull'])
  t.same((reply.message as Extract<MembershipMessage, { type: 'push-pull' }>).reply, true)
  t.same(events(a.receive('b:8301', reply.message, 30)), ['join:b'])
  t.equal(a.member('b')?.status, 'alive')
  t.same(a.members().map(member => member.name).sort(), ['a', 'b'])
})

t.test('a ping naming us is acked with its sequence number; a ping for another name is not', async t => {
  const a = agent('a')
  const [ack] = sends(a.receive('x:1', { type: 'ping', seq: 42, target: 'a', gossip: [] }, 5))
  t.same([ack.to, ack.reliable, ack.message.type, (ack.message as { seq: number }).seq], ['x:1', false, 'ack', 42])
  t.same(sends(a.receive('x:1', { type: 'ping', seq: 43, target: 'someone-else', gossip: [] }, 6)), [])
})

t.test('a probe without ack asks k members to probe indirectly, then suspects the target', async t => {
  const a = withPeers()
  const { atMs: start, ping } = nextPing(a)
  const target = ping.target
  const outputs: MembershipOutput[] = []
  for (let deadline = a.nextDeadlineMs() as number; deadline <= start + lan.probeIntervalMs; deadline = a.nextDeadlineMs() as number) {
    outputs.push(...a.tick(deadline))
  }
  const indirect = sends(outputs).filter(send => send.message.type === 'ping-req')
  t.equal(indirect.length, lan.indirectChecks)
  t.notOk(indirect.some(send => send.to === `${target}:8301`), 'the target is not asked to probe itself')
  t.ok(indirect.every(send => (send.message as { target: string }).target === target))
  t.same(events(outputs), [`suspect:${target}`])
  t.equal(a.member(target)?.status, 'suspect')
  t.equal(a.stats().awarenessScore, lan.indirectChecks, 'no helper even sent a nack: we may be the problem')
})

t.test('an ack within the probe interval keeps the target alive and lowers the awareness score', async t => {
  const a = withPeers()
  a.reportLocalLag(1000, 0)
  const { atMs: start, ping } = nextPing(a)
  a.receive(`${ping.target}:8301`, { type: 'ack', seq: ping.seq, gossip: [] }, start + lan.probeTimeoutMs + 50)
  t.equal(a.member(ping.target)?.status, 'alive')
  t.equal(a.stats().awarenessScore, 0)
})

t.test('a relay probes the target for the requester and returns its ack, or a nack on timeout', async t => {
  const relay = agent('r')
  const [ping] = sends(relay.receive('a:8301', { type: 'ping-req', seq: 7, target: 'b', targetAddr: 'b:8301', gossip: [] }, 100))
  t.same([ping.to, ping.message.type, (ping.message as { target: string }).target], ['b:8301', 'ping', 'b'])
  const [ack] = sends(relay.receive('b:8301', { type: 'ack', seq: (ping.message as { seq: number }).seq, gossip: [] }, 110))
  t.same([ack.to, ack.message.type, (ack.message as { seq: number }).seq], ['a:8301', 'ack', 7])

  sends(relay.receive('a:8301', { type: 'ping-req', seq: 8, target: 'c', targetAddr: 'c:8301', gossip: [] }, 200))
  const nack = sends(runTicks(relay, 200 + lan.probeTimeoutMs)).find(send => send.message.type === 'nack')
  t.same([nack?.to, (nack?.message as { seq: number }).seq], ['a:8301', 8])
  t.equal(relay.stats().pendingRelays, 0)
})

t.test('hearing itself suspected at its incarnation, a member refutes with a higher one', async t => {
  const a = agent('a')
  a.receive('b:8301', { type: 'gossip', gossip: [alive('b')] }, 0)
  const outputs = a.receive('b:8301', { type: 'ping', seq: 1, target: 'a', gossip: [{ type: 'suspect', name: 'a', incarnation: 0, from: 'b' }] }, 10)
  t.equal(a.member('a')?.incarnation, 1)
  t.ok(gossipOf(outputs).some(entry => entry.type === 'alive' && entry.name === 'a' && entry.incarnation === 1), 'the refutation rides on the ack')
  a.receive('b:8301', { type: 'gossip', gossip: [{ type: 'dead', name: 'a', incarnation: 0, from: 'b' }] }, 20)
  t.equal(a.member('a')?.incarnation, 1, 'stale news (older incarnation) is ignored')
  t.equal(a.member('a')?.status, 'alive')
})

t.test('a suspicion expires into a failure; a refutation before that cancels it', async t => {
  const a = withPeers()
  const outputs = a.receive('c:8301', { type: 'gossip', gossip: [{ type: 'suspect', name: 'b', incarnation: 0, from: 'c' }, { type: 'suspect', name: 'd', incarnation: 0, from: 'c' }] }, 1000)
  t.same(events(outputs), ['suspect:b', 'suspect:d'])
  t.same(events(a.receive('d:8301', { type: 'gossip', gossip: [alive('d', 1)] }, 1500)), ['alive:d'])
  const later = runTicks(a, 60_000, new Set(['b']))
  t.same(events(later).filter(event => event.startsWith('fail')), ['fail:b'])
  t.equal(a.member('b')?.status, 'dead')
  t.equal(a.member('d')?.status, 'alive')
  t.ok(gossipOf(later).some(entry => entry.type === 'dead' && entry.name === 'b' && entry.from === 'a'))
})

t.test('independent confirmations shorten a suspicion (Lifeguard)', async t => {
  const alone = withPeers()
  alone.receive('c:8301', { type: 'gossip', gossip: [{ type: 'suspect', name: 'b', incarnation: 0, from: 'c' }] }, 0)
  const confirmed = withPeers()
  confirmed.receive('c:8301', { type: 'gossip', gossip: ['c', 'd', 'e'].map(from => ({ type: 'suspect', name: 'b', incarnation: 0, from }) as GossipEntry) }, 0)
  const failAt = (membership: Membership) => {
    let at: number | undefined
    for (let deadline = membership.nextDeadlineMs(); deadline !== undefined && at === undefined && deadline < 100_000; deadline = membership.nextDeadlineMs()) {
      if (events(runTicks(membership, deadline, new Set(['b']))).includes('fail:b')) at = deadline
    }
    return at as number
  }
  const slow = failAt(alone)
  const fast = failAt(confirmed)
  t.ok(fast < slow, `confirmed ${fast} ms < unconfirmed ${slow} ms`)
})

t.test('graceful leave: peers mark the member left, not failed', async t => {
  const a = withPeers()
  const b = agent('b', 2)
  b.receive('a:8301', { type: 'gossip', gossip: [alive('a'), alive('c')] }, 0)
  const leaving = b.leave(100)
  const leaveNews = gossipOf(leaving).find(entry => entry.type === 'dead' && entry.name === 'b')
  t.same(leaveNews, { type: 'dead', name: 'b', incarnation: 0, from: 'b' })
  t.ok(sends(leaving).length > 0, 'the leave is sent at once, not only queued')
  t.same(events(a.receive('b:8301', { type: 'gossip', gossip: [leaveNews as GossipEntry] }, 110)), ['leave:b'])
  t.equal(a.member('b')?.status, 'left')
  t.same(events(a.receive('c:8301', { type: 'gossip', gossip: [{ type: 'dead', name: 'b', incarnation: 0, from: 'c' }] }, 120)), [], 'a later failure verdict does not override left')
})

t.test('a restarted member (incarnation 0) learns it was declared dead and refutes above it', async t => {
  const seed = withPeers()
  seed.receive('c:8301', { type: 'gossip', gossip: [alive('b', 5), { type: 'dead', name: 'b', incarnation: 5, from: 'c' }] }, 0)
  t.equal(seed.member('b')?.status, 'dead')
  const restarted = agent('b', 9)
  const [request] = sends(restarted.join(['a:8301'], 1000))
  const [reply] = sends(seed.receive('b:8301', request.message, 1001))
  restarted.receive('a:8301', reply.message, 1002)
  t.equal(restarted.member('b')?.incarnation, 6)
  const refutation = runTicks(restarted, 1200)
  const news = gossipOf(refutation).find(entry => entry.name === 'b')
  t.same(news, { type: 'alive', name: 'b', id: 'id-b', addr: 'b:8301', meta: { role: 'test' }, incarnation: 6 })
  t.same(events(seed.receive('b:8301', { type: 'gossip', gossip: [news as GossipEntry] }, 1300)), ['join:b'])
  t.equal(seed.member('b')?.status, 'alive')
})

t.test('a different id under a live name is rejected; under a dead name it replaces the old member', async t => {
  const a = withPeers()
  t.same(events(a.receive('x:1', { type: 'gossip', gossip: [alive('b', 3, 'impostor')] }, 10)), [])
  t.equal(a.member('b')?.id, 'id-b')
  t.equal(a.stats().conflicts, 1)
  a.receive('c:8301', { type: 'gossip', gossip: [{ type: 'dead', name: 'b', incarnation: 0, from: 'c' }] }, 20)
  t.same(events(a.receive('x:1', { type: 'gossip', gossip: [alive('b', 0, 'new-b')] }, 30)), ['join:b'])
  t.same([a.member('b')?.id, a.member('b')?.status], ['new-b', 'alive'])
})

t.test('dead members are reaped after reconnectTimeoutMs, left ones after tombstoneTimeoutMs', async t => {
  const config = { reconnectTimeoutMs: 10_000, tombstoneTimeoutMs: 5000 }
  const a = new Membership({ self: { name: 'a', id: 'id-a', addr: 'a:8301', meta: {} }, config, random: mulberry32(1) })
  a.start(0)
  a.receive('b:8301', { type: 'gossip', gossip: [alive('b'), alive('c'), alive('d')] }, 0)
  a.receive('c:8301', { type: 'gossip', gossip: [{ type: 'dead', name: 'b', incarnation: 0, from: 'c' }, { type: 'dead', name: 'c', incarnation: 0, from: 'c' }] }, 1000)
  const early = runTicks(a, 5999, new Set(['b', 'c']))
  t.same(events(early).filter(event => event.startsWith('reap')), [])
  t.same(events(runTicks(a, 6000)).filter(event => event.startsWith('reap')), ['reap:c'])
  t.same(events(runTicks(a, 11_000)).filter(event => event.startsWith('reap')), ['reap:b'])
  t.same(a.members().map(member => member.name).sort(), ['a', 'd'])
})

t.test('a dead member is pinged every deadProbeIntervalMs; its ack starts a push-pull with it at once', async t => {
  const start = (deadProbeIntervalMs: number): Membership => {
    const config = { reconnectIntervalMs: 0, pushPullIntervalMs: 0, deadProbeIntervalMs }
    const a = new Membership({ self: { name: 'a', id: 'id-a', addr: 'a:8301', meta: {} }, config, random: mulberry32(3) })
    a.start(0)
    a.receive('b:8301', { type: 'gossip', gossip: [alive('b'), alive('c')] }, 0)
    a.receive('b:8301', { type: 'gossip', gossip: [{ type: 'dead', name: 'c', incarnation: 0, from: 'b' }] }, 0)
    return a
  }
  const pingsToC = (outputs: MembershipOutput[]) => sends(outputs).filter(send => send.to === 'c:8301' && send.message.type === 'ping')
  const pushPullsToC = (outputs: MembershipOutput[]) => sends(outputs).filter(send => send.to === 'c:8301' && send.message.type === 'push-pull')

  const a = start(1000)
  // Only b answers (runTicks acks pings to members not in `down`): c stays silent for 10 s.
  const silent = runTicks(a, 10_000, new Set(['c']))
  const pings = pingsToC(silent)
  t.ok(pings.length >= 9 && pings.length <= 11, `about one ping a second to the dead member (${pings.length} in 10 s)`)
  t.ok(pings.every(send => !send.reliable && (send.message as { target: string }).target === 'c'), 'as datagrams naming it')
  t.same(pushPullsToC(silent), [], 'no push-pull while it does not answer')
  t.equal(a.member('c')?.status, 'dead')

  const { atMs, ping } = (() => {
    for (;;) {
      const at = a.nextDeadlineMs() as number
      const found = pingsToC(a.tick(at))[0]
      if (found !== undefined) return { atMs: at, ping: found.message as Extract<MembershipMessage, { type: 'ping' }> }
    }
  })()
  t.same(pushPullsToC(a.receive('c:8301', { type: 'ack', seq: ping.seq + 1000, gossip: [] }, atMs + 1)), [], 'an ack with another sequence number starts nothing')
  const answered = pushPullsToC(a.receive('c:8301', { type: 'ack', seq: ping.seq, gossip: [] }, atMs + 2))
  t.equal(answered.length, 1, 'its ack starts one push-pull with it')
  t.ok(answered[0].reliable, 'over the reliable channel')
  t.same(pushPullsToC(a.receive('c:8301', { type: 'ack', seq: ping.seq, gossip: [] }, atMs + 3)), [], 'a repeated ack starts no second one')

  const disabled = start(0)
  t.same(pingsToC(runTicks(disabled, 10_000, new Set(['c']))), [], 'deadProbeIntervalMs 0 never pings the dead')
})

t.test('a meta update raises the incarnation and peers report an update', async t => {
  const b = agent('b', 2)
  b.updateMeta({ role: 'web', version: '2' }, 50)
  t.equal(b.member('b')?.incarnation, 1)
  const news = gossipOf(b.receive('a:8301', { type: 'ping', seq: 1, target: 'b', gossip: [] }, 60)).find(entry => entry.name === 'b')
  const a = agent('a')
  a.receive('b:8301', { type: 'gossip', gossip: [alive('b')] }, 0)
  t.same(events(a.receive('b:8301', { type: 'gossip', gossip: [news as GossipEntry] }, 70)), ['update:b'])
  t.same(a.member('b')?.meta, { role: 'web', version: '2' })
  t.throws(() => b.updateMeta({ k: 7 } as never, 80), { code: 'MESH_ERR_MEMBERSHIP_INVALID_SELF' })
})

t.test('a tick running late defers its verdicts until pending input has been read', async t => {
  const a = withPeers()
  a.receive('c:8301', { type: 'gossip', gossip: [{ type: 'suspect', name: 'b', incarnation: 0, from: 'c' }] }, 0)
  const late = 100_000
  t.same(a.tick(late), [], 'the first late tick only asks to be called again')
  t.equal(a.nextDeadlineMs(), late + 1)
  a.receive('b:8301', { type: 'gossip', gossip: [alive('b', 1)] }, late)
  a.tick(late + 1)
  t.equal(a.member('b')?.status, 'alive', 'the refutation read after the stall wins')
})

t.test('reported event-loop lag raises the awareness score and so slows probing', async t => {
  const a = withPeers()
  a.reportLocalLag(lan.localLagThresholdMs - 1, 10)
  t.equal(a.stats().awarenessScore, 0)
  a.reportLocalLag(400, 20)
  t.equal(a.stats().awarenessScore, 1)
})

t.test('inputs are validated', async t => {
  t.throws(() => new Membership({ self: { name: '', id: 'x', addr: 'a:1', meta: {} }, random: Math.random }), { code: 'MESH_ERR_MEMBERSHIP_INVALID_SELF' })
  t.throws(() => new Membership({ self: { name: 'a', id: 'x', addr: 'a:1', meta: {} }, config: { probeIntervalMs: 0 }, random: Math.random }), { code: 'MESH_ERR_MEMBERSHIP_CONFIG' })
  const idle = new Membership({ self: { name: 'a', id: 'x', addr: 'a:1', meta: {} }, random: Math.random })
  t.throws(() => idle.tick(0), { code: 'MESH_ERR_MEMBERSHIP_NOT_STARTED' })
  t.equal(idle.nextDeadlineMs(), undefined)
})

t.test('piggybacked gossip never pushes a datagram over maxDatagramBytes', async t => {
  const a = agent('a')
  const many: GossipEntry[] = Array.from({ length: 200 }, (_, i) => ({ ...alive(`member-${i}`), meta: { note: 'x'.repeat(40) } }))
  a.receive('b:8301', { type: 'gossip', gossip: many }, 0)
  const outputs = runTicks(a, 5000)
  const datagrams = sends(outputs).filter(send => !send.reliable)
  t.ok(datagrams.length > 0)
  for (const send of datagrams) {
    const sizeBytes = Buffer.byteLength(JSON.stringify({ v: 1, ...send.message }))
    if (sizeBytes > lan.maxDatagramBytes) t.fail(`datagram of ${sizeBytes} bytes`)
  }
  t.ok(datagrams.some(send => (send.message as { gossip: unknown[] }).gossip.length > 5), 'datagrams are actually filled')
})

t.test('a member we suspect is probed next, and the ping carries the suspicion (buddy system)', async t => {
  const a = withPeers()
  a.receive('c:8301', { type: 'gossip', gossip: [{ type: 'suspect', name: 'd', incarnation: 0, from: 'c' }] }, 0)
  const { ping } = nextPing(a)
  t.equal(ping.target, 'd')
  t.ok(ping.gossip.some(entry => entry.type === 'suspect' && entry.name === 'd'), 'the suspect learns it is suspected')
})

t.test('an accusation older than our incarnation makes the ack carry our current alive again', async t => {
  const b = agent('b', 2)
  b.receive('a:8301', { type: 'ping', seq: 1, target: 'b', gossip: [{ type: 'suspect', name: 'b', incarnation: 0, from: 'a' }] }, 0)
  t.equal(b.member('b')?.incarnation, 1, 'refuted once')
  // Spread the refutation until it is no longer queued as fresh news.
  for (let i = 0; i < 40; i++) b.receive('c:8301', { type: 'ping', seq: 100 + i, target: 'b', gossip: [] }, 10 + i)
  const [ack] = sends(b.receive('d:8301', { type: 'ping', seq: 2, target: 'b', gossip: [{ type: 'suspect', name: 'b', incarnation: 0, from: 'd' }] }, 100))
  t.same((ack.message as { gossip: GossipEntry[] }).gossip.filter(entry => entry.name === 'b').map(entry => [entry.type, entry.incarnation]), [['alive', 1]])
  t.equal(b.member('b')?.incarnation, 1, 'no new incarnation for stale news')
})

t.test('when the number of live members has doubled, a push-pull starts at once', async t => {
  const a = agent('a')
  a.receive('b:8301', { type: 'gossip', gossip: [alive('b')] }, 0)
  const first = sends(runTicks(a, 600)).filter(send => send.reliable)
  t.same(first.map(send => send.to), ['b:8301'], '1 → 2 live members')
  a.receive('b:8301', { type: 'gossip', gossip: [alive('c')] }, 601)
  t.same(sends(runTicks(a, 1200)).filter(send => send.reliable), [], '2 → 3 is not a doubling')
  a.receive('b:8301', { type: 'gossip', gossip: [alive('d')] }, 1201)
  t.equal(sends(runTicks(a, 1800)).filter(send => send.reliable).length, 1, '2 → 4 is')
})

t.test('at the incarnation bound: the refutation stays at the bound, meta cannot change, and the alive wins a tie', async t => {
  const a = agent('a')
  a.receive('b:8301', { type: 'gossip', gossip: [{ type: 'suspect', name: 'a', incarnation: MAX_INCARNATION - 1, from: 'b' }] }, 10)
  t.equal(a.member('a')?.incarnation, MAX_INCARNATION, 'refuted at accusation + 1, the bound')
  a.receive('b:8301', { type: 'gossip', gossip: [alive('a', MAX_INCARNATION)] }, 20)
  t.equal(a.member('a')?.incarnation, MAX_INCARNATION, 'never above the bound')
  t.throws(() => a.updateMeta({ role: 'other' }, 30), { code: 'MESH_ERR_MEMBERSHIP_INVALID_SELF', message: /at its bound/ })
  t.same(a.member('a')?.meta, { role: 'test' }, 'the refused meta change changed nothing')

  // A peer that failed b at the bound through its own probes takes b's alive at the bound.
  const peer = withPeers()
  peer.receive('b:8301', { type: 'gossip', gossip: [alive('b', MAX_INCARNATION)] }, 30)
  const verdict = peer.receive('c:8301', { type: 'gossip', gossip: [{ type: 'dead', name: 'b', incarnation: MAX_INCARNATION, from: 'c' }] }, 40)
  t.same(events(verdict), ['fail:b'])
  t.ok(gossipOf(runTicks(peer, 1000)).every(entry => entry.type === 'alive' || entry.incarnation <= MAX_INCARNATION - 1), 'accusations leave one below the bound')
  t.same(events(peer.receive('b:8301', { type: 'gossip', gossip: [alive('b', MAX_INCARNATION)] }, 1100)), ['join:b'], 'the alive at the bound wins the tie')
  t.equal(peer.member('b')?.status, 'alive')
})
