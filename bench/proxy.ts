// Races the mesh sidecar pair against the nginx mTLS pair of /work/shared/anchors/nginx-mtls-pair.conf
// and against the app directly, in one run on one machine:
//   client → [outbound sidecar → mTLS → inbound sidecar] → app (node http server, small GET)
// Figures: added latency p50/p99 at a fixed 1,000 requests/s (hey -q 100 -c 10), maximum
// throughput (wrk -c16), CPU and peak RSS per proxy process, CPU per request (the processes' /proc
// CPU time divided by the requests answered: the figure least moved by other load on the machine),
// and the latency of one sequential keep-alive connection at 300 requests/s (hey -c 1), which shows
// the per-request path without the queueing of a burst. The app and every sidecar run in
// their own child process (this file re-run in a child role): the app in one, the sidecar pair
// in another, as the anchor's single nginx worker serves both of its servers.
// Usage: npm run bench:proxy [-- --seconds 10 --out docs/benchmarks/proxy.md --only direct|nginx|mesh --workers N]

import { execFile, execFileSync, fork, spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { createServer as createNetServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { ProxySnapshot } from '../proxy/snapshot.ts'

const TRUST_DOMAIN = '11111111-2222-3333-4444-555555555555.consul'
const spiffe = (service: string): string => `spiffe://${TRUST_DOMAIN}/ns/default/dc/dc1/svc/${service}`
const ANCHOR_CONF = '/work/shared/anchors/nginx-mtls-pair.conf'
const NGINX = '/usr/sbin/nginx'
const SELF = fileURLToPath(import.meta.url)
/** V8 heap caps for a sidecar process (docs/proxy.md, "Running standalone"): bound RSS at a small CPU cost. */
// The flag the `mesh` command starts Node with (cli/mesh.mjs), so the pair runs as `mesh proxy` would.
const SIDECAR_NODE_FLAGS = (process.env.MESH_BENCH_SIDECAR_FLAGS ?? '--max-semi-space-size=1').split(' ').filter(Boolean)

// ---------------------------------------------------------------------------------------------
// Child roles: the app, and one sidecar per process.

interface ChildConfig {
  role: 'app' | 'sidecar-pair'
  appPort?: number
  dir?: string
  /** With --workers N: the ports every worker's pair binds with reusePort (outbound, inbound). */
  shared?: { outboundPort: number, inboundPort: number }
}

async function runChild (config: ChildConfig): Promise<void> {
  // The parent went away (crashed or killed): nothing else would stop this child.
  process.on('disconnect', () => { process.exit(0) })
  if (config.role === 'app') {
    const body = Buffer.from('{"ok":true,"service":"api"}')
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length })
      res.end(body)
    })
    server.keepAliveTimeout = 60_000
    server.listen(0, '127.0.0.1', () => { process.send!({ port: (server.address() as AddressInfo).port }) })
    return
  }
  const { startSidecar } = await import('../proxy/sidecar.ts')
  const dir = config.dir!
  const read = (name: string): string => readFileSync(join(dir, name), 'utf8')
  const shared = config.shared
  const snapshot = (service: string, leaf: string, upstreamPort?: number): ProxySnapshot => ({
    proxyId: `${service}-sidecar-proxy`,
    serviceName: service,
    trustDomain: TRUST_DOMAIN,
    datacenter: 'dc1',
    tls: { certChainPem: read(`${leaf}.crt`), keyPem: read(`${leaf}.key`), rootsPem: [read('ca.crt')] },
    inbound: { bindAddress: '127.0.0.1', bindPort: upstreamPort === undefined ? shared?.inboundPort ?? 0 : 0, localServiceAddress: '127.0.0.1', localServicePort: config.appPort!, protocol: 'http' },
    upstreams: upstreamPort === undefined
      ? []
      : [{
          destinationName: 'api',
          localBindAddress: '127.0.0.1',
          localBindPort: shared?.outboundPort ?? 0,
          protocol: 'http',
          endpoints: [{ id: 'api-1', address: '127.0.0.1', port: upstreamPort, spiffeId: spiffe('api'), weight: 1 }],
          connectTimeoutMs: 1000,
          requestTimeoutMs: 15_000
        }],
    authorize: () => ({ allowed: true, reason: 'bench' })
  })
  // The pair in one process, as the anchor's one nginx worker serves both of its servers.
  const reusePort = shared !== undefined
  const inbound = await startSidecar({ snapshot: snapshot('api', 'server'), reusePort })
  const outbound = await startSidecar({ snapshot: snapshot('web', 'client', inbound.ports().inbound), reusePort })
  // MESH_BENCH_HEAP_PROF=<file>: a sampling heap profile of everything allocated, collected
  // objects included (node's --heap-prof keeps only what is still alive at exit), to find what
  // the GC spends its time on.
  const heapProfile = process.env.MESH_BENCH_HEAP_PROF
  const session = heapProfile === undefined ? null : new (await import('node:inspector')).Session()
  const post = (method: string, params?: object): Promise<unknown> => new Promise((resolve, reject) => {
    session!.post(method, params ?? {}, (error, result) => { if (error !== null) reject(error); else resolve(result) })
  })
  if (session !== null) {
    session.connect()
    await post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true })
  }
  process.send!({ outboundPort: outbound.ports().upstreams.api })
  process.on('message', () => {
    void (async () => {
      if (session !== null) {
        const { profile } = await post('HeapProfiler.stopSampling') as { profile: unknown }
        writeFileSync(heapProfile!, JSON.stringify(profile))
      }
      await Promise.all([outbound.stop({ drainMs: 100 }), inbound.stop({ drainMs: 100 })])
      process.exit(0)
    })()
  })
}

