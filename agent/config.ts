// Agent configuration: defaults, the JSON config file (Consul's snake_case keys), command-line
// flags on top, and validation of the result. Precedence: flags > config files and dirs > preset
// defaults. Config sources merge in order (--config-file files first, then each --config-dir's
// *.json in lexical name order): later keys override, services and checks concatenate, as in Consul.
// Every problem is reported as a ConfigError naming the field; nothing starts on a bad config.

import { readdirSync, readFileSync } from 'node:fs'
import { hostname, networkInterfaces, tmpdir } from 'node:os'
import type { NetworkInterfaceInfo } from 'node:os'
import { isIP } from 'node:net'
import { join } from 'node:path'
import { LOG_LEVELS } from './log.ts'
import type { LogFormat, LogLevel } from './log.ts'
import { parseDurationMs } from '../api/duration.ts'
import type { AgentStartOptions } from '../api/agent-options.ts'
import { DEFAULT_LISTENER_LIMITS, DEFAULT_TCP_PROXY_IDLE_TIMEOUT_MS } from '../api/connection-limits.ts'
import type { ConnectionLimits } from '../api/connection-limits.ts'

export class ConfigError extends Error {
  readonly code = 'MESH_ERR_CONFIG_INVALID'
  constructor (message: string) {
    super(message)
    this.name = 'ConfigError'
  }
}

export type MembershipPresetName = 'lan' | 'wan' | 'dev'

export interface AgentConfig {
  nodeName: string
  datacenter: string
  dataDir: string
  /** True when dataDir is a temporary directory created for --dev and removed on exit. */
  dataDirIsTemporary: boolean
  /** `--recover`: start from what is readable in a damaged catalog and restore the rest from peers. */
  recover: boolean
  /** Sync catalog writes before acknowledging them (false only with --unsafe-no-fsync). */
  catalogSync: boolean
  server: boolean
  dev: boolean
  bindAddress: string
  bindPort: number
  advertiseAddress: string
  clientAddress: string
  httpPort: number
  /** 0 picks a free port; -1 disables DNS. */
  dnsPort: number
  join: string[]
  retryJoinIntervalMs: number
  /** 32-byte cluster key, or undefined for an open cluster. */
  encryptKey: Uint8Array | undefined
  logLevel: LogLevel
  logFormat: LogFormat
  membershipPreset: MembershipPresetName
  domain: string
  altDomain: string | undefined
  recursors: string[]
  dnsOnlyPassing: boolean
  dnsNodeTtlSeconds: number
  dnsServiceTtlSeconds: Record<string, number>
  enableScriptChecks: boolean
  defaultIntentionPolicy: 'allow' | 'deny'
  /** Service and check definitions from the config file, in Consul's registration shape. */
  services: Array<Record<string, unknown>>
  checks: Array<Record<string, unknown>>
  /** Choices the configuration made that may not be what the user meant; the agent logs each at start. */
  warnings: string[]
  /** Connection limits of every listener (the config file's `limits` block over the defaults). */
  listenerLimits: AgentListenerLimits
}

export interface AgentListenerLimits {
  http: ConnectionLimits
  dnsTcp: ConnectionLimits
  gossip: ConnectionLimits
  sidecarInbound: ConnectionLimits
  sidecarUpstream: ConnectionLimits
  /** Idle timeout of sidecar listeners in `tcp` protocol mode. */
  tcpProxyIdleTimeoutMs: number
}

/** Flags as `mesh agent start` passes them: only the ones given on the command line are set. */
export type AgentFlags = AgentStartOptions

export const DEFAULT_GOSSIP_PORT = 8301
export const DEFAULT_HTTP_PORT = 8500
export const DEFAULT_DNS_PORT = 8600

const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/
const DNS_LABEL_PATTERN = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/

/** The config file's keys (a subset of Consul's) and how they map onto flags. */
interface ConfigFile {
  node_name?: string
  datacenter?: string
  data_dir?: string
  server?: boolean
  bind_addr?: string
  advertise_addr?: string
  client_addr?: string
  ports?: { http?: number, dns?: number, serf_lan?: number }
  retry_join?: string[]
  start_join?: string[]
  retry_interval?: string
  encrypt?: string
  log_level?: string
  log_json?: boolean
  domain?: string
  alt_domain?: string
  recursors?: string[]
  dns_config?: { only_passing?: boolean, node_ttl?: string, service_ttl?: Record<string, string> }
  enable_script_checks?: boolean
  default_intention_policy?: string
  services?: Array<Record<string, unknown>>
  service?: Record<string, unknown>
  checks?: Array<Record<string, unknown>>
  check?: Record<string, unknown>
  limits?: Record<string, unknown>
}

