// What the listener fault tests share: one agent running a sidecar pair (web → api, both local,
// HTTP), floods of idle, trickling or fully handshaken TLS connections from other loopback
// addresses, and the agent's RSS and open file descriptors read from /proc. Each test file has its
// own addresses (tap runs files side by side, and two agents on one address would race for the
// same sidecar ports).

import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { Server } from 'node:http'
import { connect as netConnect } from 'node:net'
import type { Socket } from 'node:net'
import { join } from 'node:path'
import { connect as tlsConnect } from 'node:tls'
import dnsPacket from 'dns-packet'
import { Cluster, freePort, http, waitFor } from '../../e2e/harness.ts'
import type { AgentProcess } from '../../e2e/harness.ts'

/** Where one test's agent listens, and the flood sources; the test's own requests come from `agent` (the kernel's pick on loopback). */
export interface Hosts {
  agent: string
  sources: string[]
}

const loopbackRange = (first: number, count: number): string[] => Array.from({ length: count }, (_, index) => `127.0.0.${first + index}`)

export const FLOOD_HOSTS: Hosts = { agent: '127.0.0.101', sources: loopbackRange(102, 7) }
export const SOAK_HOSTS: Hosts = { agent: '127.0.0.131', sources: loopbackRange(132, 4) }

export interface MeshPair {
  hosts: Hosts
  agent: AgentProcess
  app: Server
  /** web's upstream listener for api: plain HTTP in, mTLS to api's sidecar. */
  upstreamPort: number
  /** api's sidecar public listener (mTLS). */
  inboundPort: number
  gossipPort: number
  dnsPort: number
  httpPort: number
  /** A mesh leaf for `web`, to open fully authenticated connections to api's sidecar. */
  leaf: { cert: string, key: string, ca: string[] }
}

/** The `Environment=` lines of the shipped systemd unit, so the agent runs as it is deployed. */
export function unitEnvironment (): Record<string, string> {
  const unit = readFileSync(new URL('../../../dist/mesh.service', import.meta.url), 'utf8')
  const env: Record<string, string> = {}
  for (const match of unit.matchAll(/^Environment=([A-Z_]+)=(.*)$/gm)) env[match[1]] = match[2]
  return env
}

/** The node flags the `mesh` command's shebang sets (cli/mesh.mjs), which the harness's plain `node mesh.mjs` would miss. */
export function meshNodeFlags (): string[] {
  const shebang = readFileSync(new URL('../../../cli/mesh.mjs', import.meta.url), 'utf8').split('\n')[0]
  return shebang.split(/\s+/).slice(shebang.split(/\s+/).indexOf('node') + 1)
}

/** Starts the agent with `limits` (the config file's `limits` block) and the web → api sidecar pair. */
export async function startMeshPair (cluster: Cluster, hosts: Hosts, limits: Record<string, unknown>, name: string): Promise<MeshPair> {
  const AGENT_ADDRESS = hosts.agent
  const configFile = join(cluster.tempDir('mesh-limits-'), 'limits.json')
  writeFileSync(configFile, JSON.stringify({ limits }))
  const agent = await cluster.start({
    name, bindAddress: AGENT_ADDRESS, clientAddress: AGENT_ADDRESS, dnsPort: 0, args: ['--config-file', configFile], env: unitEnvironment(), nodeArgs: meshNodeFlags()
  })
  const app = createServer((request, response) => {
    response.setHeader('content-type', 'text/plain')
    response.end(`api ${request.url}`)
  })
  await new Promise<void>((resolve) => app.listen(0, AGENT_ADDRESS, resolve))
  const appPort = (app.address() as { port: number }).port
  const upstreamPort = await freePort(AGENT_ADDRESS)
  const ok = async (response: Promise<{ status: number, text: string }>): Promise<void> => {
    const { status, text } = await response
    if (status !== 200) throw new Error(`agent answered ${status}: ${text}`)
  }
  await ok(http(agent, 'PUT', '/v1/config', { Kind: 'service-defaults', Name: 'api', Protocol: 'http' }))
  await ok(http(agent, 'PUT', '/v1/agent/service/register', {
    Name: 'api', ID: 'api-1', Address: AGENT_ADDRESS, Port: appPort, Connect: { SidecarService: { Proxy: { LocalServiceAddress: AGENT_ADDRESS } } }
  }))
  await ok(http(agent, 'PUT', '/v1/agent/service/register', {
    Name: 'web', Port: 1, Connect: { SidecarService: { Proxy: { Upstreams: [{ DestinationName: 'api', LocalBindAddress: AGENT_ADDRESS, LocalBindPort: upstreamPort }] } } }
  }))
  await waitFor('web to reach api through the sidecars', async () => (await callUpstream({ hosts, upstreamPort })) === 200, 60_000).catch((error: Error) => {
    throw new Error(`${error.message}\nagent output:\n${agent.output()}`)
  })
  const inboundPort = ((await http(agent, 'GET', '/v1/agent/service/api-1-sidecar-proxy')).body as { Port: number }).Port
  const leaf = (await http(agent, 'GET', '/v1/agent/connect/ca/leaf/web')).body as { CertPEM: string, PrivateKeyPEM: string }
  const roots = (await http(agent, 'GET', '/v1/agent/connect/ca/roots')).body as { Roots: Array<{ RootCert: string }> }
  return {
    hosts,
    agent,
    app,
    upstreamPort,
    inboundPort,
    gossipPort: Number(agent.gossipAddr.split(':').pop()),
    dnsPort: agent.dnsPort!,
    httpPort: Number(new URL(agent.httpUrl).port),
    leaf: { cert: leaf.CertPEM, key: leaf.PrivateKeyPEM, ca: roots.Roots.map((root) => root.RootCert) }
  }
}

