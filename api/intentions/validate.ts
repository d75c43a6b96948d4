// Validation of intentions as they arrive from the API or a config entry: turns untrusted JSON into
// the normalised fields of an Intention or throws InvalidIntentionError / UnsafeRegexError naming
// the field. Rules and messages follow Consul's (agent/structs/config_entry_intentions.go), plus
// bounds Consul leaves to its Raft log size: counts and lengths are capped so no write can make
// every agent hold or evaluate something unbounded.

import { InvalidIntentionError, InvalidSpiffeIdError } from './errors.ts'
import { compileHttpPermission } from './match.ts'
import { WILDCARD, precedenceOf } from './model.ts'
import type { HeaderPermission, HttpPermission, Intention, IntentionAction, IntentionPermission } from './model.ts'
import { isRecord } from '../guards.ts'
import { MAX_SPIFFE_ID_LENGTH_CHARS, parseServiceSpiffeId } from '../spiffe.ts'
import type { ServiceSpiffeId } from '../spiffe.ts'

export const MAX_NAME_LENGTH_CHARS = 128
export const MAX_META_PAIRS = 64
export const MAX_META_KEY_LENGTH_CHARS = 128
export const MAX_META_VALUE_LENGTH_CHARS = 512
export const MAX_DESCRIPTION_LENGTH_CHARS = 512
export const MAX_PERMISSIONS = 256
export const MAX_HEADERS_PER_PERMISSION = 64
export const MAX_MATCH_VALUE_LENGTH_CHARS = 1024

/** Consul's accepted methods (isValidHTTPMethod); input is upper-cased first, as Consul normalises. */
export const HTTP_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH'])

/** The fields a writer controls; ID, Precedence and timestamps are assigned by `buildIntention`. */
export interface IntentionFields {
  SourceName: string
  DestinationName: string
  SourceType: 'consul'
  Action?: IntentionAction
  Permissions?: IntentionPermission[]
  Description: string
  Meta: Record<string, string>
}

const SERVICE_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?$/

function fail (message: string): never {
  throw new InvalidIntentionError(message)
}

function optionalString (value: unknown, field: string, maxLengthChars: number): string | undefined {
  if (value === undefined || value === null || value === '') return undefined
  if (typeof value !== 'string') fail(`${field} must be a string`)
  if (value.length > maxLengthChars) fail(`${field} exceeds maximum length ${maxLengthChars}`)
  return value
}

/** Validates a service name in an intention: exactly `*`, or a name of letters, digits, '-', '_' and '.'. */
export function validateServiceName (value: unknown, field: string): string {
  if (typeof value !== 'string' || value === '') fail(`${field} is required`)
  if (value === WILDCARD) return value
  if (value.includes(WILDCARD)) fail(`${field}: wildcard character '*' cannot be used with partial values`)
  if (value.length > MAX_NAME_LENGTH_CHARS) fail(`${field} exceeds maximum length ${MAX_NAME_LENGTH_CHARS}`)
  if (!SERVICE_NAME.test(value)) fail(`${field} "${value}" is not a valid service name: use letters, digits, '-', '_' and '.'`)
  return value
}

function validateAction (value: unknown, field: string): IntentionAction {
  if (value === 'allow' || value === 'deny') return value
  return fail(`${field} must be set to 'allow' or 'deny'`)
}

/** Validates a Meta map (Consul's validateConfigEntryMeta limits). */
export function validateMeta (value: unknown, field: string): Record<string, string> {
  if (value === undefined || value === null) return {}
  if (!isRecord(value)) fail(`${field} must be an object of strings`)
  const entries = Object.entries(value)
  if (entries.length > MAX_META_PAIRS) fail(`${field} exceeds maximum element count ${MAX_META_PAIRS}`)
  const meta: Record<string, string> = {}
  for (const [key, entry] of entries) {
    if (key.length > MAX_META_KEY_LENGTH_CHARS) fail(`${field} key "${key.slice(0, 32)}…" exceeds maximum length ${MAX_META_KEY_LENGTH_CHARS}`)
    if (typeof entry !== 'string') fail(`${field} value for key "${key}" must be a string`)
    if (entry.length > MAX_META_VALUE_LENGTH_CHARS) fail(`${field} value for key "${key}" exceeds maximum length ${MAX_META_VALUE_LENGTH_CHARS}`)
    meta[key] = entry
  }
  return meta
}

