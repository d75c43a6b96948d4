// `mesh agent start`: resolve the configuration, start the agent, print the banner, and turn
// SIGINT/SIGTERM into a graceful leave; SIGHUP re-checks the config instead of killing the process. Any startup failure is one clear line and exit code 1.

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
    agent = await Agent.start(config, log, { onShutdown: () => process.exit(0) })
    for (const warning of config.warnings) log.warn({ component: 'mesh:config' }, warning)
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
  // Node's default for SIGHUP is to exit, which would turn `systemctl reload` into a crash.
  // Applying a new config live is not built yet: the agent validates it and says so.
  process.on('SIGHUP', () => {
    const log = agent.log.child({ component: 'mesh:agent' })
    try {
      resolveConfig(options)
      log.warn('caught SIGHUP: the configuration is valid; live reload is not implemented, restart the agent to apply it')
    } catch (error) {
      log.error({ err: (error as Error).message }, 'caught SIGHUP: the configuration is invalid; nothing changed')
    }
  })
}
