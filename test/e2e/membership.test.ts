// Five real agents on loopback: they join through one seed, a kill -9'd agent is marked failed by
// the rest, a restarted one comes back alive under the same name and node id, and a SIGTERM'd
// one leaves gracefully (others see `left`, not `failed`) and exits 0.

import t from 'tap'
import { Cluster, members, memberStatus, waitFor } from './harness.ts'

const ALIVE = 1
const LEFT = 3
const FAILED = 4

t.test('five agents join, detect a crash, accept a restart, see a leave', async (t) => {
  const cluster = new Cluster()
  t.teardown(async () => await cluster.cleanup())

  const seed = await cluster.start({ name: 'a1' })
  const others = []
  for (const name of ['a2', 'a3', 'a4', 'a5']) others.push(await cluster.start({ name, join: [seed.gossipAddr] }))
  const all = [seed, ...others]

  for (const agent of all) {
    await waitFor(`${agent.name} to see 5 alive members`, async () => {
      const list = await members(agent)
      return list.length === 5 && list.every((member) => member.Status === ALIVE)
    })
  }
  const victim = others[1]
  const victimId = (await members(seed)).find((member) => member.Name === victim.name)!.Tags.id
  t.match(victimId, /^[0-9a-f-]{36}$/, 'members carry the node id in their tags')

  await cluster.kill(victim)
  const survivors = all.filter((agent) => agent !== victim)
  for (const agent of survivors) {
    await waitFor(`${agent.name} to mark ${victim.name} failed`, async () => await memberStatus(agent, victim.name) === FAILED)
  }
  t.pass('every survivor marked the killed agent failed')

  const restarted = await cluster.start({ name: victim.name, dataDir: victim.dataDir, join: [seed.gossipAddr] })
  for (const agent of survivors) {
    await waitFor(`${agent.name} to see ${victim.name} alive again`, async () => await memberStatus(agent, victim.name) === ALIVE)
  }
  const back = (await members(seed)).find((member) => member.Name === victim.name)!
  t.equal(back.Tags.id, victimId, 'the restarted agent keeps its node id')
  t.equal((await members(restarted)).length, 5, 'the restarted agent sees the whole cluster')

  const leaver = others[3]
  const exitCode = await cluster.stop(leaver)
  t.equal(exitCode, 0, 'SIGTERM exits 0 after leaving')
  for (const agent of [seed, others[0], restarted]) {
    await waitFor(`${agent.name} to see ${leaver.name} left`, async () => await memberStatus(agent, leaver.name) === LEFT, 2000, 50)
  }
  t.pass('a graceful leave is seen as left, not failed')
})
