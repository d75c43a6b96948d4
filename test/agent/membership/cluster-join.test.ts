// Finding the cluster: `--join` retries until an address answers, then the catalog catches up and
// onClusterKnown runs; with nothing to join, onClusterKnown runs at start.

import t from 'tap'
import pino from 'pino'
import { ClusterJoin } from '../../../agent/membership/cluster-join.ts'
import type { ClusterJoinComponents } from '../../../agent/membership/cluster-join.ts'
import type { MemberInfo } from '../../../agent/membership/types.ts'
import type { SyncPeer } from '../../../agent/sync/replication.ts'

const SEED = '127.0.0.9:8301'

/** A membership whose join fails `failures` times, then makes the seed a member at once. */
function fakeCluster (failures: number): { components: ClusterJoinComponents, calls: string[] } {
  const calls: string[] = []
  const members: MemberInfo[] = [{ name: 'self', id: 'self', addr: '127.0.0.1:8301', meta: {}, incarnation: 0, status: 'alive', statusChangedAtMs: 0 }]
  let failuresLeft = failures
  const components: ClusterJoinComponents = {
    membership: {
      join: (addresses) => {
        calls.push(`join ${addresses.join(',')}`)
        if (failuresLeft-- > 0) throw new Error('no route to host')
        members.push({ name: 'seed', id: 'seed', addr: SEED, meta: { peer: 'peer-seed' }, incarnation: 1, status: 'alive', statusChangedAtMs: 0 })
      },
      members: () => members,
    },
    livePeers: (): SyncPeer[] => members.filter((member) => member.name !== 'self').map((member) => ({ name: member.name, addr: member.addr, peerId: member.meta.peer })),
    syncWith: async (peer) => { calls.push(`sync ${peer.name}`) },
    onClusterKnown: async () => { calls.push('cluster known') },
    log: pino({ level: 'silent' }),
  }
  return { components, calls }
}

async function until (condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 2000
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met within 2 s')
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

t.test('with nothing to join, start resolves after onClusterKnown ran', async (t) => {
  const { components, calls } = fakeCluster(0)
  const join = new ClusterJoin({ addresses: [], retryIntervalMs: 10 }, components)
  await join.start()
  t.same(calls, ['cluster known'])
  join.stop()
})

t.test('--join retries until the seed answers, syncs with it, then runs onClusterKnown once', async (t) => {
  const { components, calls } = fakeCluster(2)
  const join = new ClusterJoin({ addresses: [SEED], retryIntervalMs: 10 }, components)
  await join.start()
  await until(() => calls.includes('cluster known'))
  t.same(calls, [`join ${SEED}`, `join ${SEED}`, `join ${SEED}`, 'sync seed', 'cluster known'])
  join.stop()
})

t.test('stop ends the retries', async (t) => {
  const { components, calls } = fakeCluster(Infinity)
  const join = new ClusterJoin({ addresses: [SEED], retryIntervalMs: 10 }, components)
  await join.start()
  await until(() => calls.length >= 2)
  join.stop()
  const attempts = calls.length
  await new Promise((resolve) => setTimeout(resolve, 50))
  t.equal(calls.length, attempts, 'no join after stop')
})

t.test('joinOnce through an address answers 1 once a member answers, after a push-pull with it', async (t) => {
  const { components, calls } = fakeCluster(0)
  const join = new ClusterJoin({ addresses: [], retryIntervalMs: 10 }, components)
  t.equal(await join.joinOnce(SEED), 1)
  t.same(calls, [`join ${SEED}`, 'sync seed'])
})

t.test('a host name is resolved at every attempt, so a seed whose name appears later is found by a retry', async (t) => {
  const { components, calls } = fakeCluster(0)
  let known = false
  const lookups: string[] = []
  components.lookup = async (host) => {
    lookups.push(host)
    if (!known) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' })
    return { address: '127.0.0.9', family: 4 }
  }
  const join = new ClusterJoin({ addresses: [], retryIntervalMs: 10 }, components)
  await t.rejects(join.joinOnce('mesh-1:8301'), { message: /mesh-1:8301.*cannot resolve mesh-1: ENOTFOUND/ }, 'an unknown name fails the attempt, naming it')
  t.same(calls, [], 'nothing was sent')
  known = true
  t.equal(await join.joinOnce('mesh-1:8301'), 1)
  t.same(calls, [`join ${SEED}`, 'sync seed'], 'the resolved address is joined')
  t.same(lookups, ['mesh-1', 'mesh-1'])
})

t.test('without an injected lookup, names resolve through the system resolver (localhost)', async (t) => {
  const { components, calls } = fakeCluster(0)
  const join = new ClusterJoin({ addresses: [], retryIntervalMs: 10 }, components)
  await join.joinOnce('localhost:8301').catch(() => undefined)
  t.match(calls[0], /^join (127\.0\.0\.1|\[::1\]):8301$/, 'localhost became a loopback address before membership saw it')
})

t.test('an IPv6 address in brackets is joined as is', async (t) => {
  const { components, calls } = fakeCluster(0)
  components.lookup = async () => { throw new Error('not called for addresses') }
  const join = new ClusterJoin({ addresses: [], retryIntervalMs: 10 }, components)
  await join.joinOnce('[::1]:8301').catch(() => undefined)
  t.equal(calls[0], 'join [::1]:8301')
})
