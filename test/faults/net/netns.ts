// A small network of test hosts for fault tests: N network namespaces, each with loopback and one
// veth into a bridge that lives in a namespace of its own, so nothing here touches the host's
// network. Hosts get 10.77.0.(11+i)/24, an address that exists only inside these namespaces.
// Agents run inside the hosts (`ip netns exec`), with their HTTP API on the host's loopback, and the
// test talks to them through `ip netns exec <host> curl`.
//
// Faults are nftables rules in each host's own table (`inet mesh_faults`): a partition drops
// everything between two groups, a one-way cut drops what one host receives from another, loss
// drops a random share of every packet a host sends on its veth (`numgen random`, i.e. loss on
// every link; tc netem does the same where the kernel has sch_netem, nftables needs no extra
// kernel module beyond nf_tables). `heal()` removes every rule.
//
// Teardown removes every agent process, namespace and temp dir: `close()` from t.teardown, and
// synchronous hooks on process 'exit' and on SIGTERM/SIGINT/SIGHUP for a test process that ends
// before its teardown runs.

import { execFile, execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { promisify } from 'node:util'
import { Cluster } from '../../e2e/harness.ts'
import type { AgentProcess, StartOptions } from '../../e2e/harness.ts'

const run = promisify(execFile)
const SUBNET_PREFIX = '10.77.0.'
const FIRST_HOST_OCTET = 11
const NFT_TABLE = 'mesh_faults'
const NAME_PATTERN = /^[a-z][a-z0-9]{0,7}$/
const CLEANUP_SIGNALS: NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP']

export interface Host {
  /** The test's name for the host, also the agent's node name. */
  name: string
  /** The network namespace it lives in. */
  ns: string
  /** Its address on the test network. */
  addr: string
}

export interface HttpAnswer { status: number, body: unknown, text: string }

/** A member as `/v1/agent/members` lists it (Status: 1 alive, 3 left, 4 failed). */
export interface Member { Name: string, Status: number }

export const ALIVE = 1
export const FAILED = 4

/** Why the suite cannot run here (not root, no `ip`/`nft`/`curl`, no netns or nftables), or undefined. */
export function unavailableReason (): string | undefined {
  if (process.platform !== 'linux') return 'network namespaces need Linux'
  if (process.getuid?.() !== 0) return 'network namespaces need root'
  for (const [tool, args] of [['ip', ['-V']], ['nft', ['--version']], ['curl', ['--version']]] as const) {
    try {
      execFileSync(tool, [...args], { stdio: 'ignore' })
    } catch {
      return `${tool} is not installed (iproute2, nftables, curl)`
    }
  }
  const probe = `mfprobe-${randomBytes(4).toString('hex')}`
  try {
    execFileSync('ip', ['netns', 'add', probe], { stdio: 'pipe' })
    execFileSync('ip', ['netns', 'exec', probe, 'nft', 'add', 'table', 'inet', NFT_TABLE], { stdio: 'pipe' })
  } catch (error) {
    return `cannot create a network namespace with an nftables table: ${String((error as { stderr?: Buffer }).stderr ?? (error as Error).message).trim()}`
  } finally {
    try { execFileSync('ip', ['netns', 'del', probe], { stdio: 'ignore' }) } catch { /* it was never made */ }
  }
  return undefined
}

export class NetLab {
  readonly hosts: Host[]
  readonly cluster = new Cluster()
  private readonly bridgeNs: string
  private readonly createdNamespaces: string[] = []
  private readonly agentsByHost = new Map<string, AgentProcess>()
  private closed = false
  private readonly exitHook = (): void => this.closeSync()
  /**
   * A signal (the runner's timeout, Ctrl-C) ends the process without 'exit': clean up, then let the
   * signal do what it would have done, unless someone else (the test runner) also handles it.
   */
  private readonly signalHook = (signal: NodeJS.Signals): void => {
    this.closeSync()
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal)
  }

  private constructor (names: string[]) {
    const suffix = randomBytes(4).toString('hex')
    this.bridgeNs = `mf-${suffix}-bridge`
    this.hosts = names.map((name, index) => ({ name, ns: `mf-${suffix}-h-${name}`, addr: `${SUBNET_PREFIX}${FIRST_HOST_OCTET + index}` }))
  }

  /** Creates the bridge namespace and one namespace per name (lowercase, up to 8 characters). */
  static async create (names: string[]): Promise<NetLab> {
    if (names.length === 0 || names.length > 200) throw new Error('a lab has 1 to 200 hosts')
    for (const name of names) {
      if (!NAME_PATTERN.test(name)) throw new Error(`host name "${name}" must be 1-8 lowercase letters or digits, starting with a letter`)
    }
    if (new Set(names).size !== names.length) throw new Error('host names must be unique')
    const lab = new NetLab(names)
    process.once('exit', lab.exitHook)
    for (const signal of CLEANUP_SIGNALS) process.once(signal, lab.signalHook)
    try {
      await lab.build()
    } catch (error) {
      await lab.close()
      throw error
    }
    return lab
  }

  host (name: string): Host {
    const host = this.hosts.find((candidate) => candidate.name === name)
    if (host === undefined) throw new Error(`no host "${name}" in this lab`)
    return host
  }

  agent (name: string): AgentProcess {
    const agent = this.agentsByHost.get(name)
    if (agent === undefined) throw new Error(`no agent runs on host "${name}"`)
    return agent
  }

  private async build (): Promise<void> {
    await this.addNamespace(this.bridgeNs)
    await ip(['-n', this.bridgeNs, 'link', 'set', 'lo', 'up'])
    await ip(['-n', this.bridgeNs, 'link', 'add', 'br0', 'type', 'bridge'])
    await ip(['-n', this.bridgeNs, 'link', 'set', 'br0', 'up'])
    for (const [index, host] of this.hosts.entries()) {
      await this.addNamespace(host.ns)
      const port = `vh${index}`
      // Made inside the bridge's namespace with its peer moved straight into the host's, so no
      // interface ever appears in the root namespace (and parallel labs cannot clash on names).
      await ip(['-n', this.bridgeNs, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', host.ns])
      await ip(['-n', this.bridgeNs, 'link', 'set', port, 'master', 'br0'])
      await ip(['-n', this.bridgeNs, 'link', 'set', port, 'up'])
      await ip(['-n', host.ns, 'link', 'set', 'lo', 'up'])
      await ip(['-n', host.ns, 'addr', 'add', `${host.addr}/24`, 'dev', 'eth0'])
      await ip(['-n', host.ns, 'link', 'set', 'eth0', 'up'])
      await nft(host, `add table inet ${NFT_TABLE}`)
      await nft(host, `add chain inet ${NFT_TABLE} input { type filter hook input priority 0 ; policy accept ; }`)
      await nft(host, `add chain inet ${NFT_TABLE} output { type filter hook output priority 0 ; policy accept ; }`)
    }
  }

  private async addNamespace (ns: string): Promise<void> {
    await ip(['netns', 'add', ns])
    this.createdNamespaces.push(ns)
  }

  /**
   * Starts `mesh agent start` inside the host's namespace, bound to its address (the harness picks
   * free ports, reads the banner, and keeps the output). `join` names hosts whose agents to join.
   */
  async startAgent (name: string, options: { join?: string[] } & Omit<StartOptions, 'name' | 'bindAddress' | 'launcher' | 'join'> = {}): Promise<AgentProcess> {
    const host = this.host(name)
    if (this.agentsByHost.has(name)) throw new Error(`an agent already runs on host "${name}"`)
    const join = (options.join ?? []).map((other) => this.agent(other).gossipAddr)
    const agent = await this.cluster.start({ ...options, name, bindAddress: host.addr, join, launcher: ['ip', 'netns', 'exec', host.ns] })
    this.agentsByHost.set(name, agent)
    return agent
  }

  /**
   * One agent on every host, with the LAN timings a deployment runs (not --dev's) and info logs
   * (membership events are logged at info); the first host's agent is the others' seed.
   */
  async startCluster (): Promise<void> {
    const [seed, ...rest] = this.hosts.map((host) => host.name)
    const options = { dev: false, logLevel: 'info' }
    await this.startAgent(seed, options)
    for (const name of rest) await this.startAgent(name, { ...options, join: [seed] })
  }

  /** An HTTP request to the agent on `name`, made from inside its namespace with curl. */
  async http (name: string, method: string, path: string, body?: unknown): Promise<HttpAnswer> {
    const host = this.host(name)
    const agent = this.agent(name)
    if (!/^\/v1\/[A-Za-z0-9/_.?=&%-]*$/.test(path)) throw new Error(`not an API path: ${path}`)
    const marker = '\n--mesh-status:'
    const args = ['netns', 'exec', host.ns, 'curl', '-sS', '-m', '10', '-X', method, '-w', `${marker}%{http_code}`]
    if (body !== undefined) args.push('--data-binary', '@-')
    args.push(agent.httpUrl + path)
    const text = await new Promise<string>((resolve, reject) => {
      const child = execFile('ip', args, { maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
        if (error !== null) reject(new Error(`curl ${method} ${path} on ${name}: ${stderr.trim() || error.message}`))
        else resolve(stdout)
      })
      child.stdin?.end(body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body))
    })
    const at = text.lastIndexOf(marker)
    if (at === -1) throw new Error(`curl ${method} ${path} on ${name}: no status in its output`)
    const payload = text.slice(0, at)
    let parsed: unknown = payload
    try { parsed = JSON.parse(payload) } catch { /* plain-text answers stay text */ }
    return { status: Number(text.slice(at + marker.length)), body: parsed, text: payload }
  }

  /** The member list of the agent on `name`. */
  async members (name: string): Promise<Member[]> {
    const answer = await this.http(name, 'GET', '/v1/agent/members')
    if (answer.status !== 200) throw new Error(`members on ${name}: HTTP ${answer.status} ${answer.text}`)
    return answer.body as Member[]
  }

  /** Cuts every packet between the two groups, both ways, until `heal()`. */
  async partition (left: string[], right: string[]): Promise<void> {
    for (const name of [...left, ...right]) this.host(name)
    const addrs = (names: string[]): string => `{ ${names.map((name) => this.host(name).addr).join(', ')} }`
    for (const [side, other] of [[left, right], [right, left]]) {
      for (const name of side) {
        const host = this.host(name)
        await nftDrop(host, 'input', `ip saddr ${addrs(other)}`, 'partition')
        await nftDrop(host, 'output', `ip daddr ${addrs(other)}`, 'partition')
      }
    }
  }

  /** One direction only: `to` receives nothing from `from`, while everything it sends to `from` arrives. */
  async cutOneWay (from: string, to: string): Promise<void> {
    await nftDrop(this.host(to), 'input', `ip saddr ${this.host(from).addr}`, `cut-from-${from}`)
  }

  /** Drops `percent` % of the packets every host sends on its veth, independently per packet. */
  async loss (percent: number): Promise<void> {
    if (!Number.isInteger(percent) || percent < 1 || percent > 100) throw new Error('loss is a whole percentage from 1 to 100')
    for (const host of this.hosts) {
      await nftDrop(host, 'output', `oifname "eth0" numgen random mod 100 < ${percent}`, 'loss')
    }
  }

  /** Packets dropped so far by each host's fault rules, by host and by fault ('partition', 'loss', 'cut-from-b'). */
  async dropped (): Promise<Record<string, Record<string, number>>> {
    const result: Record<string, Record<string, number>> = {}
    for (const host of this.hosts) {
      const { stdout } = await run('ip', ['netns', 'exec', host.ns, 'nft', '-j', 'list', 'table', 'inet', NFT_TABLE])
      result[host.name] = countDrops(JSON.parse(stdout) as { nftables: unknown[] })
    }
    return result
  }

  /** Every namespace this lab made (the bridge's first), for checks that teardown removed them. */
  namespaces (): string[] {
    return [...this.createdNamespaces]
  }

  /** Removes every fault rule: each host's chains are flushed, the network is whole again. */
  async heal (): Promise<void> {
    for (const host of this.hosts) {
      await nft(host, `flush chain inet ${NFT_TABLE} input`)
      await nft(host, `flush chain inet ${NFT_TABLE} output`)
    }
  }

  /** Kills every agent, removes its temp dirs, then every namespace (veths go with them). */
  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    process.removeListener('exit', this.exitHook)
    for (const signal of CLEANUP_SIGNALS) process.removeListener(signal, this.signalHook)
    await this.cluster.cleanup()
    for (const ns of [...this.createdNamespaces].reverse()) {
      await ip(['netns', 'del', ns]).catch(() => {})
    }
  }

  /** The 'exit' hook's part: nothing asynchronous may run, so kill and delete synchronously. */
  private closeSync (): void {
    if (this.closed) return
    this.closed = true
    try { this.cluster.cleanupSync() } catch { /* what is left goes with the namespaces */ }
    for (const ns of [...this.createdNamespaces].reverse()) {
      try { execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' }) } catch { /* already gone */ }
    }
  }
}

/** Sums the counters of the drop rules in `nft -j list table` output by the rules' comments. */
function countDrops (listing: { nftables: unknown[] }): Record<string, number> {
  const totals: Record<string, number> = {}
  for (const item of listing.nftables) {
    const rule = (item as { rule?: { comment?: string, expr?: Array<Record<string, unknown>> } }).rule
    if (rule?.comment === undefined) continue
    for (const expr of rule.expr ?? []) {
      const counter = expr.counter as { packets?: number } | undefined
      if (counter?.packets !== undefined) totals[rule.comment] = (totals[rule.comment] ?? 0) + counter.packets
    }
  }
  return totals
}

async function ip (args: string[]): Promise<void> {
  try {
    await run('ip', args)
  } catch (error) {
    throw new Error(`ip ${args.join(' ')}: ${String((error as { stderr?: string }).stderr ?? (error as Error).message).trim()}`)
  }
}

async function nft (host: Host, command: string): Promise<void> {
  try {
    await run('ip', ['netns', 'exec', host.ns, 'nft', command])
  } catch (error) {
    throw new Error(`nft ${command} in ${host.ns}: ${String((error as { stderr?: string }).stderr ?? (error as Error).message).trim()}`)
  }
}

/** A drop rule that counts what it dropped under `label`, so a test can show its fault happened. */
async function nftDrop (host: Host, chain: 'input' | 'output', match: string, label: string): Promise<void> {
  await nft(host, `add rule inet ${NFT_TABLE} ${chain} ${match} counter drop comment "${label}"`)
}
