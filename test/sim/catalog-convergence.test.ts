// Simulation: catalogs beside membership (test/sim/catalog-harness.ts) converge under 10 % datagram
// loss, after a partition heals, after a restart from the store, and follow crashes and leaves;
// the whole run is a pure function of its seed.
import t from 'tap'
import type { ClusterEntry, Entry } from '../../catalog/entry.ts'
import { compareHlc } from '../../catalog/hlc.ts'
import type { ServiceRecord } from '../../api/catalog-types.ts'
import { CatalogCluster, canonicalDigest } from './catalog-harness.ts'

const NODES = 30
const LOSS = 0.1
/** Bound on convergence after the last write (or the heal): a few scaled, jittered sync rounds. */
const CONVERGE_BOUND_MS = 15_000

const service = (id: string): ServiceRecord =>
  ({ ID: id, Service: id.replace(/-\d+$/, ''), Tags: [], Address: '', Port: 8080, Meta: {}, Weights: { Passing: 1, Warning: 1 }, EnableTagOverride: false })

interface RunResult {
  /** Simulated ms from the last write (or the heal, or the restart) to equal digests everywhere. */
  convergedAfterMs: { registrations: number | undefined, partition: number | undefined, restart: number | undefined }
  registrationsEverywhere: boolean
  divergedDuringPartition: boolean
  partitionWritesEverywhere: boolean
  sharedRegisterAgrees: boolean
  restartedVersionHigher: boolean
  crashedTurnedCritical: boolean
  leftDisappeared: boolean
  digest: string
  trace: string
  lostDatagrams: number
}

