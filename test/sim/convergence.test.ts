// Simulation: 1,000 agents joining within 5 s converge to full membership (LAN preset, seed 1).
import t from 'tap'
import { MembershipCluster } from './membership-harness.ts'

t.test('1,000 agents started 5 ms apart all see all 1,000 alive within 60 s, with no failure', async t => {
  const cluster = new MembershipCluster({ seed: 1, network: { lossProbability: 0.001 } })
  const names = cluster.startAgents(1000, 5)
  cluster.engine.runUntil(names.length * 5)
  const convergedAtMs = cluster.engine.runUntilTrue(() => cluster.converged(), 60_000, 1000)
  t.ok(convergedAtMs !== undefined, `converged at ${convergedAtMs} ms of simulated time`)
  t.equal(cluster.eventCounts.get('fail') ?? 0, 0, 'nobody was declared failed')
  t.equal(cluster.eventCounts.get('join'), 1000 * 999, 'each agent saw each other one join exactly once')
})
