// Simulation: a forged accusation cannot keep a live member failed. Incarnations are bounded
// (codec.ts), so a forged dead at 2^53−1 is refused at decode by every agent, and a forged dead
// at the highest accusation incarnation (MAX−1) is refuted at MAX, which every agent accepts.
import t from 'tap'
import { MAX_ACCUSATION_INCARNATION, MAX_INCARNATION } from '../../agent/membership/codec.ts'
import { MembershipCluster } from './membership-harness.ts'

const FORGER = 'forger'

function cluster (seed: number): MembershipCluster {
  const sim = new MembershipCluster({ seed, wire: true })
  sim.startAgents(5, 20)
  sim.engine.runUntil(100)
  if (sim.engine.runUntilTrue(() => sim.converged(), 30_000, 100) === undefined) throw new Error('cluster did not converge')
  // An outsider on the network (a cluster without a key hears any datagram): it only sends.
  sim.engine.addNode(FORGER, { onMessage: () => {} })
  return sim
}

/** One raw datagram per agent declaring `victim` dead at `incarnation`, as a forger would send it. */
function forgeDead (sim: MembershipCluster, victim: string, incarnation: number): void {
  const bytes = new TextEncoder().encode(JSON.stringify({ v: 1, type: 'gossip', gossip: [{ type: 'dead', name: victim, incarnation, from: FORGER }] }))
  for (const name of sim.liveNames()) sim.engine.send(FORGER, name, bytes, false)
}

t.test('a forged dead at 2^53−1 is refused by every agent and fails nobody', async t => {
  const sim = cluster(51)
  const errorsBefore = sim.decodeErrors
  forgeDead(sim, 'a2', Number.MAX_SAFE_INTEGER)
  sim.engine.runUntil(sim.engine.nowMs + 30_000)
  t.equal(sim.decodeErrors - errorsBefore, 5, 'each of the 5 agents refused the datagram at decode')
  t.equal(sim.eventCounts.get('fail') ?? 0, 0, 'no fail event anywhere')
  t.ok(sim.converged(), 'everyone still sees everyone alive')
  t.equal(sim.agent('a2').membership.member('a2')?.incarnation, 0, 'the victim did not even need to refute')
})

t.test('a forged dead at MAX−1 is refuted at MAX, and every agent sees the victim alive again', async t => {
  const sim = cluster(52)
  forgeDead(sim, 'a2', MAX_ACCUSATION_INCARNATION)
  const forgedAtMs = sim.engine.nowMs
  // Let the forgery land first (it fails the victim), then wait for the refutation to heal it.
  sim.engine.runUntil(forgedAtMs + 100)
  const healedAtMs = sim.engine.runUntilTrue(() => sim.converged() && sim.viewsOf('a2').every(status => status === 'alive'), forgedAtMs + 30_000, 50)
  t.ok(healedAtMs !== undefined, `the cluster converged with the victim alive ${(healedAtMs ?? NaN) - forgedAtMs} ms after the forgery`)
  t.ok((sim.eventCounts.get('fail') ?? 0) >= 1, 'the forgery did fail the victim for a moment')
  t.equal(sim.agent('a2').membership.member('a2')?.incarnation, MAX_INCARNATION, 'the refutation is at accusation + 1, the bound')
  for (const name of sim.liveNames()) t.equal(sim.agent(name).membership.member('a2')?.incarnation, MAX_INCARNATION, `${name} holds the victim at the bound`)
  t.equal(sim.decodeErrors, 0, 'no agent refused the refutation')
})

t.test('at the bound, the victim stays refutable: a second forged dead at MAX−1 is stale and healed by its alive', async t => {
  const sim = cluster(53)
  forgeDead(sim, 'a2', MAX_ACCUSATION_INCARNATION)
  sim.engine.runUntil(sim.engine.nowMs + 10_000)
  forgeDead(sim, 'a2', MAX_ACCUSATION_INCARNATION)
  sim.engine.runUntil(sim.engine.nowMs + 10_000)
  t.ok(sim.converged(), 'everyone sees everyone alive')
  t.equal(sim.agent('a2').membership.member('a2')?.incarnation, MAX_INCARNATION)
})

t.test('at the bound, a peer\'s own probe verdict at MAX is healed by the member\'s alive at MAX (it wins the tie)', async t => {
  const sim = cluster(54)
  forgeDead(sim, 'a2', MAX_ACCUSATION_INCARNATION)
  sim.engine.runUntil(sim.engine.nowMs + 10_000)
  t.ok(sim.converged())
  // a2 stalls long enough for its probers to suspect it (at MAX), then resumes.
  const suspicionsBefore = sim.eventCounts.get('suspect') ?? 0
  sim.engine.pause('a2', 3000)
  sim.engine.runUntil(sim.engine.nowMs + 3000)
  t.ok((sim.eventCounts.get('suspect') ?? 0) > suspicionsBefore, 'a2 was suspected at the bound')
  const convergedAtMs = sim.engine.runUntilTrue(() => sim.converged(), sim.engine.nowMs + 60_000, 100)
  t.ok(convergedAtMs !== undefined, 'every suspicion at the bound was refuted')
  t.equal(sim.decodeErrors, 0, 'no accusation at the bound went out on the wire')
})
