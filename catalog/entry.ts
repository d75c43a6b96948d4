// Replication entries (what agents gossip and sync) and their validation. An entry arriving from
// the network is untrusted: `validateEntry` checks its shape, every string's length and the whole
// entry's size, and rebuilds it from known fields only, so nothing unexpected is ever stored.

import type { CheckRecord, HealthStatus, NodeRecord, ServiceRecord } from '../api/catalog-types.ts'
import type { Hlc } from './hlc.ts'
import { InvalidEntryError } from './errors.ts'
import { isRecord } from '../api/guards.ts'
import { identifierProblem } from '../api/identifiers.ts'

/** An entry written by one node about itself, versioned by that node's own counter. */
export interface NodeEntry { scope: 'node', kind: 'node', node: string, key: string, version: number, deleted: boolean, value?: NodeRecord }
export interface ServiceEntry { scope: 'node', kind: 'service', node: string, key: string, version: number, deleted: boolean, value?: ServiceRecord }
export interface CheckEntry { scope: 'node', kind: 'check', node: string, key: string, version: number, deleted: boolean, value?: CheckRecord }
export type NodeScopedEntry = NodeEntry | ServiceEntry | CheckEntry
/** A cluster-wide last-writer-wins register (intention, config-entry, ca-root, …). */
export interface ClusterEntry { scope: 'cluster', kind: string, key: string, hlc: Hlc, deleted: boolean, value?: unknown }
export type Entry = NodeScopedEntry | ClusterEntry

export const LIMITS = {
  nameChars: 256,
  keyChars: 512,
  addressChars: 256,
  tags: 64,
  metaKeys: 64,
  metaKeyChars: 128,
  metaValueChars: 512,
  notesChars: 4096,
  /** Consul truncates check output at 4 KiB by default; allow some headroom for other agents' settings. */
  outputChars: 16 * 1024,
  /** Serialized size of one node-scoped entry. */
  nodeEntryBytes: 64 * 1024,
  /** Serialized size of one cluster entry (CA roots carry certificate chains). */
  clusterEntryBytes: 256 * 1024,
} as const

const RESERVED_KINDS = new Set(['node', 'service', 'check'])
const CLUSTER_KIND = /^[a-z][a-z0-9-]{0,63}$/
const TYPE_CHARS = 32
const HEALTH: ReadonlySet<string> = new Set<HealthStatus>(['passing', 'warning', 'critical', 'maintenance'])

function text (value: unknown, field: string, maxChars: number, options: { nonEmpty?: boolean, identifier?: boolean } = {}): string {
  if (typeof value !== 'string') throw new InvalidEntryError(`${field} must be a string`)
  if (value.length > maxChars) throw new InvalidEntryError(`${field} is longer than ${maxChars} characters`)
  if (options.nonEmpty === true && value.length === 0) throw new InvalidEntryError(`${field} must not be empty`)
  if (options.identifier === true) {
    const problem = identifierProblem(value, { maxChars })
    if (problem !== undefined) throw new InvalidEntryError(`${field} ${problem}`)
  }
  return value
}

function optionalText (value: unknown, field: string, maxChars: number): string | undefined {
  return value === undefined ? undefined : text(value, field, maxChars)
}

function integer (value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new InvalidEntryError(`${field} must be an integer in [${min}, ${max}]`)
  }
  return value
}

function stringMap (value: unknown, field: string, maxValueChars: number = LIMITS.metaValueChars): Record<string, string> {
  if (value === undefined || value === null) return {}
  if (!isRecord(value)) throw new InvalidEntryError(`${field} must be an object of strings`)
  const keys = Object.keys(value)
  if (keys.length > LIMITS.metaKeys) throw new InvalidEntryError(`${field} has more than ${LIMITS.metaKeys} keys`)
  const result: Record<string, string> = {}
  for (const key of keys) {
    text(key, `${field} key`, LIMITS.metaKeyChars, { nonEmpty: true, identifier: true })
    result[key] = text(value[key], `${field}.${key}`, maxValueChars)
  }
  return result
}

function stringList (value: unknown, field: string): string[] {
  if (value === undefined || value === null) return []
  if (!Array.isArray(value)) throw new InvalidEntryError(`${field} must be a list of strings`)
  if (value.length > LIMITS.tags) throw new InvalidEntryError(`${field} has more than ${LIMITS.tags} items`)
  return value.map((item, i) => text(item, `${field}[${i}]`, LIMITS.nameChars))
}

function jsonObject (value: unknown, field: string): Record<string, unknown> | undefined {
  if (value === undefined || value === null) return undefined
  if (!isRecord(value)) throw new InvalidEntryError(`${field} must be an object`)
  return value
}