const CONFIG_FILE_KEYS = new Set([
  'node_name', 'datacenter', 'data_dir', 'server', 'bind_addr', 'advertise_addr', 'client_addr', 'ports',
  'retry_join', 'start_join', 'retry_interval', 'encrypt', 'log_level', 'log_json', 'domain', 'alt_domain',
  'recursors', 'dns_config', 'enable_script_checks', 'default_intention_policy', 'services', 'service', 'checks', 'check', 'limits',
])

/**
 * The `limits` block: per listener kind a connection cap, a cap per client address, a handshake
 * deadline and an idle timeout. Consul's names where Consul has the setting
 * (http_max_conns_per_client, rpc_handshake_timeout, rpc_max_conns_per_client).
 */
const LISTENER_LIMIT_KEYS: Record<string, { listener: Exclude<keyof AgentListenerLimits, 'tcpProxyIdleTimeoutMs'>, field: keyof ConnectionLimits } | 'tcp-idle'> = {
  http_max_conns: { listener: 'http', field: 'maxConnections' },
  http_max_conns_per_client: { listener: 'http', field: 'maxConnectionsPerSource' },
  http_handshake_timeout: { listener: 'http', field: 'handshakeTimeoutMs' },
  http_idle_timeout: { listener: 'http', field: 'idleTimeoutMs' },
  dns_max_conns: { listener: 'dnsTcp', field: 'maxConnections' },
  dns_max_conns_per_client: { listener: 'dnsTcp', field: 'maxConnectionsPerSource' },
  dns_handshake_timeout: { listener: 'dnsTcp', field: 'handshakeTimeoutMs' },
  dns_idle_timeout: { listener: 'dnsTcp', field: 'idleTimeoutMs' },
  rpc_max_conns: { listener: 'gossip', field: 'maxConnections' },
  rpc_max_conns_per_client: { listener: 'gossip', field: 'maxConnectionsPerSource' },
  rpc_handshake_timeout: { listener: 'gossip', field: 'handshakeTimeoutMs' },
  rpc_idle_timeout: { listener: 'gossip', field: 'idleTimeoutMs' },
  proxy_max_conns: { listener: 'sidecarInbound', field: 'maxConnections' },
  proxy_max_conns_per_client: { listener: 'sidecarInbound', field: 'maxConnectionsPerSource' },
  proxy_handshake_timeout: { listener: 'sidecarInbound', field: 'handshakeTimeoutMs' },
  proxy_idle_timeout: { listener: 'sidecarInbound', field: 'idleTimeoutMs' },
  proxy_upstream_max_conns: { listener: 'sidecarUpstream', field: 'maxConnections' },
  proxy_upstream_idle_timeout: { listener: 'sidecarUpstream', field: 'idleTimeoutMs' },
  proxy_tcp_idle_timeout: 'tcp-idle',
}

function resolveListenerLimits (block: unknown): AgentListenerLimits {
  const limits: AgentListenerLimits = {
    http: { ...DEFAULT_LISTENER_LIMITS.http },
    dnsTcp: { ...DEFAULT_LISTENER_LIMITS.dnsTcp },
    gossip: { ...DEFAULT_LISTENER_LIMITS.gossip },
    sidecarInbound: { ...DEFAULT_LISTENER_LIMITS.sidecarInbound },
    sidecarUpstream: { ...DEFAULT_LISTENER_LIMITS.sidecarUpstream },
    tcpProxyIdleTimeoutMs: DEFAULT_TCP_PROXY_IDLE_TIMEOUT_MS,
  }
  if (block === undefined) return limits
  expectType(block, 'object', 'limits')
  for (const [key, value] of Object.entries(block as Record<string, unknown>)) {
    const target = LISTENER_LIMIT_KEYS[key]
    if (target === undefined) throw new ConfigError(`limits: unknown key "${key}" (known: ${Object.keys(LISTENER_LIMIT_KEYS).join(', ')})`)
    const field = target === 'tcp-idle' ? 'idleTimeoutMs' : target.field
    let parsed: number
    if (field === 'maxConnections' || field === 'maxConnectionsPerSource') {
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) throw new ConfigError(`limits.${key} must be a positive integer, got ${JSON.stringify(value)}`)
      parsed = value
    } else {
      if (typeof value !== 'string') throw new ConfigError(`limits.${key} must be a duration such as "10s" ("0s" disables it), got ${JSON.stringify(value)}`)
      parsed = parseDuration(value, `limits.${key}`)
    }
    if (target === 'tcp-idle') limits.tcpProxyIdleTimeoutMs = parsed
    else limits[target.listener][target.field] = parsed
  }
  return limits
}