// ---------------------------------------------------------------------------------------------
// Parent: PKI, processes, load generators, measurements.

function openssl (dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] })
}

/** CA plus server (api) and client (web) leaves with a SPIFFE URI and DNS:localhost (nginx checks the name). */
function makePki (dir: string): void {
  openssl(dir, ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'ca.key'])
  openssl(dir, ['req', '-x509', '-new', '-key', 'ca.key', '-subj', '/CN=bench-root', '-days', '2', '-out', 'ca.crt',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'])
  for (const [name, service] of [['server', 'api'], ['client', 'web']] as const) {
    openssl(dir, ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', `${name}.key`])
    openssl(dir, ['req', '-new', '-key', `${name}.key`, '-subj', `/CN=${service}`, '-out', `${name}.csr`])
    writeFileSync(join(dir, `${name}.ext`), `basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=URI:${spiffe(service)},DNS:localhost\n`)
    openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-set_serial', String(Date.now()), '-days', '2', '-extfile', `${name}.ext`, '-out', `${name}.crt`])
  }
}

function freePort (): Promise<number> {
  return new Promise((resolve) => {
    const server = createNetServer()
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as AddressInfo).port
      server.close(() => { resolve(port) })
    })
  })
}

function startChild<T> (config: ChildConfig): Promise<{ child: ChildProcess, info: T }> {
  // MESH_BENCH_CPU_PROF=<dir> writes a CPU profile of every sidecar child, to find hot spots.
  const profileDir = process.env.MESH_BENCH_CPU_PROF
  const execArgv = config.role === 'sidecar-pair' ? [...SIDECAR_NODE_FLAGS, ...(process.env.MESH_BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean)] : []
  if (config.role === 'sidecar-pair' && profileDir !== undefined) execArgv.push('--cpu-prof', '--cpu-prof-dir', profileDir)
  const child = fork(SELF, ['--child', JSON.stringify(config)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv })
  return new Promise((resolve, reject) => {
    child.once('message', (info) => { resolve({ child, info: info as T }) })
    child.once('exit', (code) => { reject(new Error(`${config.role} child exited with ${code}`)) })
  })
}

