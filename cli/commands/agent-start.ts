// `mesh agent start`: parses and checks every flag, then loads the agent (agent/run.ts) and runs
// it. The checks happen first, so a typo costs a one-line error, not a second of libp2p loading.
// Only the flags actually given reach the agent (see AgentStartOptions): it applies its config
// file and defaults underneath them.

import { Command, Option } from 'commander'
import { parseHostPort, parseIpAddress, parsePort } from '../addresses.ts'
import { CLUSTER_KEY_BYTES, INTENTION_POLICIES, LOG_FORMATS, LOG_LEVELS } from '../../api/agent-options.ts'
import type { AgentStartOptions } from '../../api/agent-options.ts'
import { parseDurationText } from '../duration.ts'
import { UsageError } from '../errors.ts'
import { importEntryPoint } from '../lazy-import.ts'
import { argParser, examples, repeatable } from '../options.ts'

/** Type only (erased at run time): tsc checks agent/run.ts against the options we pass. */
type AgentModule = typeof import('../../agent/run.ts')

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/

export function parseClusterKey (text: string): string {
  if (!BASE64.test(text) || text.length % 4 !== 0 || Buffer.from(text, 'base64').length !== CLUSTER_KEY_BYTES) {
    throw new UsageError(`--encrypt must be ${CLUSTER_KEY_BYTES} bytes in base64 (make one with "mesh keygen")`)
  }
  return text
}

function parseName (flag: string): (text: string) => string {
  return (text: string) => {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/.test(text)) {
      throw new UsageError(`${flag} must be 1-63 letters, digits, "-", "_" or "." starting with a letter or digit, got "${text}"`)
    }
    return text
  }
}

function parseDomain (flag: string): (text: string) => string {
  return (text: string) => {
    if (!/^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/.test(text)) {
      throw new UsageError(`${flag} must be a DNS domain such as "consul", got "${text}"`)
    }
    return text
  }
}

function hostPortText (flag: string, ipOnly: boolean, allowZeroPort = false): (text: string) => string {
  return (text: string) => { parseHostPort(text, flag, { ipOnly, allowZeroPort }); return text }
}

export function agentStartCommand (): Command {
  // No defaults are given to commander, on purpose: a value in the options means the user typed
  // it. The defaults named in the help are the agent's.
  return new Command('start')
    .description('Start the agent in the foreground')
    .option('--dev', 'development mode: a single-node server with a temporary data dir')
    .option('--server', 'hold the CA root key (sign intermediates for other agents)')
    .option('--node <name>', 'node name (default: the hostname)', argParser(parseName('--node')))
    .option('--bind <addr[:port]>', 'gossip address, IP with optional port, 0 for any free port (default 0.0.0.0:8301)', argParser(hostPortText('--bind', true, true)))
    .option('--advertise <addr>', 'address other agents use to reach this one (default: the bind address)', argParser(text => parseIpAddress(text, '--advertise')))
    .option('--client <addr>', 'address of the HTTP API and DNS (default 127.0.0.1)', argParser(text => parseIpAddress(text, '--client')))
    .option('--http-port <port>', 'HTTP API port, 0 for any free port (default 8500)', argParser(text => parsePort(text, '--http-port', { allowZero: true })))
    .option('--dns-port <port>', 'DNS port, 0 for any free port, -1 to disable (default 8600)', argParser(text => parsePort(text, '--dns-port', { allowZero: true, allowDisabled: true })))
    .option('--data-dir <dir>', 'where the agent keeps its identity, catalog and keys')
    .option('--unsafe-no-fsync', 'acknowledge catalog writes before they are synced to disk: faster, but a power loss or kernel crash may lose acknowledged registrations')
    .option('--recover', 'the data dir\'s catalog is damaged: keep it aside, start from what is readable and restore this node\'s records from peers')
    .option('--join <addr[:port]>', 'agent to join at start, repeatable', repeatable(hostPortText('--join', false)))
    .option('--encrypt <key>', 'cluster key, 32 bytes base64 (from "mesh keygen")', argParser(parseClusterKey))
    .option('--config-file <file>', 'JSON config file (Consul-style keys); flags override it')
    .option('--config-dir <dir>', 'directory of *.json config files merged in name order after --config-file, repeatable', repeatable((text: string) => text))
    .addOption(new Option('--log-level <level>', 'log level (default info)').choices(LOG_LEVELS))
    .addOption(new Option('--log-format <format>', 'log format (default text)').choices(LOG_FORMATS))
    .option('--datacenter <name>', 'datacenter name (default dc1)', argParser(parseName('--datacenter')))
    .option('--domain <domain>', 'DNS domain answered (default consul)', argParser(parseDomain('--domain')))
    .option('--alt-domain <domain>', 'a second DNS domain answered like --domain', argParser(parseDomain('--alt-domain')))
    .option('--recursor <addr[:port]>', 'upstream DNS server for other names, repeatable', repeatable(hostPortText('--recursor', true)))
    .option('--dns-only-passing', 'DNS answers leave out instances with warning checks')
    .option('--enable-script-checks', 'allow health checks that run local scripts')
    .addOption(new Option('--default-intention-policy <policy>', 'decision when no intention matches (default deny; allow with --dev)').choices(INTENTION_POLICIES))
    .option('--retry-interval <duration>', 'time between join retries (default 30s; 1s with --dev)', argParser(text => parseDurationText(text, '--retry-interval')))
    .addHelpText('after', examples(
      'mesh agent start --dev',
      'mesh agent start --server --node vm-1 --bind 10.0.0.1 --data-dir /var/lib/mesh --encrypt "$(cat /etc/mesh/key)"',
      'mesh agent start --node vm-2 --bind 10.0.0.2 --join 10.0.0.1 --config-file /etc/mesh/agent.json',
    ))
    .action(async (options: AgentStartOptions) => {
      const agent = await importEntryPoint<AgentModule>(new URL('../../agent/run.ts', import.meta.url), 'the agent')
      await agent.runAgent({ ...options })
    })
}
