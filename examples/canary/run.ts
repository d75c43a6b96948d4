// The canary demo (`npm run demo:canary`): three agents on 127.0.0.71-73, web v1 behind its
// sidecar on agent 2, web v2 behind its sidecar on agent 3, and a caller on agent 1 whose sidecar
// has web as an upstream. With a steady request stream running through the caller's sidecar, it
// applies the versioned files of config/ one directory at a time with the real `mesh config apply`,
// sending 0, 10, 50 and then 100 % of web's traffic to v2. After each step it waits until the
// caller's sidecar runs the new split (its mesh_proxy_split_weight series), lets the requests that
// started before settle, and counts the next --requests requests in the metrics of v1's and v2's
// sidecars (and in the answers' bodies). It prints a summary and exits 1 when any request failed,
// during a switch or not, or when a measured split is further from its weight than the tolerance.
// Every process and temp dir it made goes at exit, on Ctrl-C too. README.md walks the same steps
// by hand.
//
//   node examples/canary/run.ts [--requests N] [--rate R]

import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { Cluster, freePort, http, members, waitFor } from '../../test/e2e/harness.ts'
import type { AgentProcess } from '../../test/e2e/harness.ts'
import { parseExposition, sumOf } from '../../test/fixtures/prometheus.ts'
import type { Sample } from '../../test/fixtures/prometheus.ts'
import type { CallerStats } from './app.ts'
import { share, summary, toleranceOf } from './summary.ts'
import type { StepResult } from './summary.ts'

const EXAMPLE = new URL('.', import.meta.url).pathname
const ROOT = new URL('../..', import.meta.url).pathname
const MESH = join(ROOT, 'cli/mesh.mjs')
const APP = join(EXAMPLE, 'app.ts')
const ADDRESSES = ['127.0.0.71', '127.0.0.72', '127.0.0.73'] as const
const BASE_CONFIG = 'config/00-base'
const STEPS = ['config/10-v2-0', 'config/20-v2-10', 'config/30-v2-50', 'config/40-v2-100']
const CALLER_PROXY = 'caller-sidecar-proxy'

const started = performance.now()
const say = (message: string): void => { process.stdout.write(`[${((performance.now() - started) / 1000).toFixed(1).padStart(5)}s] ${message}\n`) }

// ---- processes, and cleaning them up whatever happens --------------------------------------

const cluster = new Cluster()
const apps: ChildProcess[] = []
let cleaned: Promise<void> | undefined

async function cleanup (): Promise<void> {
  cleaned ??= (async () => {
    const exits = apps.map(async (child) => {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve))
        child.kill('SIGTERM')
        await exited
      }
    })
    await Promise.all([...exits, cluster.cleanup()])
  })()
  await cleaned
}

let interrupted = false
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    interrupted = true
    say(`${signal}: stopping every process and removing the temp dir`)
    void cleanup().finally(() => process.exit(130))
  })
}

/** Starts app.ts with `args`; resolves with the port from its `listening` log line. */
async function startApp (name: string, args: string[]): Promise<{ child: ChildProcess, port: number }> {
  const child = spawn(process.execPath, [APP, ...args, '--exit-with-stdin'], { stdio: ['pipe', 'pipe', 'pipe'] })
  apps.push(child)
  let output = ''
  child.stderr!.on('data', (chunk: Buffer) => { output += chunk.toString() })
  const port = await new Promise<number>((resolve, reject) => {
    let buffered = ''
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString()
      buffered += chunk.toString()
      for (const line of buffered.split('\n').slice(0, -1)) {
        let record: { msg?: unknown, port?: unknown }
        try { record = JSON.parse(line) as typeof record } catch { continue }
        if (record.msg === 'listening' && typeof record.port === 'number') resolve(record.port)
      }
      buffered = buffered.slice(buffered.lastIndexOf('\n') + 1)
    })
    child.once('exit', (code) => { reject(new Error(`${name} exited with ${String(code)} before listening:\n${output}`)) })
  })
  return { child, port }
}

/** Runs the real `mesh` CLI against `agent`; throws with its output when it exits non-zero. */
async function mesh (agent: AgentProcess, args: string[]): Promise<string> {
  const child = spawn(process.execPath, [MESH, ...args, '--http-addr', agent.httpUrl], { stdio: ['ignore', 'pipe', 'pipe'], cwd: EXAMPLE })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString() })
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  if (code !== 0) throw new Error(`mesh ${args.join(' ')} exited with ${String(code)}:\n${output}`)
  return output
}

const indent = (text: string): string => text.trimEnd().split('\n').map((line) => `         | ${line}`).join('\n')

async function metrics (agent: AgentProcess): Promise<Sample[]> {
  const answer = await http(agent, 'GET', '/v1/agent/metrics')
  if (answer.status !== 200) throw new Error(`GET /v1/agent/metrics on ${agent.name}: HTTP ${answer.status} ${answer.text}`)
  return parseExposition(answer.text)
}

// ---- the demo --------------------------------------------------------------------------------