export function validateNodeRecord (value: unknown, node: string): NodeRecord {
  if (!isRecord(value)) throw new InvalidEntryError('node record must be an object')
  const record: NodeRecord = {
    Node: text(value.Node, 'Node', LIMITS.nameChars, { nonEmpty: true, identifier: true }),
    ID: text(value.ID, 'ID', LIMITS.nameChars, { identifier: true }),
    Address: text(value.Address, 'Address', LIMITS.addressChars),
    Datacenter: text(value.Datacenter, 'Datacenter', LIMITS.nameChars, { identifier: true }),
    TaggedAddresses: stringMap(value.TaggedAddresses, 'TaggedAddresses', LIMITS.addressChars),
    Meta: stringMap(value.Meta, 'Meta'),
  }
  if (record.Node !== node) throw new InvalidEntryError(`node record names "${record.Node}" but the entry is for "${node}"`)
  return record
}

export function validateServiceRecord (value: unknown, key?: string): ServiceRecord {
  if (!isRecord(value)) throw new InvalidEntryError('service record must be an object')
  const kind = value.Kind ?? ''
  if (kind !== '' && kind !== 'connect-proxy') throw new InvalidEntryError('Kind must be "" or "connect-proxy"')
  const weights = value.Weights ?? { Passing: 1, Warning: 1 }
  if (!isRecord(weights)) throw new InvalidEntryError('Weights must be an object')
  const record: ServiceRecord = {
    ID: text(value.ID, 'ID', LIMITS.nameChars, { nonEmpty: true, identifier: true }),
    Service: text(value.Service, 'Service', LIMITS.nameChars, { nonEmpty: true, identifier: true }),
    Tags: stringList(value.Tags, 'Tags'),
    Address: text(value.Address ?? '', 'Address', LIMITS.addressChars),
    Port: integer(value.Port ?? 0, 'Port', 0, 65535),
    Meta: stringMap(value.Meta, 'Meta'),
    Weights: { Passing: integer(weights.Passing, 'Weights.Passing', 0, 65535), Warning: integer(weights.Warning, 'Weights.Warning', 0, 65535) },
    EnableTagOverride: value.EnableTagOverride === true,
  }
  if (kind !== '') record.Kind = kind
  if (value.TaggedAddresses !== undefined && value.TaggedAddresses !== null) {
    const tagged = jsonObject(value.TaggedAddresses, 'TaggedAddresses') ?? {}
    if (Object.keys(tagged).length > LIMITS.metaKeys) throw new InvalidEntryError('TaggedAddresses has too many keys')
    record.TaggedAddresses = {}
    for (const [name, address] of Object.entries(tagged)) {
      if (!isRecord(address)) throw new InvalidEntryError(`TaggedAddresses.${name} must be an object`)
      record.TaggedAddresses[name] = {
        Address: text(address.Address, `TaggedAddresses.${name}.Address`, LIMITS.addressChars),
        Port: integer(address.Port, `TaggedAddresses.${name}.Port`, 0, 65535),
      }
    }
  }
  const proxy = jsonObject(value.Proxy, 'Proxy')
  if (proxy !== undefined) {
    text(proxy.DestinationServiceName, 'Proxy.DestinationServiceName', LIMITS.nameChars, { identifier: true })
    if (proxy.Upstreams !== undefined && (!Array.isArray(proxy.Upstreams) || proxy.Upstreams.length > LIMITS.tags)) {
      throw new InvalidEntryError(`Proxy.Upstreams must be a list of at most ${LIMITS.tags}`)
    }
    record.Proxy = proxy as unknown as ServiceRecord['Proxy']
  }
  if (kind === 'connect-proxy' && record.Proxy === undefined) throw new InvalidEntryError('a connect-proxy service needs Proxy.DestinationServiceName')
  const connect = jsonObject(value.Connect, 'Connect')
  if (connect !== undefined) record.Connect = connect as ServiceRecord['Connect']
  if (key !== undefined && record.ID !== key) throw new InvalidEntryError(`service ID "${record.ID}" does not match entry key "${key}"`)
  return record
}

export function validateCheckRecord (value: unknown, key?: string): CheckRecord {
  if (!isRecord(value)) throw new InvalidEntryError('check record must be an object')
  const status = value.Status
  if (typeof status !== 'string' || !HEALTH.has(status)) throw new InvalidEntryError('Status must be passing, warning, critical or maintenance')
  const record: CheckRecord = {
    CheckID: text(value.CheckID, 'CheckID', LIMITS.nameChars, { nonEmpty: true, identifier: true }),
    Name: text(value.Name ?? '', 'Name', LIMITS.nameChars),
    Status: status as HealthStatus,
    Notes: text(value.Notes ?? '', 'Notes', LIMITS.notesChars),
    Output: text(value.Output ?? '', 'Output', LIMITS.outputChars),
    ServiceID: text(value.ServiceID ?? '', 'ServiceID', LIMITS.nameChars, { identifier: true }),
    ServiceName: text(value.ServiceName ?? '', 'ServiceName', LIMITS.nameChars, { identifier: true }),
    ServiceTags: stringList(value.ServiceTags, 'ServiceTags'),
    Type: text(value.Type ?? '', 'Type', TYPE_CHARS),
  }
  const interval = optionalText(value.Interval, 'Interval', TYPE_CHARS)
  if (interval !== undefined) record.Interval = interval
  const timeout = optionalText(value.Timeout, 'Timeout', TYPE_CHARS)
  if (timeout !== undefined) record.Timeout = timeout
  if (key !== undefined && record.CheckID !== key) throw new InvalidEntryError(`CheckID "${record.CheckID}" does not match entry key "${key}"`)
  return record
}

