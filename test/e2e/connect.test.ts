// The mesh end to end across three agents (127.0.0.1-3): one CA everywhere; `web` on B calls `api`
// (instances on A and C) through its sidecar with mTLS; an api agent killed under a steady request
// loop costs no request; intentions made on one agent are enforced on the others, at L4 by
// `mesh intentions deny` and at L7 by path, method and header; clients without a mesh certificate
// are refused at the handshake.

import t from 'tap'
import { spawn } from 'node:child_process'
import { createServer } from 'node:http'
import type { Server } from 'node:http'
import { connect, createServer as createTlsServer } from 'node:tls'
import { Cluster, freePort, http, members, waitFor } from './harness.ts'
import type { AgentProcess } from './harness.ts'
import { createRoot, createIssuer, issueLeaf } from '../../ca/profiles.ts'

const MESH = new URL('../../cli/mesh.mjs', import.meta.url).pathname

async function app (name: string, address: string): Promise<{ server: Server, port: number }> {
  const server = createServer((request, response) => {
    response.setHeader('content-type', 'text/plain')
    response.end(`${name} ${request.method} ${request.url} from=${String(request.headers['x-mesh-source'])}`)
  })
  await new Promise<void>((resolve) => server.listen(0, address, resolve))
  return { server, port: (server.address() as { port: number }).port }
}

async function call (port: number, path = '/', init: RequestInit = {}): Promise<{ status: number, body: string }> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, { ...init, signal: AbortSignal.timeout(10_000) })
  return { status: response.status, body: await response.text() }
}

