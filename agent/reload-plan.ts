// What a configuration reload would change, as a pure function of the running configuration, the
// freshly loaded one (the same loader as start: agent/config.ts's resolveConfig) and a read of the
// local registrations. Nothing here writes; agent/reload.ts applies the plan.
//
// Only definitions from config files move: a service or check is removed when the running config
// defined it and the new one does not, added when the new config defines it and the running one
// did not (or the catalog no longer holds it), updated when its definition changed. Services and
// checks registered through the HTTP API are in neither config, so a reload never touches them.
// Identity is Consul's: a service's ID (its Name when no ID is given), a check's CheckID (its Name
// when none). Definitions are compared as canonical JSON, so key order does not matter.
//
// Every new definition is validated by the registration rules (agent/local) before anything is
// planned: one invalid definition makes planReload throw a ConfigError naming it, as at start, and
// the running agent changes nothing. Fields the running agent cannot change (ports, addresses,
// data dir, node name, cluster key, server/dev mode, DNS and join settings…) are listed by their
// config-file names in `restartRequired`; the agent keeps running with the old values.

import type { ServiceRecord } from '../api/catalog-types.ts'
import { ConfigError } from './config.ts'
import type { AgentConfig } from './config.ts'
import type { LogLevel } from './log.ts'
import { normalizeCheckPayload } from './local/check-payload.ts'
import type { CheckOwner } from './local/check-payload.ts'
import { normalizeServicePayload } from './local/service-payload.ts'
import type { NormalizedRegistration } from './local/service-payload.ts'

/** What the plan reads of the local catalog: what is registered now, from any source. */
export interface LocalRegistrations {
  services: ServiceRecord[]
  checkIds: string[]
}

export interface PlannedDefinition {
  id: string
  definition: Record<string, unknown>
}

export interface PlannedServiceUpdate extends PlannedDefinition {
  /** Checks the old definition embedded (its own and its sidecar's) that the new one no longer has. */
  staleCheckIds: string[]
  /** The sidecar the old definition declared and the new one does not. */
  staleSidecarId: string | undefined
}

export interface ReloadPlan {
  services: { add: PlannedDefinition[], update: PlannedServiceUpdate[], remove: string[] }
  /** Standalone checks of the config (a service's embedded checks move with the service). */
  checks: { add: PlannedDefinition[], update: PlannedDefinition[], remove: string[] }
  logLevel: { from: LogLevel, to: LogLevel } | undefined
  /** Config-file names of the fields that changed but need a restart, in a fixed order. */
  restartRequired: string[]
  /** The configuration the agent runs once the plan is applied: the running one with the new definitions and log level. */
  applied: AgentConfig
}

/**
 * The fields a reload cannot apply, under the names the config file gives them. Typed over every
 * AgentConfig field but the reloadable ones, so a new config field must be placed here to compile.
 */
// Left out besides the reloadable fields: what is derived from others (dataDirIsTemporary,
// membershipPreset, warnings) and the start modes set only by flags (`--recover`,
// `--unsafe-no-fsync`), which a reload re-reads unchanged from the same command line.
const RESTART_FIELDS: Record<Exclude<keyof AgentConfig, 'services' | 'checks' | 'logLevel' | 'dataDirIsTemporary' | 'membershipPreset' | 'warnings' | 'recover' | 'catalogSync'>, string> = {
  nodeName: 'node_name',
  datacenter: 'datacenter',
  dataDir: 'data_dir',
  server: 'server',
  dev: 'dev',
  bindAddress: 'bind_addr',
  bindPort: 'ports.serf_lan',
  advertiseAddress: 'advertise_addr',
  clientAddress: 'client_addr',
  httpPort: 'ports.http',
  dnsPort: 'ports.dns',
  join: 'retry_join',
  retryJoinIntervalMs: 'retry_interval',
  encryptKey: 'encrypt',
  listenerLimits: 'limits',
  logFormat: 'log_json',
  domain: 'domain',
  altDomain: 'alt_domain',
  recursors: 'recursors',
  dnsOnlyPassing: 'dns_config.only_passing',
  dnsNodeTtlSeconds: 'dns_config.node_ttl',
  dnsServiceTtlSeconds: 'dns_config.service_ttl',
  enableScriptChecks: 'enable_script_checks',
  defaultIntentionPolicy: 'default_intention_policy',
}