function validateHeader (value: unknown, field: string): HeaderPermission {
  if (!isRecord(value)) fail(`${field} must be an object`)
  if (typeof value.Name !== 'string' || value.Name === '') fail(`${field} missing required Name field`)
  if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}$/.test(value.Name) && !/^:[a-z]+$/.test(value.Name)) {
    fail(`${field}.Name "${value.Name}" is not a valid header name`)
  }
  const header: HeaderPermission = { Name: value.Name }
  let parts = 0
  if (value.Present !== undefined && value.Present !== null && typeof value.Present !== 'boolean') fail(`${field}.Present must be a boolean`)
  if (value.Present === true) { header.Present = true; parts++ }
  for (const key of ['Exact', 'Prefix', 'Suffix', 'Regex'] as const) {
    const text = optionalString(value[key], `${field}.${key}`, MAX_MATCH_VALUE_LENGTH_CHARS)
    if (text !== undefined) { header[key] = text; parts++ }
  }
  if (parts !== 1) fail(`${field} should only contain one of Present, Exact, Prefix, Suffix, or Regex`)
  if (value.Invert !== undefined && value.Invert !== null && typeof value.Invert !== 'boolean') fail(`${field}.Invert must be a boolean`)
  if (value.Invert === true) header.Invert = true
  return header
}

function validateHttp (value: unknown, field: string): HttpPermission {
  if (!isRecord(value)) fail(`${field} is required`)
  const http: HttpPermission = {}
  let pathParts = 0
  for (const key of ['PathExact', 'PathPrefix'] as const) {
    const path = optionalString(value[key], `${field}.${key}`, MAX_MATCH_VALUE_LENGTH_CHARS)
    if (path === undefined) continue
    if (!path.startsWith('/')) fail(`${field}.${key} doesn't start with '/': "${path}"`)
    http[key] = path
    pathParts++
  }
  const regex = optionalString(value.PathRegex, `${field}.PathRegex`, MAX_MATCH_VALUE_LENGTH_CHARS)
  if (regex !== undefined) { http.PathRegex = regex; pathParts++ }
  if (pathParts > 1) fail(`${field} should only contain at most one of PathExact, PathPrefix, or PathRegex`)
  let parts = pathParts

  if (value.Header !== undefined && value.Header !== null) {
    if (!Array.isArray(value.Header)) fail(`${field}.Header must be a list`)
    if (value.Header.length > MAX_HEADERS_PER_PERMISSION) fail(`${field}.Header has more than ${MAX_HEADERS_PER_PERMISSION} entries`)
    if (value.Header.length > 0) {
      http.Header = value.Header.map((header: unknown, index: number) => validateHeader(header, `${field}.Header[${index}]`))
      parts += http.Header.length
    }
  }
  if (value.Methods !== undefined && value.Methods !== null) {
    if (!Array.isArray(value.Methods)) fail(`${field}.Methods must be a list`)
    const seen = new Set<string>()
    for (const method of value.Methods) {
      if (typeof method !== 'string') fail(`${field}.Methods must contain strings`)
      const upper = method.toUpperCase()
      if (!HTTP_METHODS.has(upper)) fail(`${field}.Methods contains an invalid method "${method}"`)
      if (seen.has(upper)) fail(`${field}.Methods contains "${upper}" more than once`)
      seen.add(upper)
    }
    if (seen.size > 0) { http.Methods = [...seen]; parts++ }
  }
  if (parts === 0) fail(`${field} should not be empty`)
  // Compiling here rejects bad or unbounded regexes at write time, never at request time.
  compileHttpPermission(http, field)
  return http
}

/** Validates a Permissions list; `field` is the prefix used in messages (e.g. `Sources[0].Permissions`). */
export function validatePermissions (value: unknown, field: string): IntentionPermission[] {
  if (!Array.isArray(value)) fail(`${field} must be a list`)
  if (value.length > MAX_PERMISSIONS) fail(`${field} has more than ${MAX_PERMISSIONS} entries`)
  return value.map((permission: unknown, index: number) => {
    const at = `${field}[${index}]`
    if (!isRecord(permission)) fail(`${at} must be an object`)
    return {
      Action: validateAction(permission.Action, `${at}.Action`),
      HTTP: validateHttp(permission.HTTP, `${at}.HTTP`),
    }
  })
}

/** Mesh has only the default namespace and partition; accept them named or empty, refuse others. */
function validateDefaultScope (value: unknown, field: string): void {
  if (value === undefined || value === null || value === '' || value === 'default') return
  fail(`${field} "${String(value)}" is not supported: mesh has only the "default" namespace and partition`)
}

