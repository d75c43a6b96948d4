// Catalog benchmark on real agents: (1) a registration on one agent until it is visible through
// /v1/health/service on every agent (N = 20 and 50; blocking queries on every agent mark the
// moment), (2) /v1/health/service/:s?passing latency and throughput from one agent holding 10,000
// instances (100 services × 100, measured with hey), (3) restart time of an agent holding 10,000
// local services. Usage: npm run bench:catalog [-- 20,50] (`-- ""` for the 10,000-instance agent alone). Writes docs/benchmarks/catalog.md.

import { spawnSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { Cluster, http, members, waitFor } from '../test/e2e/harness.ts'
import type { AgentProcess } from '../test/e2e/harness.ts'

const SIZES = (process.argv[2] ?? '20,50').split(',').filter((size) => size !== '').map(Number)
const ROUNDS = 10
const SERVICES = 100
const INSTANCES = 100
const NODE_ARGS = ['--max-semi-space-size=1']

const percentile = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil(p / 100 * sorted.length) - 1)]
}

interface Spread { p50: number, p99: number, max: number }

/** Waits, with blocking queries on every agent, until `seen(body)` holds; resolves with the time. */
async function watchAll (agents: AgentProcess[], path: string, seen: (body: unknown) => boolean): Promise<Array<Promise<number>>> {
  const separator = path.includes('?') ? '&' : '?'
  const indexes = await Promise.all(agents.map(async (agent) => Number((await http(agent, 'GET', path)).headers.get('x-consul-index'))))
  return agents.map(async (agent, position) => {
    let index = indexes[position]
    for (;;) {
      const response = await http(agent, 'GET', `${path}${separator}index=${index}&wait=20s`)
      if (seen(response.body)) return Date.now()
      index = Number(response.headers.get('x-consul-index'))
    }
  })
}

/** Resolves each agent's time, or Infinity when it has not seen the change within 30 s. */
async function settle (seen: Array<Promise<number>>): Promise<number[]> {
  const deadline = new Promise<number>((resolve) => setTimeout(() => resolve(Infinity), 30_000).unref())
  return await Promise.all(seen.map(async (promise) => await Promise.race([promise.catch(() => Infinity), deadline])))
}

const spread = (delays: number[]): Spread => ({ p50: percentile(delays, 50), p99: percentile(delays, 99), max: Math.max(...delays) })

async function propagation (n: number): Promise<{ registration: Spread, intention: Spread }> {
  const cluster = new Cluster()
  try {
    const common = { dev: false, nodeArgs: NODE_ARGS, startTimeoutMs: 120_000 }
    const seed = await cluster.start({ name: 'p0', ...common })
    const agents: AgentProcess[] = [seed]
    for (let index = 1; index < n; index += 4) {
      agents.push(...await Promise.all(Array.from({ length: Math.min(4, n - index) }, async (_, offset) =>
        await cluster.start({ name: `p${index + offset}`, join: [seed.gossipAddr], ...common }))))
    }
    for (const agent of agents) await waitFor(`${agent.name} full view`, async () => (await members(agent)).length === n, 120_000, 250)
    const delays: number[] = []
    const intentionDelays: number[] = []
    for (let round = 0; round < ROUNDS; round++) {
      const service = `prop-${round}`
      const seen = await watchAll(agents, `/v1/health/service/${service}`, (body) => (body as unknown[]).length > 0)
      const registering = agents[round % agents.length]
      const start = Date.now()
      await http(registering, 'PUT', '/v1/agent/service/register', { Name: service, Port: 1000 + round })
      for (const at of await settle(seen)) delays.push(at - start)

      if (process.env.MESH_BENCH_SKIP_INTENTIONS === '1') continue
      // An intention written on one agent, until every agent's match query returns it.
      const destination = `dest-${round}`
      const matched = await watchAll(agents, `/v1/connect/intentions/match?by=destination&name=${destination}`,
        (body) => ((body as Record<string, unknown[]>)[destination] ?? []).length > 0)
      const writer = agents[(round * 7) % agents.length]
      const written = Date.now()
      await http(writer, 'PUT', `/v1/connect/intentions/exact?source=web&destination=${destination}`, { Action: 'deny' })
      for (const at of await settle(matched)) intentionDelays.push(at - written)
    }
    return { registration: spread(delays), intention: spread(intentionDelays.length === 0 ? [NaN] : intentionDelays) }
  } finally {
    await cluster.cleanup()
  }
}

