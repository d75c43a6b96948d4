// Simulation: no false failures under message loss or a stalling agent; partitions heal.
import t from 'tap'
import { MembershipCluster } from './membership-harness.ts'

function converged (cluster: MembershipCluster, count: number): void {
  cluster.startAgents(count, 20)
  cluster.engine.runUntil(count * 20)
  if (cluster.engine.runUntilTrue(() => cluster.converged(), 60_000, 200) === undefined) throw new Error('cluster did not converge')
}

t.test('10 % datagram loss for 10 minutes: no live agent is ever declared dead', async t => {
  const cluster = new MembershipCluster({ seed: 11 })
  converged(cluster, 60)
  cluster.engine.setLossProbability(0.1)
  cluster.engine.runUntil(cluster.engine.nowMs + 10 * 60_000)
  t.equal(cluster.eventCounts.get('fail') ?? 0, 0, 'no fail event anywhere')
  t.ok((cluster.eventCounts.get('suspect') ?? 0) > 1000, 'although loss caused many suspicions, all refuted')
  cluster.engine.setLossProbability(0)
  cluster.engine.runUntil(cluster.engine.nowMs + 10_000)
  t.ok(cluster.converged(), 'once the loss stops, everyone sees everyone alive')
  t.ok(cluster.engine.stats.lost > 10_000, `${cluster.engine.stats.lost} datagrams were lost`)
})

t.test('an agent stalling 400 ms every 2 s is never declared dead and gets nobody declared dead', async t => {
  const cluster = new MembershipCluster({ seed: 12 })
  converged(cluster, 50)
  const startMs = cluster.engine.nowMs
  for (let atMs = startMs; atMs < startMs + 5 * 60_000; atMs += 2000) {
    cluster.engine.schedule(atMs, () => { cluster.engine.pause('a3', 400) })
  }
  cluster.engine.runUntil(startMs + 5 * 60_000 + 5000)
  t.equal(cluster.eventCounts.get('fail') ?? 0, 0, 'no fail event anywhere')
  t.ok(cluster.converged(), 'everyone still sees everyone alive')
})

t.test('a 50/50 partition: each side declares the other dead, and after healing all converge', async t => {
  const cluster = new MembershipCluster({ seed: 13 })
  converged(cluster, 40)
  const names = cluster.liveNames()
  cluster.engine.partition([names.slice(0, 20), names.slice(20)])
  cluster.engine.runUntil(cluster.engine.nowMs + 60_000)
  t.equal(cluster.agent('a0').membership.member('a39')?.status, 'dead', 'across the partition members are dead')
  t.equal(cluster.agent('a39').membership.member('a0')?.status, 'dead')
  t.equal(cluster.agent('a0').membership.member('a1')?.status, 'alive', 'on the same side they are alive')
  const healedAtMs = cluster.engine.nowMs
  cluster.engine.heal()
  const convergedAtMs = cluster.engine.runUntilTrue(() => cluster.converged(), healedAtMs + 60_000, 200)
  t.ok(convergedAtMs !== undefined, `converged ${(convergedAtMs ?? NaN) - healedAtMs} ms after healing (bound 60 s)`)
})