function options (): { requests: number, rate: number } {
  const { values } = parseArgs({ options: { requests: { type: 'string', default: '400' }, rate: { type: 'string', default: '100' } } })
  const requests = Number(values.requests)
  const rate = Number(values.rate)
  if (!Number.isInteger(requests) || requests < 20 || requests > 100_000) throw new Error(`--requests must be a whole number from 20 to 100000, not ${values.requests}`)
  if (!Number.isFinite(rate) || rate < 1 || rate > 2000) throw new Error(`--rate must be a number of requests per second from 1 to 2000, not ${values.rate}`)
  return { requests, rate }
}

/** Each subset's weight in a step's splitter file: the file is the source of truth for what to expect. */
function weightsOf (dir: string): Map<string, number> {
  const splitter = JSON.parse(readFileSync(join(EXAMPLE, dir, '30-web-splitter.json'), 'utf8')) as { Splits: Array<{ Weight: number, ServiceSubset?: string }> }
  const weights = new Map<string, number>()
  for (const leg of splitter.Splits) weights.set(leg.ServiceSubset ?? '', (weights.get(leg.ServiceSubset ?? '') ?? 0) + leg.Weight)
  return weights
}

/** A service definition from services/, with the ports this run got, written to the temp dir. */
function definition (tempDir: string, file: string, ports: { port: number, upstreamPort?: number }): string {
  const service = JSON.parse(readFileSync(join(EXAMPLE, 'services', file), 'utf8')) as Record<string, unknown> & {
    Connect: { SidecarService: { Proxy: { Upstreams?: Array<{ LocalBindPort: number }> } } }
  }
  service.Port = ports.port
  for (const upstream of service.Connect.SidecarService.Proxy.Upstreams ?? []) upstream.LocalBindPort = ports.upstreamPort!
  const path = join(tempDir, file)
  writeFileSync(path, JSON.stringify(service, null, 2))
  return path
}