async function startNginx (dir: string, appPort: number): Promise<{ child: ChildProcess, outboundPort: number, workerPid: () => number }> {
  const inboundPort = await freePort()
  const outboundPort = await freePort()
  const conf = readFileSync(ANCHOR_CONF, 'utf8')
    .replaceAll('127.0.0.1:9000', `127.0.0.1:${appPort}`)
    .replaceAll('127.0.0.1:9443', `127.0.0.1:${inboundPort}`)
    .replace('listen 9443 ssl', `listen 127.0.0.1:${inboundPort} ssl`)
    .replace('listen 9001;', `listen 127.0.0.1:${outboundPort};`)
  writeFileSync(join(dir, 'nginx.conf'), conf)
  // Workers drop to an unprivileged user: let them read the certificates and keys.
  chmodSync(dir, 0o755)
  for (const name of ['ca.crt', 'server.crt', 'server.key', 'client.crt', 'client.key']) chmodSync(join(dir, name), 0o644)
  const child = spawn(NGINX, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;'], { stdio: ['ignore', 'inherit', 'inherit'] })
  const failed = new Promise<never>((_resolve, reject) => { child.once('error', reject) })
  failed.catch(() => {})
  const workerPid = (): number => Number(readFileSync(`/proc/${child.pid!}/task/${child.pid!}/children`, 'utf8').trim().split(/\s+/)[0])
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null || child.pid === undefined) await failed
    try {
      if (workerPid() > 0) {
        await waitForHttp(outboundPort)
        return { child, outboundPort, workerPid }
      }
    } catch {}
    await new Promise((resolve) => { setTimeout(resolve, 50) })
  }
  throw new Error('nginx did not start')
}

function waitForHttp (port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('curl', ['-sf', '-o', '/dev/null', '--retry', '20', '--retry-connrefused', '--retry-delay', '0', `http://127.0.0.1:${port}/`], (error) => {
      if (error === null) resolve()
      else reject(error)
    })
  })
}

interface ProcessSample { cpuTicks: number, kernelTicks: number, atMs: number }

function sampleCpu (pid: number): ProcessSample {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
  return { cpuTicks: Number(fields[11]) + Number(fields[12]), kernelTicks: Number(fields[12]), atMs: performance.now() }
}

/** CPU used between two samples, in % of one core (USER_HZ = 100 on Linux). */
function cpuPercent (before: ProcessSample, after: ProcessSample): number {
  return (after.cpuTicks - before.cpuTicks) * 10 / (after.atMs - before.atMs) * 100
}

function peakRssMb (pid: number): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return Number(match?.[1] ?? 0) / 1024
}

function run (command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { maxBuffer: 16 * 1024 * 1024 }, (error, stdout) => {
      if (error !== null) reject(error)
      else resolve(stdout)
    })
  })
}

interface FixedRate { p50Ms: number, p99Ms: number, rps: number, errors: number, requests: number }

/** `hey -z <seconds>s -q <perWorker> -c <workers>`: a fixed rate of perWorker × workers requests/s. */
async function hey (port: number, seconds: number, workers = 10, perWorker = 100): Promise<FixedRate> {
  const out = await run('hey', ['-z', `${seconds}s`, '-q', String(perWorker), '-c', String(workers), `http://127.0.0.1:${port}/`])
  const pick = (re: RegExp): number => Number(re.exec(out)?.[1] ?? NaN)
  const statuses = [...out.matchAll(/\[(\d+)\]\s+(\d+) responses/g)]
  const non200 = statuses.filter((m) => m[1] !== '200').reduce((sum, m) => sum + Number(m[2]), 0)
  const errorSection = out.split('Error distribution:')[1] ?? ''
  const transportErrors = [...errorSection.matchAll(/^\s+\[(\d+)\]/gm)].reduce((sum, m) => sum + Number(m[1]), 0)
  const requests = statuses.reduce((sum, m) => sum + Number(m[2]), 0)
  return { p50Ms: pick(/50% in ([\d.]+) secs/) * 1000, p99Ms: pick(/99% in ([\d.]+) secs/) * 1000, rps: pick(/Requests\/sec:\s+([\d.]+)/), errors: non200 + transportErrors, requests }
}