export function readConfigFile (path: string): ConfigFile {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    throw new ConfigError(`cannot read config file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`)
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (error) {
    throw new ConfigError(`config file ${path} is not valid JSON: ${(error as Error).message}`)
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError(`config file ${path} must hold a JSON object`)
  }
  for (const key of Object.keys(parsed)) {
    if (!CONFIG_FILE_KEYS.has(key)) throw new ConfigError(`config file ${path}: unknown key "${key}"`)
  }
  return parsed as ConfigFile
}

function readConfigDir (dir: string): ConfigFile[] {
  let names: string[]
  try {
    names = readdirSync(dir)
  } catch (error) {
    throw new ConfigError(`cannot read config dir ${dir}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`)
  }
  return names.filter(name => name.endsWith('.json')).sort().map(name => readConfigFile(join(dir, name)))
}

/** Folds the singular `service`/`check` keys into their arrays, so merging only concatenates. */
function withDefinitionArrays (file: ConfigFile): ConfigFile {
  const { service, check, ...rest } = file
  const result: ConfigFile = { ...rest }
  if (file.services !== undefined) expectType(file.services, 'array', 'services')
  if (file.checks !== undefined) expectType(file.checks, 'array', 'checks')
  if (file.services !== undefined || service !== undefined) result.services = [...(file.services ?? []), ...(service === undefined ? [] : [service])]
  if (file.checks !== undefined || check !== undefined) result.checks = [...(file.checks ?? []), ...(check === undefined ? [] : [check])]
  return result
}

function isPlainObject (value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

/** Reads every config file and dir the flags name and merges them in order into one. */
export function loadConfigSources (sources: { configFile?: string, configDir?: string[] }): ConfigFile {
  const files = [
    ...(sources.configFile === undefined ? [] : [readConfigFile(sources.configFile)]),
    ...(sources.configDir ?? []).flatMap(readConfigDir),
  ]
  const merged: Record<string, unknown> = {}
  for (const file of files.map(withDefinitionArrays)) {
    for (const [key, value] of Object.entries(file)) {
      const previous = merged[key]
      if ((key === 'services' || key === 'checks') && Array.isArray(previous)) {
        merged[key] = [...previous, ...(value as unknown[])]
      } else if (isPlainObject(previous) && isPlainObject(value)) {
        merged[key] = { ...previous, ...value }
      } else {
        merged[key] = value
      }
    }
  }
  return merged as ConfigFile
}

function expectType (value: unknown, type: 'string' | 'boolean' | 'number' | 'array' | 'object', field: string): void {
  const ok = type === 'array' ? Array.isArray(value) : type === 'object' ? (value !== null && typeof value === 'object' && !Array.isArray(value)) : typeof value === type
  if (!ok) throw new ConfigError(`${field} must be a ${type}`)
}

export function parsePort (value: number | string, field: string, options: { allowZero: boolean, allowDisabled?: boolean }): number {
  const port = typeof value === 'number' ? value : /^-?\d+$/.test(value) ? Number(value) : NaN
  if (options.allowDisabled === true && port === -1) return -1
  if (!Number.isInteger(port) || port < (options.allowZero ? 0 : 1) || port > 65535) {
    throw new ConfigError(`${field} must be a port number between ${options.allowZero ? 0 : 1} and 65535, got "${value}"`)
  }
  return port
}

/** A host name, optionally fully qualified with a trailing dot, as the CLI accepts it (cli/addresses.ts). */
const HOSTNAME_PATTERN = /^(?=.{1,254}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/

export function parseHostPort (value: string, field: string, defaultPort: number, options: { allowHostname?: boolean } = {}): { host: string, port: number } {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(value)
  let host: string
  let portText: string | undefined
  if (bracketed !== null) {
    host = bracketed[1]
    portText = bracketed[2]
  } else {
    const parts = value.split(':')
    if (parts.length > 2) { host = value; portText = undefined } else { host = parts[0]; portText = parts[1] }
  }
  if (isIP(host) === 0 && !(options.allowHostname === true && HOSTNAME_PATTERN.test(host))) {
    throw new ConfigError(`${field} must be ${options.allowHostname === true ? 'an IP address or host name' : 'an IP address'} with an optional port, got "${value}"`)
  }
  const port = portText === undefined ? defaultPort : parsePort(portText, field, { allowZero: true })
  return { host, port }
}

export function decodeClusterKey (text: string, field: string): Uint8Array {
  const key = Buffer.from(text, 'base64')
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text) || key.length !== 32) {
    throw new ConfigError(`${field} must be 32 bytes encoded as base64 (make one with "mesh keygen")`)
  }
  return new Uint8Array(key)
}

