// Simulation: a run is a pure function of its seed (the bug-replay property).
import t from 'tap'
import { MembershipCluster } from './membership-harness.ts'

function run (seed: number): { hash: string, events: number } {
  const cluster = new MembershipCluster({ seed, network: { lossProbability: 0.05 } })
  cluster.startAgents(100, 10)
  cluster.engine.runUntil(10_000)
  cluster.crash('a42')
  cluster.engine.schedule(12_000, () => { cluster.engine.pause('a7', 700) })
  cluster.engine.runUntil(30_000)
  return { hash: cluster.engine.traceHash(), events: [...cluster.eventCounts.values()].reduce((a, b) => a + b, 0) }
}

t.test('the same seed gives the same event trace; another seed a different one', async t => {
  const first = run(21)
  t.ok(first.events > 9900, `${first.events} events traced`)
  t.same(run(21), first)
  t.not(run(22).hash, first.hash)
})