/**
 * Validates an intention body (Consul's Intention JSON). `names` overrides SourceName and
 * DestinationName, as the `exact?source=&destination=` endpoint does.
 */
export function validateIntentionFields (input: unknown, names?: { source: string, destination: string }): IntentionFields {
  if (!isRecord(input)) fail('intention body must be a JSON object')
  for (const key of ['SourceNS', 'DestinationNS', 'SourcePartition', 'DestinationPartition']) validateDefaultScope(input[key], key)
  const sourceName = validateServiceName(names?.source ?? input.SourceName, 'SourceName')
  const destinationName = validateServiceName(names?.destination ?? input.DestinationName, 'DestinationName')
  if (input.SourceType !== undefined && input.SourceType !== null && input.SourceType !== '' && input.SourceType !== 'consul') {
    fail("SourceType must be set to 'consul'")
  }
  const hasPermissions = Array.isArray(input.Permissions) && input.Permissions.length > 0
  const hasAction = input.Action !== undefined && input.Action !== null && input.Action !== ''
  if (hasPermissions && hasAction) fail('Action must be omitted if Permissions are specified')
  if (!hasPermissions && !hasAction) fail("Action must be set to 'allow' or 'deny'")
  if (hasPermissions && destinationName === WILDCARD) fail('Permissions cannot be specified on intentions with wildcarded destinations')
  const fields: IntentionFields = {
    SourceName: sourceName,
    DestinationName: destinationName,
    SourceType: 'consul',
    Description: optionalString(input.Description, 'Description', MAX_DESCRIPTION_LENGTH_CHARS) ?? '',
    Meta: validateMeta(input.Meta, 'Meta'),
  }
  if (hasPermissions) fields.Permissions = validatePermissions(input.Permissions, 'Permissions')
  else fields.Action = validateAction(input.Action, 'Action')
  return fields
}

/**
 * Builds the stored intention: precedence computed from the names, ID and CreatedAt kept from the
 * previous version of the same source/destination pair so Consul clients holding the ID keep working.
 */
export function buildIntention (
  fields: IntentionFields,
  context: { id: string, nowMs: number, previous?: Intention }
): Intention {
  const now = new Date(context.nowMs).toISOString()
  const intention: Intention = {
    ID: context.previous?.ID ?? context.id,
    SourceName: fields.SourceName,
    DestinationName: fields.DestinationName,
    SourceType: 'consul',
    Precedence: precedenceOf(fields.SourceName, fields.DestinationName),
    Description: fields.Description,
    Meta: fields.Meta,
    CreatedAt: context.previous?.CreatedAt ?? now,
    UpdatedAt: now,
  }
  if (fields.Permissions !== undefined) intention.Permissions = fields.Permissions
  else intention.Action = fields.Action
  return intention
}

/**
 * Re-validates a stored intention (e.g. one received from a peer): structure as on write, with the
 * precedence recomputed rather than trusted.
 */
export function validateStoredIntention (input: unknown): Intention {
  const fields = validateIntentionFields(input)
  const record = input as Record<string, unknown>
  if (typeof record.ID !== 'string' || record.ID === '') fail('ID is required')
  const stamp = (value: unknown, field: string): string => {
    if (typeof value !== 'string' || Number.isNaN(Date.parse(value))) fail(`${field} must be an RFC 3339 timestamp`)
    return value
  }
  const intention = buildIntention(fields, { id: record.ID, nowMs: 0 })
  intention.CreatedAt = stamp(record.CreatedAt, 'CreatedAt')
  intention.UpdatedAt = stamp(record.UpdatedAt, 'UpdatedAt')
  return intention
}

/**
 * A caller's ClientCertURI (the authorize endpoint) as a service SPIFFE ID, or InvalidSpiffeIdError
 * with Consul's messages: a URI that is no SPIFFE ID at all is "not a valid Connect identifier", a
 * SPIFFE ID of something else is "not a valid Service identifier".
 */
export function requireServiceSpiffeId (uri: string): ServiceSpiffeId {
  const parsed = parseServiceSpiffeId(uri)
  if (parsed !== undefined) return parsed
  if (!/^spiffe:\/\/[^/]+\/\S*$/.test(uri) || uri.length > MAX_SPIFFE_ID_LENGTH_CHARS) {
    throw new InvalidSpiffeIdError('ClientCertURI not a valid Connect identifier')
  }
  throw new InvalidSpiffeIdError('ClientCertURI not a valid Service identifier')
}