function parseDuration (text: string, field: string): number {
  try {
    return parseDurationMs(text)
  } catch (error) {
    throw new ConfigError(`${field}: ${(error as Error).message}`)
  }
}

export type NetworkInterfaces = () => NodeJS.Dict<NetworkInterfaceInfo[]>

/**
 * What Consul advertises when bound to all addresses: the first non-loopback IPv4 address, in
 * the order the system lists its interfaces (in a container: its own eth0 on a bridge network,
 * the host's first interface with host networking). Undefined when there is none (a container
 * without a network, `--network none`).
 */
function firstPrivateAddress (interfaces: NetworkInterfaces): string | undefined {
  for (const addresses of Object.values(interfaces())) {
    for (const address of addresses ?? []) {
      if (address.family === 'IPv4' && !address.internal) return address.address
    }
  }
  return undefined
}

/**
 * Builds and validates the whole configuration. `now` names the temporary dev data dir;
 * `interfaces` lists the machine's addresses (os.networkInterfaces) for the advertise default.
 */
export function resolveConfig (flags: AgentFlags, options: { now?: () => number, interfaces?: NetworkInterfaces } = {}): AgentConfig {
  const warnings: string[] = []
  const file = loadConfigSources(flags)
  const dev = flags.dev === true
  const pick = <T>(flag: T | undefined, fileValue: T | undefined, fallback: T): T => flag ?? fileValue ?? fallback

  if (file.node_name !== undefined) expectType(file.node_name, 'string', 'node_name')
  const nodeName = pick(flags.node, file.node_name, hostname())
  if (!NAME_PATTERN.test(nodeName)) throw new ConfigError(`node name "${nodeName}" must be 1-63 letters, digits, '-', '_' or '.'`)

  const datacenter = pick(flags.datacenter, file.datacenter, 'dc1').toLowerCase()
  if (!DNS_LABEL_PATTERN.test(datacenter) || datacenter.includes('.')) throw new ConfigError(`datacenter "${datacenter}" must be a DNS label`)

  let dataDir = flags.dataDir ?? file.data_dir
  let dataDirIsTemporary = false
  if (dataDir === undefined) {
    if (!dev) throw new ConfigError('a data directory is required: pass --data-dir DIR (or use --dev)')
    dataDir = join(tmpdir(), `mesh-dev-${process.pid}-${(options.now ?? Date.now)()}`)
    dataDirIsTemporary = true
  }

  // A dev agent stays on loopback, as Consul's does; others listen everywhere.
  const bindText = pick(flags.bind, file.bind_addr, `${dev ? '127.0.0.1' : '0.0.0.0'}:${file.ports?.serf_lan ?? DEFAULT_GOSSIP_PORT}`)
  const bind = parseHostPort(bindText, '--bind', file.ports?.serf_lan ?? DEFAULT_GOSSIP_PORT)
  const clientAddress = pick(flags.client, file.client_addr, '127.0.0.1')
  if (isIP(clientAddress) === 0) throw new ConfigError(`--client must be an IP address, got "${clientAddress}"`)
  let advertiseAddress = flags.advertise ?? file.advertise_addr
  if (advertiseAddress === undefined) {
    if (bind.host === '0.0.0.0' || bind.host === '::') {
      advertiseAddress = firstPrivateAddress(options.interfaces ?? networkInterfaces)
      if (advertiseAddress === undefined) {
        advertiseAddress = '127.0.0.1'
        warnings.push(`bound to ${bind.host} but this machine has no non-loopback IPv4 address: advertising 127.0.0.1, ` +
          'which only agents on this machine can reach; pass --advertise with the address other agents should use')
      }
    } else {
      advertiseAddress = bind.host
    }
  }
  if (isIP(advertiseAddress) === 0) throw new ConfigError(`--advertise must be an IP address, got "${advertiseAddress}"`)

  const httpPort = parsePort(pick<number | string>(flags.httpPort, file.ports?.http, DEFAULT_HTTP_PORT), '--http-port', { allowZero: true })
  const dnsPort = parsePort(pick<number | string>(flags.dnsPort, file.ports?.dns, DEFAULT_DNS_PORT), '--dns-port', { allowZero: true, allowDisabled: true })

  const joinList = [...(flags.join ?? []), ...(flags.join === undefined ? [...(file.retry_join ?? []), ...(file.start_join ?? [])] : [])]
  const joinAddresses = joinList.map((address) => {
    const { host, port } = parseHostPort(address, '--join', DEFAULT_GOSSIP_PORT, { allowHostname: true })
    return `${host.includes(':') ? `[${host}]` : host}:${port}`
  })

  const encryptText = flags.encrypt ?? file.encrypt
  const encryptKey = encryptText === undefined ? undefined : decodeClusterKey(encryptText, '--encrypt')

  const logLevel = pick(flags.logLevel, file.log_level, 'info').toLowerCase()
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) throw new ConfigError(`--log-level must be one of ${LOG_LEVELS.join(', ')}`)
  const logFormat = flags.logFormat ?? (file.log_json === true ? 'json' : 'text')
  if (logFormat !== 'text' && logFormat !== 'json') throw new ConfigError('--log-format must be text or json')

  const domain = pick(flags.domain, file.domain, 'consul').toLowerCase().replace(/\.$/, '')
  if (!DNS_LABEL_PATTERN.test(domain)) throw new ConfigError(`--domain "${domain}" is not a valid DNS name`)
  const altDomain = (flags.altDomain ?? file.alt_domain)?.toLowerCase().replace(/\.$/, '')
  if (altDomain !== undefined && !DNS_LABEL_PATTERN.test(altDomain)) throw new ConfigError(`--alt-domain "${altDomain}" is not a valid DNS name`)
  const recursors = flags.recursor ?? file.recursors ?? []
  for (const recursor of recursors) parseHostPort(recursor, '--recursor', 53)

  const dnsConfig = file.dns_config ?? {}
  const dnsNodeTtlSeconds = dnsConfig.node_ttl === undefined ? 0 : Math.round(parseDuration(dnsConfig.node_ttl, 'dns_config.node_ttl') / 1000)
  const dnsServiceTtlSeconds: Record<string, number> = {}
  for (const [name, ttl] of Object.entries(dnsConfig.service_ttl ?? {})) {
    dnsServiceTtlSeconds[name] = Math.round(parseDuration(ttl, `dns_config.service_ttl.${name}`) / 1000)
  }

  const policy = pick(flags.defaultIntentionPolicy, file.default_intention_policy, dev ? 'allow' : 'deny')
  if (policy !== 'allow' && policy !== 'deny') throw new ConfigError('--default-intention-policy must be allow or deny')

  const services = [...(file.services ?? []), ...(file.service === undefined ? [] : [file.service])]
  const checks = [...(file.checks ?? []), ...(file.check === undefined ? [] : [file.check])]
  for (const [index, service] of services.entries()) expectType(service, 'object', `services[${index}]`)
  for (const [index, check] of checks.entries()) expectType(check, 'object', `checks[${index}]`)

  const retryText = flags.retryInterval ?? file.retry_interval
  const retryJoinIntervalMs = retryText === undefined ? (dev ? 1000 : 30_000) : parseDuration(retryText, '--retry-interval')

  return {
    nodeName,
    datacenter,
    dataDir,
    dataDirIsTemporary,
    recover: flags.recover === true,
    catalogSync: flags.unsafeNoFsync !== true,
    server: dev || flags.server === true || file.server === true,
    dev,
    bindAddress: bind.host,
    bindPort: bind.port,
    advertiseAddress,
    clientAddress,
    httpPort,
    dnsPort,
    join: joinAddresses,
    retryJoinIntervalMs,
    encryptKey,
    logLevel: logLevel as LogLevel,
    logFormat,
    membershipPreset: dev ? 'dev' : 'lan',
    domain,
    altDomain,
    recursors,
    dnsOnlyPassing: flags.dnsOnlyPassing ?? dnsConfig.only_passing ?? false,
    dnsNodeTtlSeconds,
    dnsServiceTtlSeconds,
    enableScriptChecks: flags.enableScriptChecks ?? file.enable_script_checks ?? false,
    defaultIntentionPolicy: policy,
    services,
    checks,
    warnings,
    listenerLimits: resolveListenerLimits(file.limits),
  }
}