function validateHlc (value: unknown): Hlc {
  if (!isRecord(value)) throw new InvalidEntryError('hlc must be an object')
  return {
    wallMs: integer(value.wallMs, 'hlc.wallMs', 0, Number.MAX_SAFE_INTEGER),
    counter: integer(value.counter, 'hlc.counter', 0, 2 ** 31),
    nodeId: text(value.nodeId, 'hlc.nodeId', LIMITS.nameChars, { nonEmpty: true, identifier: true }),
  }
}

export function validateClusterKind (kind: unknown): string {
  if (typeof kind !== 'string' || !CLUSTER_KIND.test(kind) || RESERVED_KINDS.has(kind)) {
    throw new InvalidEntryError('cluster kind must match [a-z][a-z0-9-]{0,63} and not be node, service or check')
  }
  return kind
}

/** Checks an untrusted entry and returns a clean copy of it; throws InvalidEntryError. */
export function validateEntry (input: unknown): Entry {
  if (!isRecord(input)) throw new InvalidEntryError('entry must be an object')
  const deleted = input.deleted
  if (typeof deleted !== 'boolean') throw new InvalidEntryError('deleted must be a boolean')
  if (deleted && input.value !== undefined) throw new InvalidEntryError('a tombstone carries no value')
  let entry: Entry
  if (input.scope === 'cluster') {
    const kind = validateClusterKind(input.kind)
    const key = text(input.key, 'key', LIMITS.keyChars, { nonEmpty: true, identifier: true })
    if (!deleted && input.value === undefined) throw new InvalidEntryError('a live cluster entry needs a value')
    entry = { scope: 'cluster', kind, key, hlc: validateHlc(input.hlc), deleted }
    if (!deleted) entry.value = input.value
  } else if (input.scope === 'node') {
    const node = text(input.node, 'node', LIMITS.nameChars, { nonEmpty: true, identifier: true })
    const key = text(input.key, 'key', LIMITS.nameChars, { nonEmpty: true, identifier: true })
    const version = integer(input.version, 'version', 1, Number.MAX_SAFE_INTEGER)
    if (!deleted && input.value === undefined) throw new InvalidEntryError('a live entry needs a value')
    if (input.kind === 'node') {
      if (key !== node) throw new InvalidEntryError('a node entry\'s key is its node name')
      if (deleted) throw new InvalidEntryError('node entries are never deleted; membership removes nodes')
      entry = { scope: 'node', kind: 'node', node, key, version, deleted, value: validateNodeRecord(input.value, node) }
    } else if (input.kind === 'service') {
      entry = { scope: 'node', kind: 'service', node, key, version, deleted }
      if (!deleted) entry.value = validateServiceRecord(input.value, key)
    } else if (input.kind === 'check') {
      entry = { scope: 'node', kind: 'check', node, key, version, deleted }
      if (!deleted) entry.value = validateCheckRecord(input.value, key)
    } else {
      throw new InvalidEntryError('kind must be node, service or check')
    }
  } else {
    throw new InvalidEntryError('scope must be "node" or "cluster"')
  }
  const limit = entry.scope === 'cluster' ? LIMITS.clusterEntryBytes : LIMITS.nodeEntryBytes
  let bytes: number
  try {
    bytes = entryBytes(entry)
  } catch {
    // Absurdly deep JSON overflows the stack while serializing: refuse it like any other bad entry.
    throw new InvalidEntryError('entry cannot be serialized')
  }
  if (bytes > limit) throw new InvalidEntryError(`entry is larger than ${limit} bytes`)
  return entry
}

const sizes = new WeakMap<Entry, number>()

/**
 * Serialized size, used for size limits and for bounding sync pages. Entries are never mutated
 * once built, so the size is remembered: sync pages do not serialize everything again.
 */
export function entryBytes (entry: Entry): number {
  let bytes = sizes.get(entry)
  if (bytes === undefined) sizes.set(entry, bytes = Buffer.byteLength(JSON.stringify(entry)))
  return bytes
}

/**
 * A 64-bit fingerprint (two 32-bit FNV-1a halves) of an entry's identity and version. Digests XOR
 * these together, so adding or replacing one entry updates a digest in O(1).
 */
export function entryFingerprint (entry: Entry): [number, number] {
  const stamp = entry.scope === 'node'
    ? `${entry.kind}\0${entry.key}\0${entry.version}\0${entry.deleted ? 1 : 0}`
    : `${entry.kind}\0${entry.key}\0${entry.hlc.wallMs}\0${entry.hlc.counter}\0${entry.hlc.nodeId}\0${entry.deleted ? 1 : 0}`
  return [fnv1a(stamp, 0x811c9dc5), fnv1a(stamp, 0x01000193 ^ 0x5bd1e995)]
}

export function fnv1a (input: string, seed: number): number {
  let hash = seed >>> 0
  for (let i = 0; i < input.length; i++) {
    hash ^= input.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193) >>> 0
  }
  return hash >>> 0
}
