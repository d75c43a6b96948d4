// Runs real agents as separate processes on loopback for end-to-end tests and benchmarks: start
// with a fresh or given data dir and free ports, read the banner for the addresses, talk HTTP,
// kill -9 or stop gracefully, and clean up every process and temp dir at the end.

import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer as createNetServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const MESH = new URL('../../cli/mesh.mjs', import.meta.url).pathname

export interface AgentProcess {
  name: string
  dataDir: string
  process: ChildProcess
  httpUrl: string
  gossipAddr: string
  dnsPort: number | undefined
  output: () => string
  exited: Promise<number | null>
}

export interface StartOptions {
  name: string
  dataDir?: string
  join?: string[]
  args?: string[]
  env?: NodeJS.ProcessEnv
  /** Node flags for the agent process, e.g. --max-semi-space-size. */
  nodeArgs?: string[]
  bindAddress?: string
  startTimeoutMs?: number
  /** Dev timings (default). False runs the LAN preset, as a real deployment would. */
  dev?: boolean
  /** --log-level (default warn); null passes none, so the config files' log_level applies. */
  logLevel?: string | null
  /** --client: the HTTP API's address (default 127.0.0.1). */
  clientAddress?: string
  /** DNS port: -1 (default) disables DNS, 0 picks a free one. */
  dnsPort?: number
  /**
   * A command that runs the agent's node process, e.g. `['ip', 'netns', 'exec', 'ns1']`; it must
   * exec the process it is given, so the child's pid and signals are the agent's own.
   */
  launcher?: string[]
}

export class Cluster {
  readonly agents: AgentProcess[] = []
  private readonly tempDirs: string[] = []

  tempDir (prefix = 'mesh-test-'): string {
    const dir = mkdtempSync(join(tmpdir(), prefix))
    this.tempDirs.push(dir)
    return dir
  }

  async start (options: StartOptions): Promise<AgentProcess> {
    const dataDir = options.dataDir ?? this.tempDir(`mesh-${options.name}-`)
    const [command, ...prefix] = [...(options.launcher ?? []), process.execPath]
    const child = spawn(command, [...prefix, ...agentArgs(options, dataDir)], { env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
    child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString() })
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    const started = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), options.startTimeoutMs ?? 30_000)
      const check = (): void => {
        if (/HTTP API: http:\/\/[^\s]+:\d+/.test(output) && /Gossip: [^\s]+:\d+/.test(output)) {
          clearTimeout(timer)
          resolve(true)
        }
      }
      child.stdout.on('data', check)
      void exited.then(() => { clearTimeout(timer); resolve(false) })
    })
    if (!started) {
      child.kill('SIGKILL')
      throw new Error(`agent ${options.name} did not start:\n${output}`)
    }
    const agent: AgentProcess = {
      name: options.name,
      dataDir,
      process: child,
      httpUrl: /HTTP API: (http:\/\/[^\s]+:\d+)/.exec(output)![1],
      gossipAddr: /Gossip: ([^\s]+:\d+)/.exec(output)![1],
      dnsPort: /DNS: [^\s]+:(\d+)/.exec(output) === null ? undefined : Number(/DNS: [^\s]+:(\d+)/.exec(output)![1]),
      output: () => output,
      exited,
    }
    this.agents.push(agent)
    return agent
  }

  /**
   * Runs an agent that is expected to refuse to start: resolves with its exit code and output
   * once it exits; one still running after `startTimeoutMs` is killed and reported with code null.
   */
  async startRefused (options: StartOptions & { dataDir: string }): Promise<{ code: number | null, output: string }> {
    const child = spawn(process.execPath, agentArgs(options, options.dataDir), { env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
    child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString() })
    const timer = setTimeout(() => child.kill('SIGKILL'), options.startTimeoutMs ?? 30_000)
    const code = await new Promise<number | null>((resolve) => child.once('exit', (exitCode) => resolve(exitCode)))
    clearTimeout(timer)
    return { code, output }
  }

  /** kill -9: no leave, no cleanup, as a crash. */
  async kill (agent: AgentProcess): Promise<void> {
    agent.process.kill('SIGKILL')
    await agent.exited
  }

  /** SIGTERM: graceful leave; resolves with the exit code. */
  async stop (agent: AgentProcess): Promise<number | null> {
    agent.process.kill('SIGTERM')
    return await agent.exited
  }

  async cleanup (): Promise<void> {
    for (const agent of this.agents) {
      if (agent.process.exitCode === null && agent.process.signalCode === null) agent.process.kill('SIGKILL')
    }
    await Promise.all(this.agents.map(async (agent) => await agent.exited))
    for (const dir of this.tempDirs) rmSync(dir, { recursive: true, force: true })
  }

  /**
   * For exit and signal hooks, where nothing asynchronous runs: SIGKILL every agent still running
   * and remove the temp dirs.
   */
  cleanupSync (): void {
    for (const agent of this.agents) {
      if (agent.process.exitCode === null && agent.process.signalCode === null) agent.process.kill('SIGKILL')
    }
    for (const dir of this.tempDirs) rmSync(dir, { recursive: true, force: true, maxRetries: 3 })
  }
}

