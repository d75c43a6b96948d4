// Membership benchmark: N real mesh agents (LAN preset) and N serf agents on loopback, in the same
// run, side by side: join convergence, failure detection after kill -9 (median of 3 victims, as seen
// by every survivor), spread of a membership change (a graceful leave) to all, idle CPU and RSS per
// agent. Usage: npm run bench:membership [-- N]. Writes docs/benchmarks/membership.md.

import { spawn, spawnSync } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Cluster, http, members, waitFor } from '../test/e2e/harness.ts'
import type { AgentProcess } from '../test/e2e/harness.ts'

const N = Number(process.argv[2] ?? 50)
const VICTIMS = 3
const IDLE_WINDOW_MS = 10_000
/** How long the converged cluster idles before the kills, watched for false deaths (issue target: 5 min). */
const IDLE_RUN_MS = Number(process.env.MESH_BENCH_IDLE_MINUTES ?? 5) * 60_000
const NODE_ARGS = ['--max-semi-space-size=1']

interface Figures {
  joinFromStartS: number
  joinAfterLastReadyS: number
  detectFirstS: number[]
  detectMedianS: number[]
  detectLastS: number[]
  spreadS: number
  rssMb: number
  pssMb: number
  idleCpuPct: number
  falseDeaths: number
  idleFalseDeaths: number
}

function procStat (pid: number): { cpuTicks: number, rssKb: number, pssKb: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  // PSS divides pages shared between processes (the node binary, shared libraries) among them:
  // what one more agent costs the machine. RSS counts shared pages in full for every process.
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8')
  return {
    cpuTicks: Number(stat[11]) + Number(stat[12]),
    rssKb: Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0),
    pssKb: Number(/^Pss:\s+(\d+)/m.exec(rollup)?.[1] ?? 0),
  }
}

async function idleCpuAndRss (pids: number[]): Promise<{ cpuPct: number, rssMb: number, pssMb: number }> {
  const ticksPerSecond = 100
  const before = pids.map((pid) => procStat(pid).cpuTicks)
  await new Promise((resolve) => setTimeout(resolve, IDLE_WINDOW_MS))
  const after = pids.map((pid) => procStat(pid))
  const cpuTicks = after.reduce((sum, stat, index) => sum + stat.cpuTicks - before[index], 0)
  return {
    cpuPct: cpuTicks / ticksPerSecond / (IDLE_WINDOW_MS / 1000) / pids.length * 100,
    rssMb: after.reduce((sum, stat) => sum + stat.rssKb, 0) / pids.length / 1024,
    pssMb: after.reduce((sum, stat) => sum + stat.pssKb, 0) / pids.length / 1024,
  }
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]

interface MeshMember { Name: string, Status: string, StatusChangedAtMs: number }

async function meshView (agent: AgentProcess): Promise<MeshMember[]> {
  return (await http(agent, 'GET', '/v1/mesh/members')).body as MeshMember[]
}