function hey (url: string): { rps: number, p50: number, p99: number } {
  const result = spawnSync('hey', ['-z', '10s', '-c', '8', '-o', 'csv', url], { encoding: 'utf8', maxBuffer: 1 << 28 })
  const rows = result.stdout.trim().split('\n').slice(1).map((line) => line.split(','))
  const latencies = rows.filter((row) => row[6] === '200').map((row) => Number(row[0]) * 1000)
  return { rps: latencies.length / 10, p50: percentile(latencies, 50), p99: percentile(latencies, 99) }
}

async function largeCatalog (): Promise<{ query: ReturnType<typeof hey>, restartMs: number, registerS: number }> {
  const cluster = new Cluster()
  try {
    const agent = await cluster.start({ name: 'big', dev: false, nodeArgs: NODE_ARGS })
    const started = Date.now()
    const queue = Array.from({ length: SERVICES * INSTANCES }, (_, index) => index)
    await Promise.all(Array.from({ length: 16 }, async () => {
      for (let index = queue.shift(); index !== undefined; index = queue.shift()) {
        const service = `svc-${index % SERVICES}`
        const response = await http(agent, 'PUT', '/v1/agent/service/register', {
          Name: service, ID: `${service}-${Math.floor(index / SERVICES)}`, Port: 10_000 + (index % 50_000), Tags: ['bench'], Check: { TTL: '1h', Status: 'passing' },
        })
        if (response.status !== 200) throw new Error(`register: HTTP ${response.status} ${response.text}`)
      }
    }))
    const registerS = (Date.now() - started) / 1000
    const count = (await http(agent, 'GET', '/v1/health/service/svc-42?passing')).body as unknown[]
    if (count.length !== INSTANCES) throw new Error(`expected ${INSTANCES} passing instances, got ${count.length}`)
    const query = hey(`${agent.httpUrl}/v1/health/service/svc-42?passing`)

    await cluster.kill(agent)
    const restartAt = Date.now()
    const again = await cluster.start({ name: 'big', dataDir: agent.dataDir, dev: false, nodeArgs: NODE_ARGS })
    await waitFor('10,000 services after restart', async () => Object.keys((await http(again, 'GET', '/v1/agent/services')).body as object).length === SERVICES * INSTANCES, 60_000, 50)
    return { query, restartMs: Date.now() - restartAt, registerS }
  } finally {
    await cluster.cleanup()
  }
}

const lines = [
  `### Catalog (${new Date().toISOString().slice(0, 10)})`,
  '',
  '| figure | value | target |',
  '|---|---|---|',
]
for (const n of SIZES) {
  const figures = await propagation(n)
  const { registration, intention } = figures
  lines.push(`| registration → visible through /v1/health/service on all ${n} agents, p50 / p99 / max (${ROUNDS} registrations) | ${registration.p50} / ${registration.p99} / ${registration.max} ms | p99 ≤ 1000 ms at 50 |`)
  lines.push(`| intention written on one agent → returned by /v1/connect/intentions/match on all ${n} agents, p50 / p99 / max | ${intention.p50} / ${intention.p99} / ${intention.max} ms | p99 ≤ 1000 ms at 50 |`)
}
const big = process.env.MESH_BENCH_SKIP_LARGE === '1' ? undefined : await largeCatalog()
if (big !== undefined) lines.push(`| /v1/health/service/:s?passing with ${SERVICES * INSTANCES} instances on one agent (100 per answer), p50 / p99 | ${big.query.p50.toFixed(2)} / ${big.query.p99.toFixed(2)} ms | p99 ≤ 5 ms |`)
if (big !== undefined) {
  lines.push(`| same query, requests/s (hey -c 8, 10 s) | ${Math.round(big.query.rps)} | |`)
  lines.push(`| restart (kill -9 → all ${SERVICES * INSTANCES} local services served) | ${(big.restartMs / 1000).toFixed(2)} s | ≤ 3 s |`)
  lines.push(`| registering ${SERVICES * INSTANCES} services over HTTP (16 concurrent clients) | ${big.registerS.toFixed(1)} s | |`)
}
lines.push('', 'Agents run the LAN preset as separate processes on loopback; restart time includes process start-up (module loading).', '')
const table = lines.join('\n')
process.stdout.write(table)
mkdirSync(new URL('../docs/benchmarks/', import.meta.url), { recursive: true })
writeFileSync(new URL(process.env.MESH_BENCH_OUT ?? '../docs/benchmarks/catalog.md', import.meta.url), table)