async function wrk (port: number, seconds: number): Promise<{ rps: number, non2xx: number, requests: number }> {
  const out = await run('wrk', ['-t2', '-c16', `-d${seconds}s`, `http://127.0.0.1:${port}/`])
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN),
    non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0),
    requests: Number(/(\d+) requests in/.exec(out)?.[1] ?? NaN)
  }
}

interface PathResult {
  name: string
  fixed: FixedRate
  maxRps: number
  /** One keep-alive connection, one request at a time, 300 requests/s. */
  sequential: FixedRate
  /** CPU of all the path's processes per answered request, in µs: at 1k requests/s and at the maximum; `maxKernel` the kernel's part at the maximum. */
  cpuUsPerRequest: { fixed: number, max: number, maxKernel: number }
  processes: Array<{ name: string, cpuAtFixedRate: number, cpuAtMax: number, peakRssMb: number }>
}

/** CPU seconds (ticks of 10 ms) between two samples of every process, per request, in µs. */
function cpuPerRequestUs (before: ProcessSample[], after: ProcessSample[], requests: number, field: 'cpuTicks' | 'kernelTicks' = 'cpuTicks'): number {
  let ticks = 0
  for (let i = 0; i < before.length; i++) ticks += after[i]![field] - before[i]![field]
  return requests > 0 ? ticks * 10_000 / requests : NaN
}

async function measure (name: string, port: number, pids: Array<{ name: string, pid: () => number }>, seconds: number): Promise<PathResult> {
  await wrk(port, 2)
  const before = pids.map((p) => sampleCpu(p.pid()))
  const fixed = await hey(port, seconds)
  const afterFixed = pids.map((p) => sampleCpu(p.pid()))
  const max = await wrk(port, seconds)
  const afterMax = pids.map((p) => sampleCpu(p.pid()))
  if (max.non2xx > 0) fixed.errors += max.non2xx
  const sequential = await hey(port, Math.max(2, Math.round(seconds / 2)), 1, 300)
  return {
    name,
    fixed,
    maxRps: max.rps,
    sequential,
    cpuUsPerRequest: { fixed: cpuPerRequestUs(before, afterFixed, fixed.requests), max: cpuPerRequestUs(afterFixed, afterMax, max.requests), maxKernel: cpuPerRequestUs(afterFixed, afterMax, max.requests, 'kernelTicks') },
    processes: pids.map((p, i) => ({
      name: p.name,
      cpuAtFixedRate: cpuPercent(before[i]!, afterFixed[i]!),
      cpuAtMax: cpuPercent(afterFixed[i]!, afterMax[i]!),
      peakRssMb: peakRssMb(p.pid())
    }))
  }
}

function stopChild (child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve()
    child.once('exit', () => { resolve() })
    if (child.connected) child.send('stop')
    else child.kill('SIGTERM')
    setTimeout(() => { child.kill('SIGKILL') }, 2000).unref()
  })
}

