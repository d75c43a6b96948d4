// TLS reconnection churn benchmark (`npm run bench:tls-churn`): the native memory a TLS server
// keeps per completed handshake. A child process runs a bare node:tls server with the options of
// a sidecar's inbound listener (proxy/inbound.ts: mesh leaf, roots, requestCert,
// rejectUnauthorized, ALPN h2 and http/1.1); this process opens and closes BENCH_TLS_HANDSHAKES
// connections to it, 200 at a time: with a client certificate (full handshakes, and resuming the
// last TLS 1.3 session ticket), without one, and with the server asking for the peer's
// X509Certificate once per connection (see docs/reliability.md, "Listeners"). The child's RSS is
// read from /proc after a forced full GC, after a warm-up of 2,000 handshakes and at the end, so
// what is left is native memory the JS heap no longer references. Prints a Markdown table and
// writes docs/benchmarks/tls-churn.md.
//
// BENCH_TLS_NODE runs the server on another node binary (the server is plain JavaScript) to
// compare node releases; the child inherits the environment, so run it with the unit's
// LD_PRELOAD=libjemalloc.so.2 and MALLOC_CONF to measure as dist/mesh.service runs the agent.

import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { connect } from 'node:tls'
import { createIssuer, createRoot, issueLeaf } from '../ca/profiles.ts'
import { serviceSpiffeId } from '../ca/spiffe.ts'

const ADDRESS = '127.0.0.111'
const TRUST_DOMAIN = '11111111-2222-3333-4444-555555555555.consul'
const HANDSHAKES = Number(process.env.BENCH_TLS_HANDSHAKES ?? 12000)
// The first few thousand handshakes grow any server's RSS (allocator arenas, caches): measured after.
const WARM_UP = 4000
const PARALLEL = 200
const SERVER_NODE = process.env.BENCH_TLS_NODE ?? process.execPath

if (!Number.isInteger(HANDSHAKES) || HANDSHAKES <= WARM_UP) throw new Error(`BENCH_TLS_HANDSHAKES must be an integer above ${WARM_UP}`)

// The server, as plain JavaScript so any node release can run it.
const SERVER = `
import { createServer } from 'node:tls'
import { readFileSync } from 'node:fs'
process.once('message', ({ callPeerX509, ...options }) => {
  const server = createServer(options)
  server.on('secureConnection', (socket) => {
    socket.getPeerCertificate()
    if (callPeerX509) socket.getPeerX509Certificate()
    socket.on('error', () => {})
  })
  server.on('tlsClientError', () => {})
  server.listen(0, '${ADDRESS}', () => { process.send({ port: server.address().port }) })
  process.on('message', () => {
    globalThis.gc()
    setTimeout(() => {
      globalThis.gc()
      const status = readFileSync('/proc/self/status', 'utf8')
      const maps = readFileSync('/proc/self/maps', 'utf8')
      const memory = process.memoryUsage()
      process.send({ rssKb: Number(/VmRSS:\\s+(\\d+)/.exec(status)[1]), heapUsed: memory.heapUsed, external: memory.external, jemalloc: maps.includes('libjemalloc') })
    }, 2000)
  })
})
`

interface Sample { rssKb: number, heapUsed: number, external: number, jemalloc: boolean }
interface Leaf { cert: string, key: string }

interface Result {
  variant: string
  version: string
  jemalloc: boolean
  warmRssMb: number
  endRssMb: number
  bytesPerHandshake: number
  heapUsedMb: [number, number]
}

function request<T> (child: ChildProcess, message: unknown): Promise<T> {
  return new Promise((resolve) => {
    child.once('message', (answer) => { resolve(answer as T) })
    child.send(message as never)
  })
}

async function churn (port: number, count: number, roots: string[], client: Leaf | undefined, resume: boolean): Promise<number> {
  let failed = 0
  let session: Buffer | undefined
  const one = (): Promise<void> => new Promise((resolve) => {
    const socket = connect({
      host: ADDRESS, port, ca: roots, ...client, ALPNProtocols: ['http/1.1'], checkServerIdentity: () => undefined, session: resume ? session : undefined
    }, () => { setTimeout(() => { socket.destroy(); resolve() }, 5) })
    // TLS 1.3 tickets arrive after the handshake: the short wait above lets them in.
    socket.on('session', (ticket: Buffer) => { session = ticket })
    socket.once('error', () => { failed++; resolve() })
  })
  for (let done = 0; done < count;) {
    const batch: Array<Promise<void>> = []
    for (; batch.length < PARALLEL && done < count; done++) batch.push(one())
    await Promise.all(batch)
  }
  return failed
}