async function benchMesh (): Promise<Figures> {
  const cluster = new Cluster()
  try {
    const common = { dev: false, nodeArgs: NODE_ARGS, startTimeoutMs: 120_000 }
    const seed = await cluster.start({ name: 'm0', ...common })
    const t0 = Date.now()
    const starting: Array<Promise<AgentProcess>> = []
    for (let index = 1; index < N; index++) {
      starting.push(cluster.start({ name: `m${index}`, join: [seed.gossipAddr], ...common }))
      // Two cores: start a few at a time so process start-up (module loading) does not starve probes.
      if (index % 4 === 0) await Promise.all(starting.slice(-4))
    }
    const agents = [seed, ...await Promise.all(starting)]
    const lastReady = Date.now()
    const last = agents[agents.length - 1]
    await waitFor('mesh join convergence', async () => {
      const [first, end] = await Promise.all([members(seed), members(last)])
      return first.filter((member) => member.Status === 1).length === N && end.filter((member) => member.Status === 1).length === N
    }, 120_000, 50)
    const converged = Date.now()
    for (const agent of agents) await waitFor(`${agent.name} full view`, async () => (await members(agent)).filter((member) => member.Status === 1).length === N, 60_000, 200)

    const idle = await idleCpuAndRss(agents.map((agent) => agent.process.pid!))
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, IDLE_RUN_MS - IDLE_WINDOW_MS)))
    let idleFalseDeaths = 0
    for (const agent of agents) {
      for (const record of await meshView(agent)) if (record.Status !== 'alive') idleFalseDeaths++
    }

    const detectFirst: number[] = []
    const detectMedian: number[] = []
    const detectLast: number[] = []
    let alive = agents.slice()
    for (let round = 0; round < VICTIMS; round++) {
      const victim = alive[alive.length - 1 - round * 3]
      alive = alive.filter((agent) => agent !== victim)
      const killedAt = Date.now()
      await cluster.kill(victim)
      const observer = alive[0]
      await waitFor(`failure of ${victim.name}`, async () => {
        const view = await meshView(observer)
        return view.find((member) => member.Name === victim.name)?.Status === 'dead'
      }, 60_000, 50)
      // Let the news reach everyone, then read when each survivor changed its view.
      const seenAt: number[] = []
      await waitFor(`everyone to see ${victim.name} dead`, async () => {
        seenAt.length = 0
        for (const agent of alive) {
          const record = (await meshView(agent)).find((member) => member.Name === victim.name)
          if (record?.Status !== 'dead') return false
          seenAt.push((record.StatusChangedAtMs - killedAt) / 1000)
        }
        return true
      }, 60_000, 500)
      seenAt.sort((a, b) => a - b)
      detectFirst.push(seenAt[0])
      detectMedian.push(median(seenAt))
      detectLast.push(seenAt[seenAt.length - 1])
    }

    const leaver = alive[alive.length - 1]
    alive = alive.filter((agent) => agent !== leaver)
    const leftAt = Date.now()
    await cluster.stop(leaver)
    const spread: number[] = []
    await waitFor('everyone to see the leave', async () => {
      spread.length = 0
      for (const agent of alive) {
        const record = (await meshView(agent)).find((member) => member.Name === leaver.name)
        if (record?.Status !== 'left') return false
        spread.push((record.StatusChangedAtMs - leftAt) / 1000)
      }
      return true
    }, 30_000, 500)

    let falseDeaths = 0
    for (const agent of alive) {
      for (const record of await meshView(agent)) {
        if (record.Status === 'dead' && alive.some((other) => other.name === record.Name)) falseDeaths++
      }
    }
    return {
      joinFromStartS: (converged - t0) / 1000,
      joinAfterLastReadyS: Math.max(0, converged - lastReady) / 1000,
      detectFirstS: detectFirst,
      detectMedianS: detectMedian,
      detectLastS: detectLast,
      spreadS: Math.max(...spread),
      rssMb: idle.rssMb,
      pssMb: idle.pssMb,
      idleCpuPct: idle.cpuPct,
      falseDeaths,
      idleFalseDeaths,
    }
  } finally {
    await cluster.cleanup()
  }
}

function serfMembers (rpcPort: number): string[] {
  const result = spawnSync('serf', ['members', `-rpc-addr=127.0.0.1:${rpcPort}`, '-status=alive'], { encoding: 'utf8' })
  return result.status === 0 ? result.stdout.trim().split('\n').filter((line) => line !== '') : []
}

async function benchSerf (): Promise<Figures | undefined> {
  if (spawnSync('serf', ['version']).status !== 0) return undefined
  const dir = mkdtempSync(join(tmpdir(), 'serf-bench-'))
  const base = 17000 + Math.floor(Math.random() * 2000)
  const processes: ChildProcess[] = []
  const handler = join(dir, 'handler.sh')
  writeFileSync(handler, '#!/bin/sh\n[ "$SERF_EVENT" = user ] && date +%s%3N >> "$OUTF"\nexit 0\n', { mode: 0o755 })
  mkdirSync(join(dir, 'ev'))
  const start = (index: number): ChildProcess => {
    const args = ['agent', '-profile=lan', `-node=s${index}`, `-bind=127.0.0.1:${base + index}`, `-rpc-addr=127.0.0.1:${base + 10000 + index}`, `-event-handler=${handler}`, '-log-level=err']
    if (index > 0) args.push(`-join=127.0.0.1:${base}`)
    const child = spawn('serf', args, { stdio: 'ignore', env: { ...process.env, OUTF: join(dir, 'ev', String(index)) } })
    processes[index] = child
    return child
  }
  try {
    start(0)
    await waitFor('serf seed', async () => serfMembers(base + 10000).length > 0, 10_000, 50)
    const t0 = Date.now()
    for (let index = 1; index < N; index++) start(index)
    await waitFor('serf convergence', async () => serfMembers(base + 10000).length >= N && serfMembers(base + 10000 + N - 1).length >= N, 60_000, 50)
    const converged = Date.now()
    await new Promise((resolve) => setTimeout(resolve, 3000))
    const idle = await idleCpuAndRss(processes.map((child) => child.pid!))
    const eventAt = Date.now()
    spawnSync('serf', ['event', `-rpc-addr=127.0.0.1:${base + 10000}`, 'ping'])
    const received: number[] = []
    await waitFor('serf event spread', async () => {
      received.length = 0
      for (let index = 0; index < N; index++) {
        try { received.push(Number(readFileSync(join(dir, 'ev', String(index)), 'utf8').trim().split('\n')[0])) } catch { return false }
      }
      return true
    }, 20_000, 50)
    const detect: number[] = []
    let alive = Array.from({ length: N }, (_, index) => index)
    for (let round = 0; round < VICTIMS; round++) {
      const victim = alive[alive.length - 1 - round * 3]
      alive = alive.filter((index) => index !== victim)
      const killedAt = Date.now()
      processes[victim].kill('SIGKILL')
      await waitFor('serf failure detection', async () => !serfMembers(base + 10000 + alive[0]).some((line) => line.startsWith(`s${victim} `)), 60_000, 50)
      detect.push((Date.now() - killedAt) / 1000)
    }
    return {
      joinFromStartS: (converged - t0) / 1000,
      joinAfterLastReadyS: (converged - t0) / 1000,
      detectFirstS: detect,
      detectMedianS: detect,
      detectLastS: detect,
      spreadS: (Math.max(...received) - eventAt) / 1000,
      rssMb: idle.rssMb,
      pssMb: idle.pssMb,
      idleCpuPct: idle.cpuPct,
      falseDeaths: 0,
      idleFalseDeaths: 0,
    }
  } finally {
    for (const child of processes) child?.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  }
}

