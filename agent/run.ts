// `mesh agent start`: resolve the configuration, start the agent, print the banner, and turn
// SIGINT/SIGTERM into a graceful leave and SIGHUP into a live reload of the config files (services,
// checks, log level; agent/reload.ts). Any startup failure is one clear line and exit code 1.

import type { AgentStartOptions } from '../api/agent-options.ts'
import { resolveConfig } from './config.ts'
import { createLogger } from './log.ts'
import { Agent } from './agent.ts'
import type { AgentInfo } from './agent.ts'

export function banner (info: AgentInfo): string {
  const line = (label: string, value: string): string => `${label.padStart(14)}: ${value}`
  return [
    '==> mesh agent running!',
    line('Node name', `'${info.nodeName}'`),
    line('Node ID', `'${info.nodeId}'`),
    line('Peer ID', info.peerId),
    line('Datacenter', `'${info.datacenter}' (server: ${info.server})`),
    line('Gossip', `${info.gossipAddress}:${info.gossipPort} (tcp+udp, encrypted: ${info.encrypted})`),
    line('HTTP API', `http://${info.httpAddress.includes(':') ? `[${info.httpAddress}]` : info.httpAddress}:${info.httpPort}`),
    line('DNS', info.dnsPort === undefined ? 'disabled' : `${info.dnsAddress ?? ''}:${info.dnsPort} (udp+tcp)`),
    '',
  ].join('\n')
}

export async function runAgent (options: AgentStartOptions): Promise<void> {
  let agent: Agent
  try {
    const config = resolveConfig(options)
    const log = createLogger({ level: config.logLevel, format: config.logFormat })
    for (const warning of config.warnings) log.warn({ component: 'mesh:config' }, warning)
    agent = await Agent.start(config, log, { onShutdown: () => process.exit(0), loadConfig: () => resolveConfig(options) })
  } catch (error) {
    process.stderr.write(`Error: ${(error as Error).message}\n`)
    process.exit(1)
  }
  process.stdout.write(banner(agent.info))
  let signals = 0
  const shutdown = (signal: string): void => {
    signals++
    if (signals > 1) process.exit(1)
    agent.log.info({ component: 'mesh:agent', signal }, 'caught signal, leaving the cluster')
    agent.stop({ leave: true }).then(() => process.exit(0), () => process.exit(1))
  }
  process.on('SIGINT', () => shutdown('SIGINT'))
  process.on('SIGTERM', () => shutdown('SIGTERM'))
  // Node's default for SIGHUP is to exit; here it reloads (`systemctl reload`, as `consul reload`).
  // The reload logs its outcome itself, an invalid config included (nothing changes then).
  process.on('SIGHUP', () => {
    agent.log.child({ component: 'mesh:agent' }).info({ signal: 'SIGHUP' }, 'caught signal, reloading the configuration')
    agent.reload().catch(() => {})
  })
}
