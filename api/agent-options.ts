// The contract between `mesh agent start` (cli/commands/agent-start.ts) and the agent
// (agent/run.ts): plain data, no agent imports, so the CLI can validate flags without loading
// the agent and the agent can import this type without loading commander.

export type AgentLogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error'
export type AgentLogFormat = 'text' | 'json'
export type IntentionPolicy = 'allow' | 'deny'

export const LOG_LEVELS: AgentLogLevel[] = ['trace', 'debug', 'info', 'warn', 'error']
export const LOG_FORMATS: AgentLogFormat[] = ['text', 'json']
export const INTENTION_POLICIES: IntentionPolicy[] = ['allow', 'deny']
/** Length of the cluster key `mesh keygen` prints and `--encrypt` takes. */
export const CLUSTER_KEY_BYTES = 32

/**
 * The flags given on the command line, already syntax-checked by the CLI.
 *
 * Only flags the user typed are present: a missing field means "not given", never "default".
 * That lets the agent apply its precedence (flags > --config-file > preset defaults) without
 * guessing whether a value came from the user. Defaults are the agent's, listed in `mesh agent
 * start --help` for the reader only.
 */
export interface AgentStartOptions {
  /** Development mode: in-memory-ish temporary data dir, server, dev membership timings. */
  dev?: boolean
  /** Holds the CA root key. */
  server?: boolean
  /** Node name (agent default: the hostname). */
  node?: string
  /** Gossip bind address, "ADDR" or "ADDR:PORT" ("[v6]:PORT" for IPv6); agent default 0.0.0.0:8301. */
  bind?: string
  /** Address other agents should use to reach this one. */
  advertise?: string
  /** Address of the HTTP API and DNS listeners (agent default 127.0.0.1). */
  client?: string
  /** HTTP API port, 0–65535 (agent default 8500; 0 picks a free port). */
  httpPort?: number
  /** DNS port, 0–65535, or -1 to disable DNS (agent default 8600). */
  dnsPort?: number
  dataDir?: string
  /** Start from what is readable in a damaged data dir (kept aside) and restore this node's records from peers. */
  recover?: boolean
  /** Acknowledge catalog writes without syncing them to disk: a power loss may lose acknowledged registrations. */
  unsafeNoFsync?: boolean
  /** Agents to join at start, "ADDR" or "ADDR:PORT", in the order given. */
  join?: string[]
  /** Cluster key: base64 of exactly 32 bytes (as `mesh keygen` prints). */
  encrypt?: string
  /** JSON config file; parsed and validated by the agent. */
  configFile?: string
  /** Directories whose *.json files are merged after configFile, in lexical name order. */
  configDir?: string[]
  logLevel?: AgentLogLevel
  logFormat?: AgentLogFormat
  datacenter?: string
  /** DNS domain (agent default "consul"). */
  domain?: string
  altDomain?: string
  /** Upstream DNS resolvers for names outside the domain, "ADDR" or "ADDR:PORT". */
  recursor?: string[]
  dnsOnlyPassing?: boolean
  enableScriptChecks?: boolean
  defaultIntentionPolicy?: IntentionPolicy
  /** Time between join retries, a Go duration such as "30s" (validated by the CLI). */
  retryInterval?: string
}