async function run (seed: number): Promise<RunResult> {
  const cluster = new CatalogCluster({ seed, lossProbability: LOSS })
  const engine = cluster.engine
  const names = Array.from({ length: NODES }, (_, i) => `n${i}`)
  cluster.start(names[0])
  for (let i = 1; i < NODES; i++) engine.schedule(i * 20, () => { cluster.start(names[i], [names[0], names[(i * 7) % i]]) })
  await cluster.runUntil(NODES * 20)
  await cluster.runUntilTrue(() => cluster.members.converged(), 30_000)

  // (a) Every node registers three services at random moments over 2 s.
  const expected = new Map<string, string[]>(names.map(name => [name, []]))
  const writesStartMs = engine.nowMs
  for (const name of names) {
    for (let i = 0; i < 3; i++) {
      const id = `${name}-svc-${i}`
      expected.get(name)!.push(id)
      engine.schedule(writesStartMs + Math.floor(engine.random() * 2000), () => { cluster.write(name, async catalog => await catalog.registerService(service(id), [])) })
    }
  }
  await cluster.runUntil(writesStartMs + 2000)
  const registeredAtMs = await cluster.runUntilTrue(() => cluster.converged(), writesStartMs + 2000 + CONVERGE_BOUND_MS)
  const holdsExactly = (owner: string, ids: string[]): boolean =>
    cluster.liveCatalogs().every(catalog => JSON.stringify(Object.keys(catalog.node(owner)?.Services ?? {}).sort()) === JSON.stringify([...ids].sort()))
  const registrationsEverywhere = [...expected].every(([owner, ids]) => holdsExactly(owner, ids))

  // (b) A 10 s partition into halves; both sides register and both write the shared register.
  const left = names.slice(0, NODES / 2)
  const right = names.slice(NODES / 2)
  engine.partition([left, right])
  const partitionedAtMs = engine.nowMs
  const clusterWrites: ClusterEntry[] = []
  for (const name of names) {
    engine.schedule(partitionedAtMs + 1000 + Math.floor(engine.random() * 3000), () => {
      const id = `${name}-during-partition`
      expected.get(name)!.push(id)
      cluster.write(name, async catalog => await catalog.registerService(service(id), []))
    })
  }
  for (const writer of [left[3], right[4]]) {
    engine.schedule(partitionedAtMs + 5000, () => {
      cluster.write(writer, async catalog => {
        const entries: Entry[] = await catalog.putClusterEntry('config-entry', 'shared', { writer })
        clusterWrites.push(entries[0] as ClusterEntry)
      })
    })
  }
  await cluster.runUntil(partitionedAtMs + 10_000)
  const divergedDuringPartition = !cluster.converged()
  engine.heal()
  const healedAtMs = engine.nowMs
  const healConvergedAtMs = await cluster.runUntilTrue(() => cluster.converged() && cluster.members.converged(), healedAtMs + 30_000 + CONVERGE_BOUND_MS)
  const partitionWritesEverywhere = [...expected].every(([owner, ids]) => holdsExactly(owner, ids))
  const winner = clusterWrites.reduce((best, entry) => compareHlc(entry.hlc, best.hlc) > 0 ? entry : best)
  const sharedRegisterAgrees = clusterWrites.length === 2 &&
    cluster.liveCatalogs().every(catalog => JSON.stringify(catalog.clusterEntry('config-entry', 'shared')?.value) === JSON.stringify(winner.value))

  // (c) n5 crashes and restarts from its store 2 s later: it republishes above every old version.
  const restarted = 'n5'
  const versionBefore = cluster.node('n0').catalog!.digest().nodes[restarted].version
  cluster.crash(restarted)
  await cluster.runUntil(engine.nowMs + 2000)
  cluster.start(restarted, ['n0'])
  const restartAtMs = engine.nowMs
  const restartConvergedAtMs = await cluster.runUntilTrue(() => cluster.converged() && cluster.members.converged(), restartAtMs + CONVERGE_BOUND_MS)
  const restartedVersionHigher = cluster.liveCatalogs().every(catalog => catalog.digest().nodes[restarted].version > versionBefore) &&
    holdsExactly(restarted, expected.get(restarted)!)

  // (d) n7 crashes for good; n8 leaves gracefully (and exits 1 s later).
  cluster.crash('n7')
  cluster.members.input('n8', (membership, nowMs) => membership.leave(nowMs))
  engine.schedule(engine.nowMs + 1000, () => { cluster.crash('n8') })
  const observers = (): Array<NonNullable<ReturnType<CatalogCluster['node']>['catalog']>> => cluster.liveCatalogs()
  const crashedCritical = (): boolean => observers().every(catalog => {
    const serf = catalog.checksForNode('n7').find(check => check.CheckID === 'serfHealth')
    return serf?.Status === 'critical' && catalog.healthService('n7-svc', { passing: true }).length === 0
  })
  const leftGone = (): boolean => observers().every(catalog =>
    catalog.node('n8') === undefined && catalog.serviceNodes('n8-svc').length === 0 && !catalog.nodes().some(node => node.Node === 'n8'))
  await cluster.runUntilTrue(() => crashedCritical() && leftGone(), engine.nowMs + 30_000)

  return {
    convergedAfterMs: {
      registrations: registeredAtMs === undefined ? undefined : registeredAtMs - (writesStartMs + 2000),
      partition: healConvergedAtMs === undefined ? undefined : healConvergedAtMs - healedAtMs,
      restart: restartConvergedAtMs === undefined ? undefined : restartConvergedAtMs - restartAtMs,
    },
    registrationsEverywhere,
    divergedDuringPartition,
    partitionWritesEverywhere,
    sharedRegisterAgrees,
    restartedVersionHigher,
    crashedTurnedCritical: crashedCritical(),
    leftDisappeared: leftGone(),
    digest: canonicalDigest(cluster.liveCatalogs()[0].digest()),
    trace: engine.traceHash(),
    lostDatagrams: engine.stats.lost,
  }
}

t.test(`${NODES} catalogs beside membership converge under ${LOSS * 100} % loss, a partition, a restart, a crash and a leave (seed 1)`, async t => {
  const result = await run(1)
  const { registrations, partition, restart } = result.convergedAfterMs
  t.ok(result.lostDatagrams > 0, `${result.lostDatagrams} datagrams lost`)
  t.ok(registrations !== undefined, `(a) registrations: equal digests everywhere ${registrations} ms (simulated) after the last write`)
  t.ok(result.registrationsEverywhere, '(a) every node holds exactly every node\'s registrations')
  t.ok(result.divergedDuringPartition, '(b) the two sides differed while partitioned')
  t.ok(partition !== undefined, `(b) equal digests ${partition} ms after the partition healed`)
  t.ok(result.partitionWritesEverywhere, '(b) the writes of both sides reached every node')
  t.ok(result.sharedRegisterAgrees, '(b) the register written on both sides holds the HLC winner everywhere')
  t.ok(restart !== undefined, `(c) equal digests ${restart} ms after the restart`)
  t.ok(result.restartedVersionHigher, '(c) the restarted node republished above its old versions, with its registrations intact')
  t.ok(result.crashedTurnedCritical, '(d) the crashed node\'s serfHealth is critical and its services are not passing, everywhere')
  t.ok(result.leftDisappeared, '(d) the node that left and its services are gone from every query')
  t.same(await run(1), result, 'the same seed gives the same run')
})