async function mesh (agent: AgentProcess, ...args: string[]): Promise<{ code: number | null, stdout: string }> {
  const child = spawn(process.execPath, [MESH, ...args, '--http-addr', agent.httpUrl], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  return { code, stdout }
}

async function handshake (port: number, host: string, options: { cert?: string, key?: string }): Promise<'ok' | string> {
  return await new Promise((resolve) => {
    const socket = connect({ host, port, rejectUnauthorized: false, ...options })
    socket.once('secureConnect', () => {
      // TLS 1.3 reports a refused client certificate after the handshake: wait for the first read.
      socket.once('data', () => { socket.destroy(); resolve('ok') })
      socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n')
    })
    socket.once('error', (error) => resolve(error.message))
    socket.once('close', () => resolve('closed'))
    socket.setTimeout(5000, () => { socket.destroy(); resolve('timeout') })
  })
}

t.test('mTLS mesh across three agents', async (t) => {
  const cluster = new Cluster()
  const apps: Server[] = []
  t.teardown(async () => {
    for (const server of apps) server.close()
    await cluster.cleanup()
  })
  const a = await cluster.start({ name: 'xa', bindAddress: '127.0.0.1' })
  const b = await cluster.start({ name: 'xb', bindAddress: '127.0.0.2', join: [a.gossipAddr] })
  const c = await cluster.start({ name: 'xc', bindAddress: '127.0.0.3', join: [a.gossipAddr] })
  for (const agent of [a, b, c]) await waitFor(`${agent.name} membership`, async () => (await members(agent)).length === 3)

  // One CA, everywhere.
  const roots = await Promise.all([a, b, c].map(async (agent) => await waitFor(`${agent.name} roots`, async () => {
    const response = await http(agent, 'GET', '/v1/connect/ca/roots')
    return response.status === 200 ? response.body as { ActiveRootID: string, TrustDomain: string, Roots: Array<{ RootCert: string }> } : undefined
  })))
  t.equal(new Set(roots.map((root) => root.ActiveRootID)).size, 1, 'the same active root on every agent')
  t.equal(new Set(roots.map((root) => root.TrustDomain)).size, 1, 'the same trust domain on every agent')

  const api1 = await app('api-1', '127.0.0.1')
  const api2 = await app('api-2', '127.0.0.3')
  apps.push(api1.server, api2.server)
  const upstreamPort = await freePort()
  t.equal((await http(a, 'PUT', '/v1/config', { Kind: 'service-defaults', Name: 'api', Protocol: 'http' })).status, 200)
  t.equal((await http(a, 'PUT', '/v1/agent/service/register', { Name: 'api', ID: 'api-1', Port: api1.port, Connect: { SidecarService: {} } })).status, 200)
  t.equal((await http(c, 'PUT', '/v1/agent/service/register', { Name: 'api', ID: 'api-2', Address: '127.0.0.3', Port: api2.port, Connect: { SidecarService: { Proxy: { LocalServiceAddress: '127.0.0.3' } } } })).status, 200)
  t.equal((await http(b, 'PUT', '/v1/agent/service/register', { Name: 'web', Port: 1, Connect: { SidecarService: { Proxy: { Upstreams: [{ DestinationName: 'api', LocalBindPort: upstreamPort }] } } } })).status, 200)

  const seen = new Set<string>()
  await waitFor('web to reach both api instances', async () => {
    const answer = await call(upstreamPort, '/hello').catch(() => undefined)
    if (answer?.status === 200) seen.add(answer.body.split(' ')[0])
    return seen.size === 2
  }, 60_000, 100)
  const sample = await call(upstreamPort, '/hello')
  t.match(sample.body, /^api-\d GET \/hello from=web$/, 'the app sees the caller identity from the client certificate')

  // A leaf issued by B verifies against the roots read from C: a real mutual handshake.
  const leaf = (await http(b, 'GET', '/v1/agent/connect/ca/leaf/web')).body as { CertPEM: string, PrivateKeyPEM: string }
  const tlsServer = createTlsServer({ cert: leaf.CertPEM, key: leaf.PrivateKeyPEM }, (socket) => socket.end('ok'))
  await new Promise<void>((resolve) => tlsServer.listen(0, '127.0.0.1', resolve))
  const verified = await new Promise<boolean>((resolve) => {
    const socket = connect({ port: (tlsServer.address() as { port: number }).port, host: '127.0.0.1', ca: roots[2].Roots.map((root) => root.RootCert), checkServerIdentity: () => undefined })
    socket.once('secureConnect', () => { resolve(socket.authorized); socket.destroy() })
    socket.once('error', () => resolve(false))
  })
  tlsServer.close()
  t.ok(verified, 'a leaf from B verifies against the roots from C')

  // Clients without a mesh certificate are refused at the handshake.
  const apiSidecar = ((await http(a, 'GET', '/v1/agent/service/api-1-sidecar-proxy')).body as { Port: number }).Port
  t.not(await handshake(apiSidecar, '127.0.0.1', {}), 'ok', 'a client with no certificate is refused')
  const foreignRoot = createRoot({ trustDomain: '11111111-2222-3333-4444-555555555555.consul', nowMs: Date.now() })
  const foreign = issueLeaf(createIssuer(foreignRoot.certPem, foreignRoot.privateKeyPem), {
    spiffeId: 'spiffe://11111111-2222-3333-4444-555555555555.consul/ns/default/dc/dc1/svc/web', commonName: 'web', nowMs: Date.now(),
  })
  t.not(await handshake(apiSidecar, '127.0.0.1', { cert: foreign.certPem, key: foreign.privateKeyPem }), 'ok', 'a client from another CA is refused')

  // Kill one api agent under a steady request loop: every request still succeeds (retried elsewhere).
  let failed = 0
  let sent = 0
  let stop = false
  const loop = (async () => {
    while (!stop) {
      sent++
      const answer = await call(upstreamPort, '/loop').catch(() => ({ status: 0, body: '' }))
      if (answer.status !== 200) failed++
    }
  })()
  await waitFor('requests to flow', async () => sent > 20)
  await cluster.kill(c)
  api2.server.close()
  await waitFor('api-2 to be marked critical on B', async () => {
    const entries = (await http(b, 'GET', '/v1/health/connect/api?passing')).body as unknown[]
    return entries.length === 1
  }, 30_000)
  const afterFailover = sent
  await waitFor('more requests after failover', async () => sent > afterFailover + 20)
  stop = true
  await loop
  t.equal(failed, 0, `no failed request while an endpoint died (${sent} sent)`)

  // L4: `mesh intentions deny web api` on A is enforced by B's sidecar.
  const denied = await mesh(a, 'intentions', 'deny', 'web', 'api')
  t.equal(denied.code, 0, 'mesh intentions deny succeeds')
  const deniedAt = Date.now()
  await waitFor('403 through the sidecar', async () => (await call(upstreamPort, '/x')).status === 403, 10_000, 20)
  t.ok(Date.now() - deniedAt < 5000, 'the deny is enforced within the propagation bound')
  const check = await mesh(b, 'intentions', 'check', 'web', 'api')
  t.equal(check.code, 1, 'mesh intentions check exits 1 when denied')
  t.match(check.stdout, /Denied/)

  // Authorize on C... C is gone; use A: an intention created on B is enforced by A's authorize.
  await mesh(b, 'intentions', 'allow', 'web', 'db')
  await waitFor('allow web→db on A', async () => {
    const answer = await http(a, 'POST', '/v1/agent/connect/authorize', { Target: 'db', ClientCertURI: `spiffe://${roots[0].TrustDomain}/ns/default/dc/dc1/svc/web` })
    return (answer.body as { Authorized: boolean }).Authorized
  })
  await http(a, 'PUT', '/v1/connect/intentions/exact?source=web&destination=db', { Action: 'deny', SourceName: 'web', DestinationName: 'db' })
  await waitFor('deny written after allow wins on B', async () => {
    const answer = await http(b, 'POST', '/v1/agent/connect/authorize', { Target: 'db', ClientCertURI: `spiffe://${roots[0].TrustDomain}/ns/default/dc/dc1/svc/web` })
    return !(answer.body as { Authorized: boolean }).Authorized
  })
  t.pass('a deny written after an allow wins once propagated')

  // L7: permissions decide per path, method and header.
  const entry = {
    Kind: 'service-intentions',
    Name: 'api',
    Sources: [{
      Name: 'web',
      Permissions: [
        { Action: 'deny', HTTP: { PathPrefix: '/public', Header: [{ Name: 'x-debug', Present: true }] } },
        { Action: 'allow', HTTP: { PathPrefix: '/public', Methods: ['GET'] } },
        { Action: 'deny', HTTP: { PathPrefix: '/' } },
      ],
    }],
  }
  t.equal((await http(a, 'PUT', '/v1/config', entry)).status, 200)
  await waitFor('L7 rules on B', async () => (await call(upstreamPort, '/public/x')).status === 200, 10_000, 20)
  t.equal((await call(upstreamPort, '/private')).status, 403, 'a path outside the allowed prefix is denied')
  t.equal((await call(upstreamPort, '/public/x', { method: 'POST', body: 'x' })).status, 403, 'a method outside the allowed ones is denied')
  t.equal((await call(upstreamPort, '/public/x', { headers: { 'x-debug': '1' } })).status, 403, 'a header rule denies')
  t.equal((await call(upstreamPort, '/public/x')).status, 200, 'the allowed request passes')

  const metrics = await http(b, 'GET', '/v1/agent/metrics')
  t.match(metrics.text, /mesh_proxy_requests_total\{[^}]*code="403"/, 'denials are counted in the metrics')
})
