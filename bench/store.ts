// What acknowledging only durable writes costs. (1) Registrations per second through the real
// HTTP API (`PUT /v1/agent/service/register`, an agent process, N concurrent clients) with the
// agent's default, every group of catalog batches synced before it is acknowledged, against the
// same agent started with --unsafe-no-fsync. (2) The same through `Catalog.registerService` in
// process, on the LevelDB store alone, which shows the raw cost with nothing else around it. Group
// commit is what keeps the ratio up: one sync covers every batch queued while the previous one was
// syncing, so the mean group grows with the writers. Runs alternate synced / not synced, three
// rounds each; the median of each is reported. Usage: npm run bench:store [-- 1,16,64].
// Writes docs/benchmarks/store.md.

import { mkdirSync, mkdtempSync, rmSync, statfsSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Catalog } from '../catalog/catalog.ts'
import { LevelCatalogStore } from '../catalog/level-store.ts'
import { Cluster, http } from '../test/e2e/harness.ts'

const WRITERS = (process.argv[2] ?? '1,16,64').split(',').filter(text => text !== '').map(Number)
const REGISTRATIONS = 4000
const HTTP_REGISTRATIONS = 3000
const ROUNDS = 3

interface Run { perSecond: number, groupSize: number }

/** Registrations per second through an agent's HTTP API (group size is not visible from outside: 0). */
async function httpRun (writers: number, sync: boolean): Promise<Run> {
  const cluster = new Cluster()
  try {
    const agent = await cluster.start({ name: 'bench-store', dev: false, args: sync ? [] : ['--unsafe-no-fsync'], startTimeoutMs: 60_000 })
    let next = 0
    const started = process.hrtime.bigint()
    await Promise.all(Array.from({ length: writers }, async () => {
      while (next < HTTP_REGISTRATIONS) {
        const id = next++
        const answer = await http(agent, 'PUT', '/v1/agent/service/register', { ID: `web-${id}`, Name: 'web', Tags: ['v1'], Port: 8000 + (id % 1000), Meta: { n: String(id) } })
        if (answer.status !== 200) throw new Error(`registration answered ${answer.status}: ${answer.text}`)
      }
    }))
    const seconds = Number(process.hrtime.bigint() - started) / 1e9
    return { perSecond: HTTP_REGISTRATIONS / seconds, groupSize: 0 }
  } finally {
    await cluster.cleanup()
  }
}

async function run (writers: number, sync: boolean): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'mesh-bench-store-'))
  try {
    const store = await LevelCatalogStore.open(join(dir, 'catalog'), { sync })
    const catalog = await Catalog.open({ store, self: { Node: 'bench', ID: '', Address: '127.0.0.1', Datacenter: 'dc1', TaggedAddresses: {}, Meta: {} } })
    const before = { ...store.stats }
    let next = 0
    const started = process.hrtime.bigint()
    await Promise.all(Array.from({ length: writers }, async () => {
      while (next < REGISTRATIONS) {
        const id = next++
        await catalog.registerService({ ID: `web-${id}`, Service: 'web', Tags: ['v1'], Address: '10.0.0.1', Port: 8000 + (id % 1000), Meta: { n: String(id) } } as never, [])
      }
    }))
    const seconds = Number(process.hrtime.bigint() - started) / 1e9
    const groups = store.stats.groups - before.groups
    const batches = store.stats.batches - before.batches
    await catalog.close()
    return { perSecond: REGISTRATIONS / seconds, groupSize: batches / Math.max(1, groups) }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]

interface Result { writers: number, synced: number, unsynced: number, ratio: number, groupSize: number }

async function measure (what: string, runOnce: (writers: number, sync: boolean) => Promise<Run>): Promise<{ rows: string[], results: Result[] }> {
  const rows: string[] = []
  const results: Result[] = []
  for (const writers of WRITERS) {
    const synced: Run[] = []
    const unsynced: Run[] = []
    for (let round = 0; round < ROUNDS; round++) {
      synced.push(await runOnce(writers, true))
      unsynced.push(await runOnce(writers, false))
    }
    const result: Result = {
      writers,
      synced: median(synced.map(r => r.perSecond)),
      unsynced: median(unsynced.map(r => r.perSecond)),
      ratio: 0,
      groupSize: median(synced.map(r => r.groupSize)),
    }
    result.ratio = result.synced / result.unsynced
    results.push(result)
    const group = result.groupSize === 0 ? '' : ` ${result.groupSize.toFixed(1)} |`
    const row = `| ${writers} | ${Math.round(result.synced).toLocaleString('en')} /s | ${Math.round(result.unsynced).toLocaleString('en')} /s | ${result.ratio.toFixed(2)}× |${group}`
    rows.push(row)
    console.log(what, row)
  }
  return { rows, results }
}

const { loadavg } = await import('node:os')
const load = loadavg()[0].toFixed(1)
const TMPFS_MAGIC = 0x01021994
const filesystem = statfsSync(tmpdir()).type === TMPFS_MAGIC ? 'tmpfs, where a sync costs nothing: these ratios say nothing about disks' : 'a disk filesystem'
const viaHttp = await measure('http', httpRun)
const inProcess = await measure('catalog', run)

const page = `# Benchmark: catalog writes, synced with group commit

\`npm run bench:store\` (bench/store.ts). A write is acknowledged only once its batch is synced to
disk; writes queued meanwhile share the next sync (docs/reliability.md, "Data directory"). Each
figure is the median of ${ROUNDS} rounds, synced and not synced alternating; data dirs on
${tmpdir()} (${filesystem}). Load average at the start: ${load}.

## Through the HTTP API

${HTTP_REGISTRATIONS.toLocaleString('en')} \`PUT /v1/agent/service/register\` by N concurrent clients against one agent
process (LAN preset), synced (the default) against \`--unsafe-no-fsync\`.

| clients | synced | not synced | ratio |
|---|---|---|---|
${viaHttp.rows.join('\n')}

## The catalog alone

${REGISTRATIONS.toLocaleString('en')} \`Catalog.registerService\` by N concurrent writers in process on the LevelDB store, no
HTTP: the raw cost of the sync, and how many batches one synced write carries.

| writers | synced | not synced | ratio | batches per synced write (mean) |
|---|---|---|---|---|
${inProcess.rows.join('\n')}

Measured ${new Date().toISOString().slice(0, 10)} on ${process.platform}/${process.arch}, Node ${process.version}.
`
mkdirSync(new URL('../docs/benchmarks/', import.meta.url), { recursive: true })
writeFileSync(new URL('../docs/benchmarks/store.md', import.meta.url), page)
console.log(JSON.stringify({ http: viaHttp.results, catalog: inProcess.results }))