async function main (): Promise<number> {
  const { requests, rate } = options()
  const tempDir = cluster.tempDir('mesh-canary-')
  say(`temp dir ${tempDir}`)

  // 1. Three agents, joined.
  const agents: AgentProcess[] = []
  for (const [index, address] of ADDRESSES.entries()) {
    const agent = await cluster.start({ name: `canary-${index + 1}`, bindAddress: address, join: index === 0 ? [] : [agents[0]!.gossipAddr] })
    agents.push(agent)
    say(`agent ${agent.name} pid ${String(agent.process.pid)} gossip ${agent.gossipAddr} HTTP ${agent.httpUrl} data dir ${agent.dataDir}`)
  }
  const [one, two, three] = agents as [AgentProcess, AgentProcess, AgentProcess]
  for (const agent of agents) await waitFor(`${agent.name} to see three members`, async () => (await members(agent)).filter((member) => member.Status === 1).length === 3)
  say('the three agents see each other')

  // 2. web speaks HTTP (so it can be split per request), and its resolver names v1 and v2.
  say(`mesh config apply ${BASE_CONFIG}`)
  process.stdout.write(indent(await mesh(one, ['config', 'apply', BASE_CONFIG])) + '\n')

  // 3. The apps, each registered with its sidecar on its own agent.
  const v1 = await startApp('web v1', ['web', '--version', 'v1', '--address', ADDRESSES[1]])
  const v2 = await startApp('web v2', ['web', '--version', 'v2', '--address', ADDRESSES[2]])
  // The caller's sidecar will listen for web here; the caller sends its requests to it.
  const upstreamPort = await freePort(ADDRESSES[0])
  const caller = await startApp('caller', ['caller', '--address', ADDRESSES[0], '--upstream', `${ADDRESSES[0]}:${upstreamPort}`, '--rate', String(rate)])
  say(`web v1 pid ${String(v1.child.pid)} on ${ADDRESSES[1]}:${v1.port}`)
  say(`web v2 pid ${String(v2.child.pid)} on ${ADDRESSES[2]}:${v2.port}`)
  say(`caller pid ${String(caller.child.pid)} on ${ADDRESSES[0]}:${caller.port}, calling web through its sidecar at ${ADDRESSES[0]}:${upstreamPort}`)
  for (const [agent, file, ports] of [
    [two, 'web-v1.json', { port: v1.port }],
    [three, 'web-v2.json', { port: v2.port }],
    [one, 'caller.json', { port: caller.port, upstreamPort }],
  ] as const) {
    say(`mesh register services/${file} (ports of this run) on ${agent.name}`)
    process.stdout.write(indent(await mesh(agent, ['register', definition(tempDir, file, ports)])) + '\n')
  }
  await waitFor('both web sidecars to pass their checks (up to 10 s)', async () => {
    const answer = await http(one, 'GET', '/v1/health/connect/web?passing')
    return answer.status === 200 && (answer.body as unknown[]).length === 2
  }, 30_000, 200)
  // No splitter yet: every instance gets traffic, so both versions answer through the caller's sidecar.
  const seen = new Set<string>()
  await waitFor('the caller\'s sidecar to reach web v1 and v2', async () => {
    const answer = await fetch(`http://${ADDRESSES[0]}:${upstreamPort}/ready`, { signal: AbortSignal.timeout(5000) })
    const version = /^web (v\d)\n$/.exec(await answer.text())?.[1]
    if (answer.status === 200 && version !== undefined) seen.add(version)
    return seen.size === 2
  }, 30_000, 50)
  say('web v1 and v2 both answer through the mesh')

  // 4. The steady stream, and the steps.
  const stats = async (): Promise<CallerStats> => {
    const answer = await fetch(`http://${ADDRESSES[0]}:${caller.port}/stats`, { signal: AbortSignal.timeout(5000) })
    return await answer.json() as CallerStats
  }
  const control = async (action: 'start' | 'stop'): Promise<CallerStats> => {
    const answer = await fetch(`http://${ADDRESSES[0]}:${caller.port}/${action}`, { method: 'POST', signal: AbortSignal.timeout(5000) })
    return await answer.json() as CallerStats
  }
  // Long enough for a whole window at the stream's rate, with room for a slow machine.
  const windowMs = 3 * 1000 * requests / rate + 10_000
  const settled = async (through: number): Promise<CallerStats> => await waitFor(`requests up to ${through} to finish`, async () => {
    const now = await stats()
    return now.settledThrough >= through ? now : undefined
  }, windowMs, 20)
  const inbound = async (agent: AgentProcess, proxy: string): Promise<number> =>
    sumOf(await metrics(agent), 'mesh_proxy_requests_total', { proxy, direction: 'inbound', destination: 'web' })
  const outboundFailures = async (): Promise<number> => (await metrics(one))
    .filter((sample) => sample.name === 'mesh_proxy_requests_total' && sample.labels.proxy === CALLER_PROXY && sample.labels.direction === 'outbound' &&
      sample.labels.destination === 'web' && sample.labels.code !== '200')
    .reduce((sum, sample) => sum + sample.value, 0)

  const failuresBefore = await outboundFailures()
  await control('start')
  say(`request stream started: ${rate} requests/s from the caller through its sidecar`)

  const results: StepResult[] = []
  for (const dir of STEPS) {
    const expected = weightsOf(dir)
    const weight = expected.get('v2') ?? 0
    const failedBefore = (await stats()).failed
    say(`step ${weight} %: mesh config apply ${dir}`)
    const applyStarted = performance.now()
    process.stdout.write(indent(await mesh(one, ['config', 'apply', dir])) + '\n')
    await waitFor(`the caller's sidecar to run ${dir}`, async () => {
      const legs = (await metrics(one)).filter((sample) => sample.name === 'mesh_proxy_split_weight' && sample.labels.proxy === CALLER_PROXY && sample.labels.destination === 'web')
      return legs.length === expected.size && legs.every((leg) => expected.get(leg.labels.subset!) === leg.value)
    }, 20_000, 20)
    const switchMs = performance.now() - applyStarted
    // Requests that started before the new split was in effect finish before the window opens;
    // every request numbered after `start.sent` starts after the counters are read.
    await settled((await stats()).sent)
    const [v1Before, v2Before] = [await inbound(two, 'web-v1-sidecar-proxy'), await inbound(three, 'web-v2-sidecar-proxy')]
    const start = await stats()
    const end = await settled(start.sent + requests)
    const [v1After, v2After] = [await inbound(two, 'web-v1-sidecar-proxy'), await inbound(three, 'web-v2-sidecar-proxy')]
    const result: StepResult = {
      dir,
      weight,
      switchMs,
      v1: v1After - v1Before,
      v2: v2After - v2Before,
      bodyV1: (end.byVersion.v1 ?? 0) - (start.byVersion.v1 ?? 0),
      bodyV2: (end.byVersion.v2 ?? 0) - (start.byVersion.v2 ?? 0),
      tolerance: toleranceOf(weight, v1After - v1Before + v2After - v2Before),
      failedDuringStep: end.failed - failedBefore,
    }
    const n = result.v1 + result.v2
    results.push(result)
    say(`step ${weight} %: in effect after ${switchMs.toFixed(0)} ms; next ${n} requests: v1 ${result.v1}, v2 ${result.v2} ` +
      `= ${share(result).toFixed(1)} % to v2 (bodies: v1 ${result.bodyV1}, v2 ${result.bodyV2}); failed so far ${end.failed}`)
  }
  const last = await control('stop')
  const final = await settled(last.sent)
  const sidecarFailures = await outboundFailures() - failuresBefore
  const { text, code } = summary(results, final, sidecarFailures, requests)
  process.stdout.write(text)
  return code
}

let code = 1
try {
  code = await main()
} catch (error) {
  if (!interrupted) process.stderr.write(`canary demo failed: ${(error as Error).message}\n`)
} finally {
  await cleanup()
}
process.exit(interrupted ? 130 : code)