function table (results: PathResult[]): string {
  const direct = results.find((r) => r.name === 'direct')!
  const nginx = results.find((r) => r.name === 'nginx pair')!
  const added = (r: PathResult, key: 'p50Ms' | 'p99Ms'): number => Math.max(0, r.fixed[key] - direct.fixed[key])
  const ratio = (a: number, b: number): string => b > 0 ? `${(a / b).toFixed(2)}×` : `n/a (nginx added ${b.toFixed(2)}; mesh ${a.toFixed(2)})`
  const lines = [
    '| path | p50 at 1k rps | p99 at 1k rps | added p50 | added p99 | achieved rps | errors | max rps (wrk -c16) | CPU per process at 1k rps | CPU at max | peak RSS per process |',
    '|---|---|---|---|---|---|---|---|---|---|---|'
  ]
  for (const r of results) {
    const procs = (f: (p: PathResult['processes'][number]) => string): string => r.processes.map((p) => `${p.name} ${f(p)}`).join(', ') || '—'
    lines.push(`| ${r.name} | ${r.fixed.p50Ms.toFixed(2)} ms | ${r.fixed.p99Ms.toFixed(2)} ms | ${r.name === 'direct' ? '—' : added(r, 'p50Ms').toFixed(2) + ' ms'} | ${r.name === 'direct' ? '—' : added(r, 'p99Ms').toFixed(2) + ' ms'} | ${r.fixed.rps.toFixed(0)} | ${r.fixed.errors} | ${r.maxRps.toFixed(0)} | ${procs((p) => p.cpuAtFixedRate.toFixed(0) + ' %')} | ${procs((p) => p.cpuAtMax.toFixed(0) + ' %')} | ${procs((p) => p.peakRssMb.toFixed(0) + ' MB')} |`)
  }
  const seqAdded = (r: PathResult, key: 'p50Ms' | 'p99Ms'): number => Math.max(0, r.sequential[key] - direct.sequential[key])
  lines.push('')
  lines.push('| path | CPU per request at 1k rps | CPU per request at max (kernel part) | sequential p50 (hey -c 1 -q 300) | sequential p99 | added sequential p50 | added sequential p99 | sequential errors |')
  lines.push('|---|---|---|---|---|---|---|---|')
  for (const r of results) {
    const dash = r.name === 'direct'
    lines.push(`| ${r.name} | ${r.cpuUsPerRequest.fixed.toFixed(0)} µs | ${r.cpuUsPerRequest.max.toFixed(0)} µs (${r.cpuUsPerRequest.maxKernel.toFixed(0)} µs) | ${r.sequential.p50Ms.toFixed(2)} ms | ${r.sequential.p99Ms.toFixed(2)} ms | ${dash ? '—' : seqAdded(r, 'p50Ms').toFixed(2) + ' ms'} | ${dash ? '—' : seqAdded(r, 'p99Ms').toFixed(2) + ' ms'} | ${r.sequential.errors} |`)
  }
  const mesh = results.find((r) => r.name.startsWith('mesh pair'))!
  lines.push('')
  lines.push('| mesh vs nginx | value | target |')
  lines.push('|---|---|---|')
  lines.push(`| CPU per request at max | ${ratio(mesh.cpuUsPerRequest.max, nginx.cpuUsPerRequest.max)} | ≤ 2× |`)
  lines.push(`| CPU per request at 1k rps | ${ratio(mesh.cpuUsPerRequest.fixed, nginx.cpuUsPerRequest.fixed)} | ≤ 2× |`)
  lines.push(`| added latency p50 | ${ratio(added(mesh, 'p50Ms'), added(nginx, 'p50Ms'))} | ≤ 1.5× |`)
  lines.push(`| added latency p99 | ${ratio(added(mesh, 'p99Ms'), added(nginx, 'p99Ms'))} | ≤ 2× |`)
  lines.push(`| added sequential latency p50 | ${ratio(seqAdded(mesh, 'p50Ms'), seqAdded(nginx, 'p50Ms'))} | — |`)
  lines.push(`| added sequential latency p99 | ${ratio(seqAdded(mesh, 'p99Ms'), seqAdded(nginx, 'p99Ms'))} | — |`)
  lines.push(`| max throughput | ${ratio(mesh.maxRps, nginx.maxRps)} | ≥ 0.75× |`)
  lines.push(`| peak RSS per sidecar (pair process ÷ 2) | ${(mesh.processes[0]!.peakRssMb / 2).toFixed(0)} MB | ≤ 60 MB |`)
  return lines.join('\n')
}