/** One request through web's sidecar to api; the status, or 0 when the request failed. */
export async function callUpstream (pair: Pick<MeshPair, 'hosts' | 'upstreamPort'>): Promise<number> {
  try {
    const response = await fetch(`http://${pair.hosts.agent}:${pair.upstreamPort}/hello`, { signal: AbortSignal.timeout(10_000) })
    await response.text()
    return response.status
  } catch {
    return 0
  }
}

/** One A query over DNS-over-TCP; the answer count, or -1 when there was no answer. */
export async function dnsOverTcp (pair: MeshPair, name: string): Promise<number> {
  return await new Promise((resolve) => {
    const socket = netConnect({ host: pair.hosts.agent, port: pair.dnsPort })
    let buffered = Buffer.alloc(0)
    const done = (value: number): void => { socket.destroy(); resolve(value) }
    socket.setTimeout(5000, () => { done(-1) })
    socket.once('error', () => { done(-1) })
    socket.once('close', () => { resolve(-1) })
    socket.once('connect', () => {
      socket.write(dnsPacket.streamEncode({ type: 'query', id: 7, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name }] }))
    })
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk])
      if (buffered.length >= 2 && buffered.length >= buffered.readUInt16BE(0) + 2) done(dnsPacket.streamDecode(buffered).answers?.length ?? 0)
    })
  })
}

export type FloodMode = 'idle' | 'trickle' | 'tls'

export interface FloodConnection {
  socket: Socket
  source: string
  openedMs: number
  /** When the agent closed it (ms since the epoch), or undefined while open. */
  closedMs: number | undefined
  /** The TLS handshake completed (mode tls). */
  secured: boolean
}

/**
 * Connections the test opens against one listener. `idle` sends nothing; `trickle` sends the first
 * bytes of a TLS ClientHello one every 200 ms; `tls` completes a mutual handshake with a mesh leaf
 * and then sends nothing.
 */
export class Flood {
  readonly connections: FloodConnection[] = []
  private readonly timers = new Set<NodeJS.Timeout>()
  private holding = false
  /** Connections opened again by hold() after the agent closed one. */
  reopened = 0
  /**
   * Mode `tls`: offer the last TLS 1.3 session ticket the agent sent, as a client pool does
   * (node's https.Agent, Envoy, the mesh's own pools), instead of a full handshake each time.
   */
  resumeSessions = false
  /** Mode `tls`: connections whose handshake resumed a session. */
  resumed = 0
  private ticket: Buffer | undefined
  /** The agent's address, which every connection goes to. */
  private readonly target: string

  constructor (hosts: Hosts) {
    this.target = hosts.agent
  }

