// Simulation: crash detection time, graceful leave, restart under the same name, conflicts, reaping.
import t from 'tap'
import { MembershipCluster } from './membership-harness.ts'
import { suspicionMinMs } from '../../agent/membership/timing.ts'

function converged (seed: number, count: number, overrides = {}): MembershipCluster {
  const cluster = new MembershipCluster({ seed, config: overrides, wire: true })
  cluster.startAgents(count, 20)
  cluster.engine.runUntil(count * 20)
  const atMs = cluster.engine.runUntilTrue(() => cluster.converged(), 30_000, 100)
  if (atMs === undefined) throw new Error('cluster did not converge')
  return cluster
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[values.length >> 1]

t.test('a crashed agent is declared dead by every other agent within the configured bound', async t => {
  const cluster = converged(1, 50)
  const config = cluster.config
  cluster.engine.runUntil(cluster.engine.nowMs + 5000)
  const crashAtMs = cluster.engine.nowMs
  cluster.crash('a7')
  // Bound: a few probe rounds until someone probes it, the unconfirmed (maximum) suspicion
  // timeout, and a second for the verdict to spread.
  const maxSuspicionMs = suspicionMinMs(config.suspicionMult, 50, config.probeIntervalMs) * config.suspicionMaxTimeoutMult
  const boundMs = 4 * config.probeIntervalMs + maxSuspicionMs + 1000
  const allAtMs = cluster.engine.runUntilTrue(() => cluster.viewsOf('a7').every(status => status === 'dead'), crashAtMs + boundMs, 50)
  t.ok(allAtMs !== undefined, `all 49 declared a7 dead ${(allAtMs ?? NaN) - crashAtMs} ms after the crash (bound ${boundMs} ms)`)
  const failures = cluster.events.filter(event => event.type === 'fail')
  t.same([...new Set(failures.map(event => event.member))], ['a7'], 'no other agent was declared dead')
  const medianMs = median(failures.map(event => event.atMs - crashAtMs))
  t.ok(medianMs <= 3000, `median detection ${medianMs.toFixed(0)} ms ≤ 3 s (serf: ~9 s)`)
})

t.test('a graceful leave is seen as left everywhere, never as a failure', async t => {
  const cluster = converged(2, 30)
  cluster.input('a4', (membership, nowMs) => membership.leave(nowMs))
  const leftAtMs = cluster.engine.nowMs
  // The process keeps running a moment to spread the leave, then exits.
  cluster.engine.schedule(leftAtMs + 1000, () => { cluster.crash('a4') })
  cluster.engine.runUntil(leftAtMs + 30_000)
  t.ok(cluster.viewsOf('a4').every(status => status === 'left'), 'everyone sees a4 left')
  t.equal(cluster.events.filter(event => event.type === 'fail').length, 0, 'no failure reported')
  const leaves = cluster.events.filter(event => event.type === 'leave' && event.member === 'a4')
  t.equal(leaves.length, 29)
  t.ok(Math.max(...leaves.map(event => event.atMs)) - leftAtMs <= 1000, 'the leave reached everyone within 1 s')
})

t.test('an agent restarted under the same name and id refutes its death and is alive everywhere again', async t => {
  const cluster = converged(3, 30)
  cluster.crash('a5')
  cluster.engine.runUntilTrue(() => cluster.viewsOf('a5').every(status => status === 'dead'), cluster.engine.nowMs + 30_000, 100)
  const deadIncarnation = cluster.agent('a0').membership.member('a5')?.incarnation as number
  const restartAtMs = cluster.engine.nowMs + 2000
  cluster.engine.schedule(restartAtMs, () => { cluster.startAgent('a5', ['a0']) })
  cluster.engine.runUntil(restartAtMs)
  const aliveAtMs = cluster.engine.runUntilTrue(() => cluster.converged(), restartAtMs + 10_000, 50)
  t.ok(aliveAtMs !== undefined, `alive everywhere ${(aliveAtMs ?? NaN) - restartAtMs} ms after the restart`)
  t.ok((cluster.agent('a0').membership.member('a5')?.incarnation as number) > deadIncarnation, 'with an incarnation above the one it died with')
  t.ok(aliveAtMs !== undefined && aliveAtMs - restartAtMs <= 1000, 'the rejoin reached everyone within 1 s')
})

t.test('a second agent claiming a live name with another id is rejected everywhere', async t => {
  const cluster = converged(4, 20)
  cluster.startAgent('a3', ['a0', 'a1'], { id: 'other-id', addr: 'elsewhere' })
  cluster.engine.runUntil(cluster.engine.nowMs + 5000)
  const views = [...cluster.agents.keys()].filter(addr => addr !== 'a3' && addr !== 'elsewhere').map(addr => cluster.agent(addr).membership.member('a3'))
  t.ok(views.every(member => member?.id === 'id-a3' && member.addr === 'a3' && member.status === 'alive'), 'a3 keeps its id, address and status everywhere')
  t.ok(cluster.agent('a0').membership.stats().conflicts > 0, 'the conflict was noticed')
  t.equal(cluster.agent('elsewhere').membership.member('a3')?.id, 'other-id', 'the impostor keeps its own identity too')
})

t.test('dead agents are reaped after reconnectTimeoutMs, left ones after tombstoneTimeoutMs', async t => {
  const cluster = converged(5, 20, { reconnectTimeoutMs: 60_000, tombstoneTimeoutMs: 20_000 })
  cluster.crash('a2')
  cluster.input('a3', (membership, nowMs) => membership.leave(nowMs))
  const startMs = cluster.engine.nowMs
  cluster.engine.schedule(startMs + 1000, () => { cluster.crash('a3') })
  cluster.engine.runUntil(startMs + 19_000)
  t.ok(cluster.viewsOf('a3').every(status => status === 'left'), 'left members are kept as tombstones until their timeout')
  cluster.engine.runUntil(startMs + 25_000)
  t.ok(cluster.viewsOf('a3').every(status => status === undefined), 'then reaped')
  t.ok(cluster.viewsOf('a2').every(status => status === 'dead'), 'the dead one is still kept (reconnect window)')
  cluster.engine.runUntil(startMs + 75_000)
  t.ok(cluster.viewsOf('a2').every(status => status === undefined), 'and reaped after reconnectTimeoutMs')
  const reaps = cluster.events.filter(event => event.type === 'reap')
  t.equal(reaps.length, 2 * 18, 'one reap event per member per agent')
})