async function main (): Promise<void> {
  const args = process.argv.slice(2)
  const option = (name: string, fallback: string): string => {
    const index = args.indexOf(`--${name}`)
    return index >= 0 ? args[index + 1]! : fallback
  }
  const seconds = Number(option('seconds', '10'))
  const out = option('out', '')
  const dir = mkdtempSync(join(tmpdir(), 'mesh-bench-proxy-'))
  const children: ChildProcess[] = []
  try {
    makePki(dir)
    const app = await startChild<{ port: number }>({ role: 'app' })
    children.push(app.child)
    // --workers N: N processes each run the pair on the same ports (reusePort), as nginx's workers share its listeners.
    const workers = Number(option('workers', '1'))
    const shared = workers > 1 ? { outboundPort: await freePort(), inboundPort: await freePort() } : undefined
    const pairs: Array<Awaited<ReturnType<typeof startChild<{ outboundPort: number }>>>> = []
    for (let i = 0; i < workers; i++) {
      const pair = await startChild<{ outboundPort: number }>({ role: 'sidecar-pair', appPort: app.info.port, dir, ...(shared === undefined ? {} : { shared }) })
      children.push(pair.child)
      pairs.push(pair)
    }
    const pair = pairs[0]!
    const nginx = await startNginx(dir, app.info.port)
    children.push(nginx.child)
    const loadBefore = loadavg()[0]!
    const results: PathResult[] = []
    const only = option('only', '')
    if (only === '' || only === 'direct') results.push(await measure('direct', app.info.port, [{ name: 'app', pid: () => app.child.pid! }], seconds))
    if (only === '' || only === 'nginx') results.push(await measure('nginx pair', nginx.outboundPort, [{ name: 'nginx worker', pid: nginx.workerPid }], seconds))
    const pairPids = pairs.map((p, i) => ({ name: workers > 1 ? `worker ${i + 1}` : 'sidecar pair', pid: () => p.child.pid! }))
    if (only === '' || only === 'mesh') results.push(await measure(workers > 1 ? `mesh pair, ${workers} workers` : 'mesh pair', pair.info.outboundPort, pairPids, seconds))
    const loadAfter = loadavg()[0]!
    const report = [
      '# Proxy benchmark: mesh sidecar pair vs the nginx mTLS pair',
      '',
      'Written by `npm run bench:proxy -- --out docs/benchmarks/proxy.md` (bench/proxy.ts). One run, one machine:',
      'app (node http server, small GET, keep-alive) reached directly, through the nginx pair of',
      '`/work/shared/anchors/nginx-mtls-pair.conf` (one worker serving both servers), and through the mesh',
      'pair (outbound sidecar → mTLS → inbound sidecar, both in one Node process, as nginx\'s one worker;',
      `Node flags ${SIDECAR_NODE_FLAGS.join(' ') || 'none'}). Fixed rate: \`hey -z ${seconds}s -q 100 -c 10\` (1,000 requests/s);`,
      `maximum: \`wrk -t2 -c16 -d${seconds}s\`; sequential: \`hey -c 1 -q 300\` for ${Math.max(2, Math.round(seconds / 2))} s. Added latency = path − direct at the same percentile. CPU in % of one core,`,
      'from /proc; CPU per request = CPU time of the path\'s processes ÷ requests answered; peak RSS is VmHWM.',
      'The machine is shared: compare ratios within this run, not across runs; CPU per request moves least.',
      '',
      `Run ${new Date().toISOString()}, Node ${process.version}, ${seconds} s per measurement, load average ${loadBefore.toFixed(1)} → ${loadAfter.toFixed(1)} on ${String(execFileSync('nproc')).trim()} cores.`,
      '',
      only === '' ? table(results) : JSON.stringify(results, null, 1)
    ].join('\n')
    console.log(report)
    if (out !== '') writeFileSync(out, report + '\n')
  } finally {
    for (const child of children.reverse()) await stopChild(child)
    rmSync(dir, { recursive: true, force: true })
  }
}

const childIndex = process.argv.indexOf('--child')
if (childIndex >= 0) await runChild(JSON.parse(process.argv[childIndex + 1]!) as ChildConfig)
else await main()
