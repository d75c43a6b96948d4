// Intentions as the CLI handles them: Consul's JSON shapes, the "exact" source/destination query,
// setting one pair's L4 action whatever it held (`allow`/`deny`), and validation of intentions files
// (plain intentions or service-intentions config entries, L7 permissions included).

import type { AgentClient } from '../api/agent-client.ts'
import { InputFileError, UsageError } from './errors.ts'
import { isRecord } from '../api/guards.ts'

export interface Intention {
  ID?: string
  SourceName: string
  DestinationName: string
  /** Absent for L7 intentions, which decide per request through Permissions. */
  Action?: string
  Permissions?: Array<Record<string, unknown>> | null
  Description?: string
  Meta?: Record<string, string> | null
  Precedence?: number
  CreatedAt?: string
  UpdatedAt?: string
}

export const INTENTION_ACTIONS = ['allow', 'deny']

/** A service name, or "*" for any service. */
export function parseIntentionService (text: string, what: string): string {
  if (text === '' || /[\s/]/.test(text)) throw new UsageError(`${what} must be a service name or "*", got "${text}"`)
  return text
}

export function exactQuery (source: string, destination: string): Record<string, string> {
  return { source, destination }
}

export function describeAction (intention: Intention): string {
  if (intention.Action !== undefined && intention.Action !== '') return intention.Action
  return `L7 (${intention.Permissions?.length ?? 0} permissions)`
}

/** What a command naming a desired state found: the state was new, different, or already held. */
export type SetResult = 'created' | 'changed' | 'unchanged'

export interface SetIntentionOutcome {
  result: SetResult
  /** What the pair held before; null when it had no intention. */
  previous: Intention | null
  /** The intention the agent holds now. */
  intention: Intention
}

/**
 * Makes source → destination an L4 intention with `action`, whatever the pair held before (the
 * other action, L7 permissions, or nothing): `allow` and `deny` name the state wanted, so running
 * one twice succeeds and the second run writes nothing. The pair's description and metadata stay
 * unless a description is given, so flipping the action does not lose the note explaining it.
 * PUT .../exact upserts, as in Consul.
 */
export async function setIntention (
  client: AgentClient, source: string, destination: string, action: string, description?: string,
): Promise<SetIntentionOutcome> {
  const path = '/v1/connect/intentions/exact'
  const query = exactQuery(source, destination)
  const previous = await client.getOptional<Intention>(path, query)
  const keptDescription = description ?? previous?.Description
  if (previous !== null && describeAction(previous) === action && (keptDescription ?? '') === (previous.Description ?? '')) {
    return { result: 'unchanged', previous, intention: previous }
  }
  const body: Record<string, unknown> = { SourceName: source, DestinationName: destination, Action: action }
  if (keptDescription !== undefined && keptDescription !== '') body.Description = keptDescription
  const meta = previous?.Meta
  if (meta !== undefined && meta !== null && Object.keys(meta).length > 0) body.Meta = meta
  await client.put(path, body, query)
  // Read back for the agent's own fields (ID, Precedence, times); its PUT resolves only once
  // the agent's reads return the write.
  const intention = await client.get<Intention>(path, query)
  return { result: previous === null ? 'created' : 'changed', previous, intention }
}

/** One source of a service-intentions entry: exactly one of Action (L4) or Permissions (L7). */
export function validateSource (path: string, where: string, source: unknown): Record<string, unknown> {
  if (!isRecord(source)) throw new InputFileError(path, `${where} must be a JSON object`)
  if (typeof source.Name !== 'string' || source.Name === '') throw new InputFileError(path, `${where} needs a "Name"`)
  const hasAction = source.Action !== undefined && source.Action !== ''
  const hasPermissions = source.Permissions !== undefined && source.Permissions !== null
  if (hasAction === hasPermissions) {
    throw new InputFileError(path, `${where} needs exactly one of "Action" (allow or deny) or "Permissions" (L7 rules)`)
  }
  if (hasAction && !INTENTION_ACTIONS.includes(source.Action as string)) {
    throw new InputFileError(path, `${where} has Action "${String(source.Action)}"; expected allow or deny`)
  }
  if (hasPermissions) {
    if (!Array.isArray(source.Permissions) || source.Permissions.length === 0) {
      throw new InputFileError(path, `${where} Permissions must be a non-empty array`)
    }
    source.Permissions.forEach((permission: unknown, index: number) => {
      const at = `${where} permission ${index + 1}`
      if (!isRecord(permission)) throw new InputFileError(path, `${at} must be a JSON object`)
      if (!INTENTION_ACTIONS.includes(permission.Action as string)) {
        throw new InputFileError(path, `${at} has Action "${String(permission.Action)}"; expected allow or deny`)
      }
      if (!isRecord(permission.HTTP)) throw new InputFileError(path, `${at} needs an "HTTP" match object`)
    })
  }
  return source
}

/** The fields of a plain intention a file may set; the rest (ID, Precedence, times) are the agent's. */
export const INTENTION_FILE_FIELDS = ['Action', 'Permissions', 'Description', 'Meta']

export type IntentionsFileItem =
  | { kind: 'entry', entry: Record<string, unknown> }
  | { kind: 'intention', intention: Intention }

/** Parses one intention, an array of them, or service-intentions entries, all validated up front. */
export function parseIntentionsFile (path: string, content: unknown): IntentionsFileItem[] {
  const items = Array.isArray(content) ? content : [content]
  if (items.length === 0) throw new InputFileError(path, 'holds no intention')
  return items.map((item: unknown, index): IntentionsFileItem => {
    const where = items.length === 1 ? 'the intention' : `item ${index + 1}`
    if (!isRecord(item)) throw new InputFileError(path, `${where} must be a JSON object`)
    if (item.Kind !== undefined) {
      if (item.Kind !== 'service-intentions') {
        throw new InputFileError(path, `${where} is a "${String(item.Kind)}" entry; intentions apply takes service-intentions (use mesh config write for other kinds)`)
      }
      if (typeof item.Name !== 'string' || item.Name === '') throw new InputFileError(path, `${where} needs a "Name" (the destination service)`)
      if (!Array.isArray(item.Sources)) throw new InputFileError(path, `${where} needs a "Sources" array`)
      item.Sources.forEach((source: unknown, sourceIndex: number) =>
        validateSource(path, `${where} source ${sourceIndex + 1}`, source))
      return { kind: 'entry', entry: item }
    }
    if (typeof item.SourceName !== 'string' || item.SourceName === '' ||
      typeof item.DestinationName !== 'string' || item.DestinationName === '') {
      throw new InputFileError(path, `${where} needs "SourceName" and "DestinationName" (or "Kind": "service-intentions")`)
    }
    const intention: Record<string, unknown> = { SourceName: item.SourceName, DestinationName: item.DestinationName }
    for (const field of INTENTION_FILE_FIELDS) {
      if (item[field] !== undefined) intention[field] = item[field]
    }
    validateSource(path, where, { ...intention, Name: item.SourceName })
    return { kind: 'intention', intention: intention as unknown as Intention }
  })
}