/** JSON with object keys sorted at every depth: equal definitions give equal text. */
export function canonicalJson (value: unknown): string {
  if (value instanceof Uint8Array) return JSON.stringify(Buffer.from(value).toString('base64'))
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, item]) => item !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`
  }
  return JSON.stringify(value) ?? 'null'
}

/** The config-file names of the fields that differ between the two configs. */
export function restartRequiredFields (running: AgentConfig, next: AgentConfig): string[] {
  const changed: string[] = []
  for (const [field, name] of Object.entries(RESTART_FIELDS) as Array<[keyof typeof RESTART_FIELDS, string]>) {
    // A --dev agent's temporary data dir is named afresh at every load: two temporary dirs are the same dir.
    if (field === 'dataDir' && running.dataDirIsTemporary && next.dataDirIsTemporary) continue
    if (canonicalJson(running[field]) !== canonicalJson(next[field])) changed.push(name)
  }
  return changed
}

interface ServiceFacts {
  definition: Record<string, unknown>
  registration: NormalizedRegistration
}

function embeddedIds (registration: NormalizedRegistration): { checkIds: string[], sidecarId: string | undefined } {
  const sidecar = registration.sidecar
  return {
    checkIds: [...registration.checks, ...(sidecar?.checks ?? [])].map(check => check.CheckID),
    sidecarId: sidecar?.service.ID,
  }
}

/** Normalises each service definition by the registration rules; the last definition of an ID wins, as at start. */
function normalizeServices (config: AgentConfig, local: LocalRegistrations, label: (index: number) => string): Map<string, ServiceFacts> {
  const byId = new Map<string, ServiceFacts>()
  for (const [index, definition] of config.services.entries()) {
    let registration: NormalizedRegistration
    try {
      registration = normalizeServicePayload(definition, {
        enableScriptChecks: config.enableScriptChecks,
        nodeName: config.nodeName,
        nodeAddress: config.advertiseAddress,
        localServices: local.services,
      })
    } catch (error) {
      throw new ConfigError(`${label(index)}: ${(error as Error).message}`)
    }
    byId.set(registration.service.ID, { definition, registration })
  }
  return byId
}

/** A standalone check's ID by Consul's rule (CheckID, else Name), read through the registration rules. */
function normalizeChecks (
  config: AgentConfig,
  lookupService: (id: string) => CheckOwner | undefined,
  label: (index: number) => string
): Map<string, Record<string, unknown>> {
  const byId = new Map<string, Record<string, unknown>>()
  for (const [index, definition] of config.checks.entries()) {
    let id: string
    try {
      id = normalizeCheckPayload(definition, { enableScriptChecks: config.enableScriptChecks, nodeName: config.nodeName, lookupService }).CheckID
    } catch (error) {
      throw new ConfigError(`${label(index)}: ${(error as Error).message}`)
    }
    byId.set(id, definition)
  }
  return byId
}

/**
 * Plans the reload from `running` to `next`; throws a ConfigError naming the first invalid
 * service or check of `next`. Neither config is modified.
 */
export function planReload (running: AgentConfig, next: AgentConfig, local: LocalRegistrations): ReloadPlan {
  // New definitions are checked with the running agent's rules (its node, its script-check switch):
  // those are what registers them, since changing the rules themselves needs a restart.
  const rules: AgentConfig = { ...running, services: next.services, checks: next.checks }
  const nextServices = normalizeServices(rules, local, index => `services[${index}]`)
  // The running definitions were valid when applied; they are read again only for their IDs.
  const runningServices = normalizeServices(running, local, index => `running services[${index}]`)

  const registered = new Set(local.services.map(service => service.ID))
  const add: PlannedDefinition[] = []
  const update: PlannedServiceUpdate[] = []
  for (const [id, { definition, registration }] of nextServices) {
    const old = runningServices.get(id)
    if (old === undefined || !registered.has(id)) {
      add.push({ id, definition })
    } else if (canonicalJson(old.definition) !== canonicalJson(definition)) {
      const before = embeddedIds(old.registration)
      const after = embeddedIds(registration)
      update.push({
        id,
        definition,
        staleCheckIds: before.checkIds.filter(checkId => !after.checkIds.includes(checkId)),
        staleSidecarId: before.sidecarId !== undefined && before.sidecarId !== after.sidecarId ? before.sidecarId : undefined,
      })
    }
  }
  const remove = [...runningServices.keys()].filter(id => !nextServices.has(id) && registered.has(id))

  // A standalone check may name a service of the new config or one registered now that stays.
  const gone = new Set([...remove, ...update.flatMap(change => change.staleSidecarId ?? [])])
  const owners = new Map<string, CheckOwner>()
  for (const service of local.services) if (!gone.has(service.ID)) owners.set(service.ID, service)
  for (const [id, { registration }] of nextServices) {
    owners.set(id, registration.service)
    if (registration.sidecar !== undefined) owners.set(registration.sidecar.service.ID, registration.sidecar.service)
  }
  const nextChecks = normalizeChecks(rules, id => owners.get(id), index => `checks[${index}]`)
  const runningChecks = runningCheckIds(running)
  const checkIds = new Set(local.checkIds)
  const checks: ReloadPlan['checks'] = { add: [], update: [], remove: [] }
  for (const [id, definition] of nextChecks) {
    const old = runningChecks.get(id)
    if (old === undefined || !checkIds.has(id)) checks.add.push({ id, definition })
    else if (canonicalJson(old) !== canonicalJson(definition)) checks.update.push({ id, definition })
  }
  checks.remove = [...runningChecks.keys()].filter(id => !nextChecks.has(id) && checkIds.has(id))

  return {
    services: { add, update, remove },
    checks,
    logLevel: running.logLevel === next.logLevel ? undefined : { from: running.logLevel, to: next.logLevel },
    restartRequired: restartRequiredFields(running, next),
    applied: { ...running, logLevel: next.logLevel, services: next.services, checks: next.checks },
  }
}

/**
 * The running config's standalone checks by ID. Their services may since have gone (deregistered
 * through the API), so only the ID is read here, by the same rule as normalizeCheckPayload's.
 */
function runningCheckIds (running: AgentConfig): Map<string, Record<string, unknown>> {
  const anyOwner = (id: string): CheckOwner => ({ ID: id, Service: id, Tags: [] })
  return normalizeChecks(running, anyOwner, index => `running checks[${index}]`)
}
