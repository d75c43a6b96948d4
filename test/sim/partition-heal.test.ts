// Simulation: how soon a healed partition is whole again, with the LAN timings. A side that holds
// the other side dead learns of the heal only by reaching out to a dead member; that must happen
// within a few seconds of the heal, over many seeds and the smallest clusters (1|1, where only
// one agent on each side can notice), not only on average.
import t from 'tap'
import { MembershipCluster } from './membership-harness.ts'

const HEAL_BOUND_MS = 5000
const PARTITION_MS = 60_000
const SEEDS = 25

/** Milliseconds from the heal until every agent sees every agent alive, or undefined (60 s). */
function healTime (seed: number, left: number, right: number): number | undefined {
  const cluster = new MembershipCluster({ seed })
  const count = left + right
  cluster.startAgents(count, 20)
  cluster.engine.runUntil(count * 20)
  if (cluster.engine.runUntilTrue(() => cluster.converged(), 60_000, 100) === undefined) throw new Error(`seed ${seed}: the cluster did not form`)
  const names = cluster.liveNames()
  cluster.engine.partition([names.slice(0, left), names.slice(left)])
  cluster.engine.runUntil(cluster.engine.nowMs + PARTITION_MS)
  if (cluster.agent(names[0]).membership.member(names[count - 1])?.status !== 'dead') throw new Error(`seed ${seed}: the partition was not detected`)
  const healedAtMs = cluster.engine.nowMs
  cluster.engine.heal()
  const convergedAtMs = cluster.engine.runUntilTrue(() => cluster.converged(), healedAtMs + 60_000, 50)
  return convergedAtMs === undefined ? undefined : convergedAtMs - healedAtMs
}

for (const [left, right] of [[1, 1], [2, 3]]) {
  t.test(`a ${PARTITION_MS / 1000} s partition ${left}|${right} is whole within ${HEAL_BOUND_MS} ms of the heal (${SEEDS} seeds)`, async t => {
    const times: Array<number | undefined> = []
    for (let seed = 1; seed <= SEEDS; seed++) times.push(healTime(seed, left, right))
    const known = times.filter((time): time is number => time !== undefined)
    t.equal(known.length, SEEDS, 'every run healed')
    const slowest = Math.max(...known)
    t.comment(`heal ${left}|${right}: median ${known.sort((x, y) => x - y)[Math.floor(known.length / 2)]} ms, slowest ${slowest} ms`)
    t.ok(slowest <= HEAL_BOUND_MS, `slowest heal ${slowest} ms ≤ ${HEAL_BOUND_MS} ms`)
  })
}
