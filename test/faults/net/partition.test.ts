// A 2|3 partition of five agents on five test hosts, held for 60 s, then healed. During the
// partition each side marks the other failed (as it should) and both sides keep taking
// registrations. After the heal every agent must again see all five members alive, every
// registration made before and during the partition, and every node's serfHealth passing, within 5 s. The time each agent took is
// measured and printed (docs/reliability.md, "Network faults", records the figures).

import t from 'tap'
import { waitFor } from '../../e2e/harness.ts'
import { ALIVE, FAILED, NetLab, unavailableReason } from './netns.ts'
import type { Member } from './netns.ts'

const NAMES = ['a', 'b', 'c', 'd', 'e']
const LEFT_SIDE = ['a', 'b']
const RIGHT_SIDE = ['c', 'd', 'e']
const PARTITION_MS = 60_000
const CONVERGENCE_PROMISE_MS = 5000
/** How long the test keeps looking after the promise is broken, so a failure still shows the figure. */
const OBSERVE_MS = 40_000

const reason = unavailableReason()

t.test('a 60 s partition 2|3 heals: all alive and every registration everywhere within 5 s', { skip: reason ?? false, timeout: 240_000 }, async (t) => {
  const lab = await NetLab.create(NAMES)
  t.teardown(async () => await lab.close())

  await lab.startCluster()

  const members = async (name: string): Promise<Member[]> => await lab.members(name)
  const serviceNames = async (name: string): Promise<Set<string>> => {
    const answer = await lab.http(name, 'GET', '/v1/catalog/services')
    if (answer.status !== 200) throw new Error(`services on ${name}: HTTP ${answer.status} ${answer.text}`)
    return new Set(Object.keys(answer.body as Record<string, unknown>))
  }
  /** Nodes whose serfHealth check this agent reports critical (its view of who failed). */
  const criticalNodes = async (name: string): Promise<string[]> => {
    const answer = await lab.http(name, 'GET', '/v1/health/state/critical')
    if (answer.status !== 200) throw new Error(`critical checks on ${name}: HTTP ${answer.status} ${answer.text}`)
    return (answer.body as Array<{ Node: string, CheckID: string }>).filter((check) => check.CheckID === 'serfHealth').map((check) => check.Node).sort()
  }
  const register = async (name: string, service: string): Promise<void> => {
    const answer = await lab.http(name, 'PUT', '/v1/agent/service/register', { Name: service, ID: service, Port: 8080 })
    if (answer.status !== 200) throw new Error(`register ${service} on ${name}: HTTP ${answer.status} ${answer.text}`)
  }
  const seesAll = (list: Member[], status: number, names: string[]): boolean =>
    names.every((other) => list.some((member) => member.Name === other && member.Status === status))
  const hasAll = (have: Set<string>, wanted: string[]): boolean => wanted.every((service) => have.has(service))

  for (const name of NAMES) {
    await waitFor(`${name} to see 5 alive members`, async () => seesAll(await members(name), ALIVE, NAMES), 30_000, 200)
  }
  const registered: string[] = []
  for (const name of NAMES) {
    for (const index of [1, 2]) {
      const service = `before-${name}-${index}`
      await register(name, service)
      registered.push(service)
    }
  }
  for (const name of NAMES) {
    await waitFor(`${name} to list the 10 registrations made before the partition`, async () => hasAll(await serviceNames(name), registered), 20_000, 200)
  }
  t.pass('5 agents joined, 10 registrations replicated everywhere')

  const partitionedAt = Date.now()
  await lab.partition(LEFT_SIDE, RIGHT_SIDE)
  for (const [side, other] of [[LEFT_SIDE, RIGHT_SIDE], [RIGHT_SIDE, LEFT_SIDE]]) {
    for (const name of side) {
      await waitFor(`${name} to mark ${other.join(',')} failed`, async () => seesAll(await members(name), FAILED, other), 30_000, 200)
    }
  }
  t.pass('each side marked the other side failed')
  t.same(await criticalNodes('a'), RIGHT_SIDE, 'the catalog on a reports serfHealth critical for c, d and e')
  t.same(await criticalNodes('c'), LEFT_SIDE, 'the catalog on c reports serfHealth critical for a and b')

  const duringBySide = new Map<string[], string[]>()
  for (const side of [LEFT_SIDE, RIGHT_SIDE]) {
    const made: string[] = []
    for (const name of side) {
      const service = `during-${name}`
      await register(name, service)
      made.push(service)
    }
    duringBySide.set(side, made)
    registered.push(...made)
  }
  for (const side of [LEFT_SIDE, RIGHT_SIDE]) {
    for (const name of side) {
      await waitFor(`${name} to list its side's registrations made during the partition`, async () => hasAll(await serviceNames(name), duringBySide.get(side)!), 20_000, 200)
    }
  }
  for (const name of LEFT_SIDE) {
    t.notOk(hasAll(await serviceNames(name), duringBySide.get(RIGHT_SIDE)!.slice(0, 1)), `${name} does not see the other side's new registrations while partitioned`)
  }

  const remainingMs = partitionedAt + PARTITION_MS - Date.now()
  if (remainingMs > 0) await new Promise((resolve) => setTimeout(resolve, remainingMs))
  const dropped = await lab.dropped()
  t.ok(NAMES.every((name) => (dropped[name].partition ?? 0) > 0), `every host dropped packets across the partition (${JSON.stringify(dropped)})`)
  for (const name of NAMES) {
    t.ok((await members(name)).some((member) => member.Status === FAILED), `${name} still sees the other side failed at the end of the partition`)
  }

  await lab.heal()
  const healedAt = Date.now()
  // Members and catalog are timed apart (they heal by different mechanisms); an agent has
  // converged once both are whole: all members alive, every registration listed, no node's
  // serfHealth critical.
  const membersAfterMs = new Map<string, number>()
  const catalogAfterMs = new Map<string, number>()
  const convergedAfterMs = new Map<string, number>()
  const deadline = healedAt + OBSERVE_MS
  while (convergedAfterMs.size < NAMES.length && Date.now() < deadline) {
    await Promise.all(NAMES.filter((name) => !convergedAfterMs.has(name)).map(async (name) => {
      const [list, services, critical] = await Promise.all([members(name), serviceNames(name), criticalNodes(name)])
      const at = Date.now() - healedAt
      if (!membersAfterMs.has(name) && list.length === NAMES.length && seesAll(list, ALIVE, NAMES)) membersAfterMs.set(name, at)
      if (!catalogAfterMs.has(name) && hasAll(services, registered) && critical.length === 0) catalogAfterMs.set(name, at)
      if (membersAfterMs.has(name) && catalogAfterMs.has(name)) convergedAfterMs.set(name, Math.max(membersAfterMs.get(name)!, catalogAfterMs.get(name)!))
    }))
  }
  t.comment(`members whole after heal: ${NAMES.map((name) => `${name}=${membersAfterMs.get(name) ?? 'never'}ms`).join(' ')}`)
  t.comment(`catalog whole after heal: ${NAMES.map((name) => `${name}=${catalogAfterMs.get(name) ?? 'never'}ms`).join(' ')}`)
  const figures = NAMES.map((name) => `${name}=${convergedAfterMs.get(name) ?? 'never'}ms`).join(' ')
  t.comment(`convergence after heal: ${figures}`)
  t.equal(convergedAfterMs.size, NAMES.length, `every agent converged within ${OBSERVE_MS} ms of the heal (${figures})`)
  const slowest = Math.max(...convergedAfterMs.values())
  t.comment(`slowest agent converged ${slowest} ms after the heal`)
  t.ok(slowest <= CONVERGENCE_PROMISE_MS, `every agent sees 5 alive members, all ${registered.length} registrations and every serfHealth passing within ${CONVERGENCE_PROMISE_MS} ms of the heal (slowest ${slowest} ms)`)
  for (const name of NAMES) {
    t.ok(hasAll(await serviceNames(name), registered), `${name} lists all ${registered.length} registrations`)
    t.same(await criticalNodes(name), [], `${name} reports every node's serfHealth passing`)
  }
})
