// An acknowledged registration survives a crash: a real agent process takes a stream of
// concurrent registrations through its HTTP API and is killed with SIGKILL while requests are in
// flight, 20 times over the same data dir. After every restart each service that was answered 200
// (in any round) is registered, and the restart is never refused as damage: a kill is not a loss.

import t from 'tap'
import { Cluster, http } from '../../e2e/harness.ts'
import type { AgentProcess } from '../../e2e/harness.ts'

const ADDRESS = '127.0.0.83'
const ROUNDS = 20
const CONCURRENCY = 8

t.test('kill -9 during a stream of registrations, 20 times: every registration answered 200 is present after restart', async t => {
  const cluster = new Cluster()
  t.teardown(async () => await cluster.cleanup())
  const dataDir = cluster.tempDir('mesh-kill-')
  const start = async (): Promise<AgentProcess> => await cluster.start({ name: 'crashy', dataDir, bindAddress: ADDRESS, args: ['--client', ADDRESS] })
  const acknowledged = new Set<string>()
  let next = 0
  for (let round = 0; round < ROUNDS; round++) {
    const agent = await start()
    const held = await http(agent, 'GET', '/v1/agent/services')
    t.equal(held.status, 200)
    const missing = [...acknowledged].filter(id => !Object.hasOwn(held.body as object, id))
    t.same(missing, [], `round ${round}: all ${acknowledged.size} acknowledged registrations survived the crash`)

    // Kill after a number of acknowledgements that varies by round, with CONCURRENCY requests in flight.
    const killAfter = 10 + (round * 7) % 40
    let answeredThisRound = 0
    let killed = false
    let resolveKill!: () => void
    const killNow = new Promise<void>(resolve => { resolveKill = resolve })
    const client = async (): Promise<void> => {
      while (!killed) {
        const id = `svc-${next++}`
        try {
          const answer = await http(agent, 'PUT', '/v1/agent/service/register', { ID: id, Name: 'stream', Port: 1000 + (next % 50000), Tags: [`round-${round}`] })
          if (answer.status === 200) {
            acknowledged.add(id)
            if (++answeredThisRound === killAfter) resolveKill()
          }
        } catch {
          // The connection died with the agent: not acknowledged, may or may not be stored.
          return
        }
      }
    }
    const clients = Array.from({ length: CONCURRENCY }, client)
    await killNow
    killed = true
    await cluster.kill(agent)
    await Promise.all(clients)
  }
  const agent = await start()
  const held = await http(agent, 'GET', '/v1/agent/services')
  t.same([...acknowledged].filter(id => !Object.hasOwn(held.body as object, id)), [], `after the last crash: all ${acknowledged.size} acknowledged registrations are present`)
  t.ok(acknowledged.size >= ROUNDS * 10, 'every round acknowledged registrations before the kill')
  t.notMatch(agent.output(), /MESH_ERR_AGENT_DATA_DIR|damaged/, 'no restart took a crash for damage')
})