  /** Connections of `source` that were open at least `forMs` (kept by the listener, not refused). */
  keptFrom (source: string, forMs: number): number {
    return this.connections.filter((connection) => connection.source === source && connection.closedMs !== undefined && connection.closedMs - connection.openedMs >= forMs).length
  }

  async open (port: number, sources: string[], perSource: number, mode: FloodMode, tls?: MeshPair['leaf']): Promise<void> {
    const opened: Array<Promise<void>> = []
    for (const source of sources) {
      for (let index = 0; index < perSource; index++) opened.push(this.openOne(port, source, mode, tls))
    }
    await Promise.all(opened)
  }

  /**
   * Like open(), and keeps them open as a client pool would: a connection the agent closes (its
   * HTTP keep-alive timeout closes a connection that never sends a request after 60 s) is opened
   * again at once, until destroy().
   */
  async hold (port: number, sources: string[], perSource: number, mode: FloodMode, tls?: MeshPair['leaf']): Promise<void> {
    this.holding = true
    const reopen = { port, mode, tls }
    this.reopen = reopen
    await this.open(port, sources, perSource, mode, tls)
  }

  private reopen: { port: number, mode: FloodMode, tls?: MeshPair['leaf'] } | undefined

  private async openOne (port: number, source: string, mode: FloodMode, tls?: MeshPair['leaf']): Promise<void> {
    const raw = netConnect({ host: this.target, port, localAddress: source })
    const connection: FloodConnection = { socket: raw, source, openedMs: Date.now(), closedMs: undefined, secured: false }
    this.connections.push(connection)
    raw.on('error', () => {})
    raw.once('close', () => {
      connection.closedMs = Date.now()
      if (this.holding && this.reopen !== undefined) {
        this.reopened++
        // Forget the closed one so the list stays the size of the pool.
        this.connections.splice(this.connections.indexOf(connection), 1)
        void this.openOne(this.reopen.port, source, this.reopen.mode, this.reopen.tls)
      }
    })
    await new Promise<void>((resolve) => {
      raw.once('connect', () => { resolve() })
      raw.once('close', () => { resolve() })
    })
    if (raw.destroyed) return
    if (mode === 'trickle') {
      const hello = Buffer.from('16030100c8010000c40303', 'hex')
      let sent = 0
      const timer = setInterval(() => {
        if (raw.destroyed || sent >= hello.length) { clearInterval(timer); this.timers.delete(timer); return }
        raw.write(hello.subarray(sent, ++sent))
      }, 200)
      this.timers.add(timer)
    } else if (mode === 'tls' && tls !== undefined) {
      const secure = tlsConnect({
        socket: raw, cert: tls.cert, key: tls.key, ca: tls.ca, checkServerIdentity: () => undefined, ALPNProtocols: ['http/1.1'], session: this.resumeSessions ? this.ticket : undefined
      })
      secure.on('error', () => {})
      if (this.resumeSessions) secure.on('session', (ticket: Buffer) => { this.ticket = ticket })
      await new Promise<void>((resolve) => {
        secure.once('secureConnect', () => {
          connection.secured = true
          if (secure.isSessionReused()) this.resumed++
          resolve()
        })
        secure.once('close', () => { resolve() })
      })
    }
  }

  get openCount (): number {
    return this.connections.filter((connection) => connection.closedMs === undefined).length
  }

  get closed (): FloodConnection[] {
    return this.connections.filter((connection) => connection.closedMs !== undefined)
  }

  /** Closes whatever the agent left open. */
  async destroy (): Promise<void> {
    this.holding = false
    for (const timer of this.timers) clearInterval(timer)
    this.timers.clear()
    const waits = this.connections.filter((connection) => connection.closedMs === undefined).map(async (connection) => {
      await new Promise<void>((resolve) => { connection.socket.once('close', () => { resolve() }); connection.socket.destroy() })
    })
    await Promise.all(waits)
  }
}

export interface ProcessSample {
  rssMb: number
  fds: number
}

/** The agent's resident set and open file descriptors, from /proc. */
export function sampleProcess (pid: number): ProcessSample {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const rssKb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN)
  return { rssMb: Math.round(rssKb / 102.4) / 10, fds: readdirSync(`/proc/${pid}/fd`).length }
}