const format = (value: number, digits = 2): string => value.toFixed(digits)
const ratio = (ours: number, theirs: number | undefined): string => theirs === undefined || theirs === 0 ? '–' : `${format(ours / theirs)}×`

const serf = await benchSerf()
const mesh = await benchMesh()
const rows = [
  ['join convergence: agents 1..N−1 started → first and last see N alive (s)', format(mesh.joinFromStartS), serf === undefined ? '–' : format(serf.joinFromStartS), ratio(mesh.joinFromStartS, serf?.joinFromStartS)],
  ['join convergence after the last agent was ready (s)', format(mesh.joinAfterLastReadyS), '–', '–'],
  ['failure detection after kill -9, median of 3 victims, seen by the median survivor (s)', format(median(mesh.detectMedianS)), serf === undefined ? '–' : format(median(serf.detectMedianS)), ratio(median(mesh.detectMedianS), serf === undefined ? undefined : median(serf.detectMedianS))],
  ['failure detection, first / last survivor (s, median of victims)', `${format(median(mesh.detectFirstS))} / ${format(median(mesh.detectLastS))}`, '–', '–'],
  ['a change reaches all agents (mesh: graceful leave; serf: user event) (s)', format(mesh.spreadS), serf === undefined ? '–' : format(serf.spreadS), ratio(mesh.spreadS, serf?.spreadS)],
  ['idle CPU per agent (% of one core)', format(mesh.idleCpuPct), serf === undefined ? '–' : format(serf.idleCpuPct), ratio(mesh.idleCpuPct, serf?.idleCpuPct)],
  ['RSS per agent (MB; shared pages counted in every process)', format(mesh.rssMb, 0), serf === undefined ? '–' : format(serf.rssMb, 0), ratio(mesh.rssMb, serf?.rssMb)],
  ['PSS per agent (MB; shared pages divided among processes)', format(mesh.pssMb, 0), serf === undefined ? '–' : format(serf.pssMb, 0), ratio(mesh.pssMb, serf?.pssMb)],
  [`live agents seen as not alive after a ${IDLE_RUN_MS / 60_000}-minute idle run (all views)`, String(mesh.idleFalseDeaths), '–', '–'],
  ['live agents wrongly declared dead after the kills', String(mesh.falseDeaths), '–', '–'],
]
const table = [
  `### Membership, ${N} agents on loopback (${new Date().toISOString().slice(0, 10)})`,
  '',
  '| figure | mesh | serf | mesh / serf |',
  '|---|---|---|---|',
  ...rows.map((row) => `| ${row.join(' | ')} |`),
  '',
  `mesh agents run the LAN preset with node flags \`${NODE_ARGS.join(' ')}\`; detection times per victim: ${mesh.detectMedianS.map((value) => format(value)).join(', ')} s${serf === undefined ? '' : `; serf: ${serf.detectMedianS.map((value) => format(value)).join(', ')} s`}.`,
  '',
].join('\n')
process.stdout.write(table)
mkdirSync(new URL('../docs/benchmarks/', import.meta.url), { recursive: true })
writeFileSync(new URL('../docs/benchmarks/membership.md', import.meta.url), table)
