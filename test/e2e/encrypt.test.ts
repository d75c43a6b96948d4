// The cluster key: agents sharing it form a cluster; an agent with another key, or none, cannot
// join, and the agents say why in their logs.

import t from 'tap'
import { randomBytes } from 'node:crypto'
import { Cluster, members, waitFor } from './harness.ts'

t.test('agents with the same key join; a wrong or missing key cannot', async (t) => {
  const cluster = new Cluster()
  t.teardown(async () => await cluster.cleanup())
  const key = randomBytes(32).toString('base64')
  const other = randomBytes(32).toString('base64')
  const seed = await cluster.start({ name: 'k1', args: ['--encrypt', key] })
  const peer = await cluster.start({ name: 'k2', args: ['--encrypt', key], join: [seed.gossipAddr] })
  await waitFor('k2 to join k1', async () => (await members(seed)).length === 2 && (await members(peer)).length === 2)
  t.pass('same key: joined')

  const stranger = await cluster.start({ name: 'k3', args: ['--encrypt', other, '--retry-interval', '1s'], join: [seed.gossipAddr], logLevel: 'info' })
  const open = await cluster.start({ name: 'k4', args: ['--retry-interval', '1s'], join: [seed.gossipAddr], logLevel: 'info' })
  await waitFor('the stranger to log a failed join', async () => /join failed/.test(stranger.output()))
  await waitFor('the keyless agent to log a failed join', async () => /join failed/.test(open.output()))
  await waitFor('the seed to log why', async () => /another cluster key|cluster key/.test(seed.output()))
  t.equal((await members(seed)).length, 2, 'the seed never admitted the wrong-key or keyless agent')
  t.equal((await members(stranger)).length, 1, 'the wrong-key agent is alone')
  t.equal((await members(open)).length, 1, 'the keyless agent is alone')
})