async function measure (variant: string, options: Record<string, unknown>, roots: string[], client: Leaf | undefined, resume = false): Promise<Result> {
  const child = spawn(SERVER_NODE, ['--expose-gc', '--input-type=module', '-e', SERVER], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  try {
    const { port } = await request<{ port: number }>(child, options)
    const version = (await new Promise<string>((resolve) => {
      const probe = spawn(SERVER_NODE, ['-e', 'process.send(process.version + " (OpenSSL " + process.versions.openssl + ")")'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
      probe.once('message', (text) => { probe.kill(); resolve(String(text)) })
    }))
    let failed = await churn(port, WARM_UP, roots, client, resume)
    const warm = await request<Sample>(child, 'sample')
    failed += await churn(port, HANDSHAKES - WARM_UP, roots, client, resume)
    const end = await request<Sample>(child, 'sample')
    if (failed > 0) throw new Error(`${variant}: ${failed} of ${HANDSHAKES} handshakes failed`)
    return {
      variant,
      version,
      jemalloc: end.jemalloc,
      warmRssMb: warm.rssKb / 1024,
      endRssMb: end.rssKb / 1024,
      bytesPerHandshake: (end.rssKb - warm.rssKb) * 1024 / (HANDSHAKES - WARM_UP),
      heapUsedMb: [warm.heapUsed / 1048576, end.heapUsed / 1048576]
    }
  } finally {
    child.kill()
  }
}

async function main (): Promise<void> {
  const nowMs = Date.now()
  const root = createRoot({ trustDomain: TRUST_DOMAIN, nowMs })
  const issuer = createIssuer(root.certPem, root.privateKeyPem)
  const leafFor = (service: string): Leaf => {
    const leaf = issueLeaf(issuer, { spiffeId: serviceSpiffeId(TRUST_DOMAIN, 'dc1', service), commonName: service, nowMs })
    return { cert: leaf.certPem, key: leaf.privateKeyPem }
  }
  const server = leafFor('api')
  const client = leafFor('web')
  const roots = [root.certPem]
  const inbound = { ...server, ca: roots, ALPNProtocols: ['h2', 'http/1.1'] }
  const results = [
    await measure('mutual TLS (the inbound listener\'s options)', { ...inbound, requestCert: true, rejectUnauthorized: true }, roots, client),
    await measure('mutual TLS, the client resuming its last session ticket', { ...inbound, requestCert: true, rejectUnauthorized: true }, roots, client, true),
    await measure('server-only TLS (requestCert: false)', { ...inbound, requestCert: false, rejectUnauthorized: false }, roots, undefined),
    // What node 24's tls server does itself after every mutual handshake (onServerSocketSecure asks
    // for the peer's X509Certificate): on a release that does not, this shows the cost of that one call.
    await measure('mutual TLS, the server calling getPeerX509Certificate() once per connection', { ...inbound, requestCert: true, rejectUnauthorized: true, callPeerX509: true }, roots, client)
  ]
  const rows = results.map((r) => `| ${r.variant} | ${r.version} | ${r.jemalloc ? 'jemalloc' : 'glibc'} | ${r.warmRssMb.toFixed(1)} → ${r.endRssMb.toFixed(1)} MB | ${(r.bytesPerHandshake / 1024).toFixed(2)} KB | ${r.heapUsedMb[0].toFixed(1)} → ${r.heapUsedMb[1].toFixed(1)} MB |`)
  const table = [
    `${HANDSHAKES.toLocaleString('en')} handshakes (RSS after a warm-up of ${WARM_UP.toLocaleString('en')} and at the end, each after a forced full GC):`,
    '',
    '| server | node | allocator | RSS | per handshake | JS heap used |',
    '|---|---|---|---|---|---|',
    ...rows
  ].join('\n')
  console.log(table)
  const path = new URL('../docs/benchmarks/tls-churn.md', import.meta.url)
  let previous = ''
  try { previous = readFileSync(path, 'utf8') } catch { /* first run */ }
  const header = '# TLS reconnection churn\n\n`npm run bench:tls-churn` (bench/tls-churn.ts); see docs/reliability.md, "Listeners".\n'
  writeFileSync(path, `${previous === '' ? header : previous.trimEnd() + '\n'}\n## ${new Date(nowMs).toISOString()}\n\n${table}\n`)
}

await main()