/** Any agent the test can reach over HTTP: one the harness started, or one in a container. */
export type HttpAgent = Pick<AgentProcess, 'httpUrl'>

function agentArgs (options: StartOptions, dataDir: string): string[] {
  const bind = options.bindAddress ?? '127.0.0.1'
  return [
    ...(options.nodeArgs ?? []), MESH, 'agent', 'start', ...(options.dev === false ? [] : ['--dev']),
    '--node', options.name, '--data-dir', dataDir, '--bind', `${bind}:0`, '--advertise', bind,
    '--client', options.clientAddress ?? '127.0.0.1', '--http-port', '0', '--dns-port', String(options.dnsPort ?? -1),
    ...(options.logLevel === null ? [] : ['--log-level', options.logLevel ?? 'warn']),
    ...(options.join ?? []).flatMap((address) => ['--join', address]),
    ...(options.args ?? []),
  ]
}

export async function http (agent: HttpAgent, method: string, path: string, body?: unknown): Promise<{ status: number, headers: Headers, body: unknown, text: string }> {
  const response = await fetch(agent.httpUrl + path, {
    method,
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  })
  const text = await response.text()
  let parsed: unknown = text
  try { parsed = JSON.parse(text) } catch { /* plain-text answers stay text */ }
  return { status: response.status, headers: response.headers, body: parsed, text }
}

/** Polls `probe` until it returns a truthy value or `timeoutMs` passes; throws with `what` on timeout. */
export async function waitFor<T> (what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 20_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let lastError: unknown
  while (Date.now() < deadline) {
    try {
      const value = await probe()
      if (value !== undefined && value !== false) return value
    } catch (error) {
      lastError = error
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs))
  }
  throw new Error(`timed out waiting for ${what}${lastError === undefined ? '' : `: ${(lastError as Error).message}`}`)
}

export interface ConsulMember { Name: string, Addr: string, Port: number, Status: number, Tags: Record<string, string> }

export async function members (agent: HttpAgent): Promise<ConsulMember[]> {
  const response = await http(agent, 'GET', '/v1/agent/members')
  if (response.status !== 200) throw new Error(`members: HTTP ${response.status}`)
  return response.body as ConsulMember[]
}

export async function memberStatus (agent: HttpAgent, name: string): Promise<number | undefined> {
  return (await members(agent)).find((member) => member.Name === name)?.Status
}

/** A port that was free a moment ago on `address` (for listeners the test does not bind itself). */
export async function freePort (address = '127.0.0.1'): Promise<number> {
  const server = createNetServer()
  await new Promise<void>((resolve) => server.listen(0, address, resolve))
  const port = (server.address() as { port: number }).port
  await new Promise((resolve) => server.close(resolve))
  return port
}
