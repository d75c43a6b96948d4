// The wrong-key warning as real libp2p logs it: an agent with another cluster key tries to join;
// the seed's warning is a formatted sentence naming the address and the reason, with no raw
// printf placeholders ("%s connection %s %a - %e") from libp2p's log call.

import t from 'tap'
import { randomBytes } from 'node:crypto'
import { Cluster, waitFor } from './harness.ts'

t.test('the seed logs a formatted wrong-key warning', async (t) => {
  const cluster = new Cluster()
  t.teardown(async () => await cluster.cleanup())
  const seed = await cluster.start({ name: 'wk1', bindAddress: '127.0.0.91', args: ['--encrypt', randomBytes(32).toString('base64')], logLevel: 'info' })
  const stranger = await cluster.start({ name: 'wk2', bindAddress: '127.0.0.92', args: ['--encrypt', randomBytes(32).toString('base64'), '--retry-interval', '1s'], join: [seed.gossipAddr], logLevel: 'info' })
  await waitFor('the stranger to have tried to join twice', async () => (stranger.output().match(/join failed/g) ?? []).length >= 2)
  await waitFor('the seed to log the wrong-key warning', async () => /another cluster key/.test(seed.output()))
  const warning = seed.output().split('\n').find((line) => /another cluster key/.test(line)) ?? ''
  t.match(warning, /\[WARN\]/, 'at WARN')
  t.match(warning, /address=\/ip4\/127\.0\.0\.\d+\/tcp\/\d+/, 'naming the stranger\'s address')
  t.match(warning, /reason="failed to upgrade inbound connection from \/ip4\/127\.0\.0\.\d+\/tcp\/\d+ - [^"%]+"/, 'with libp2p\'s reason, formatted')
  t.equal(seed.output().split('\n').filter((line) => /another cluster key/.test(line)).length, 1, 'once, although the stranger retries from new ports')
  t.notMatch(seed.output(), /%[saep]\b/, 'no raw placeholder anywhere in the seed\'s log')
})
