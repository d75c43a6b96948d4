// Translation between Consul's `service-intentions` config entry (all intentions of one destination
// in one document: Kind, Name = destination, Sources[]) and mesh's list of intentions. Pure
// functions: identity (ID, CreatedAt) of an existing intention is looked up through a callback and
// the clock and ID source are passed in.
//
// Meta: Consul keeps one Meta per config entry and a per-source LegacyMeta for intentions made by
// the legacy API. Mesh keeps Meta per intention, so an entry's Meta is copied to each of its
// intentions, and reading back yields an entry Meta when all intentions share it and LegacyMeta per
// source otherwise; writing accepts either, so a read-modify-write cycle loses nothing.

import { InvalidConfigEntryError, InvalidIntentionError, UnsafeRegexError } from './errors.ts'
import { comparePrecedence } from './model.ts'
import type { Intention, IntentionAction, IntentionPermission } from './model.ts'
import { buildIntention, validateIntentionFields, validateMeta, validateServiceName } from './validate.ts'

export const SERVICE_INTENTIONS_KIND = 'service-intentions'
/** More sources than this in one entry is a mistake or abuse, not a policy. */
export const MAX_SOURCES_PER_ENTRY = 4096

export interface ServiceIntentionsSource {
  Name: string
  Action?: IntentionAction
  Permissions?: IntentionPermission[]
  Precedence: number
  Type: 'consul'
  Description?: string
  /** The intention's ID, for clients of the legacy ID-based API (ignored on write, as Consul does). */
  LegacyID?: string
  /** Per-source Meta when the intentions of the entry do not share one. */
  LegacyMeta?: Record<string, string>
  LegacyCreateTime?: string
  LegacyUpdateTime?: string
}

export interface ServiceIntentionsConfigEntry {
  Kind: typeof SERVICE_INTENTIONS_KIND
  Name: string
  Sources: ServiceIntentionsSource[]
  Meta?: Record<string, string>
}

function sameMeta (a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a)
  if (keys.length !== Object.keys(b).length) return false
  return keys.every((key) => a[key] === b[key])
}

/**
 * The config entry of `destinationName`, from its intentions (others in the list are ignored);
 * undefined when it has none, as Consul answers 404 then. Sources are in evaluation order.
 */
export function toConfigEntry (destinationName: string, intentions: readonly Intention[]): ServiceIntentionsConfigEntry | undefined {
  const own = intentions.filter((intention) => intention.DestinationName === destinationName).sort(comparePrecedence)
  if (own.length === 0) return undefined
  const sharedMeta = own.every((intention) => sameMeta(intention.Meta, own[0].Meta)) ? own[0].Meta : undefined
  const entry: ServiceIntentionsConfigEntry = { Kind: SERVICE_INTENTIONS_KIND, Name: destinationName, Sources: [] }
  if (sharedMeta !== undefined && Object.keys(sharedMeta).length > 0) entry.Meta = { ...sharedMeta }
  for (const intention of own) {
    const source: ServiceIntentionsSource = { Name: intention.SourceName, Precedence: intention.Precedence, Type: 'consul' }
    if (intention.Permissions !== undefined) source.Permissions = intention.Permissions
    else source.Action = intention.Action
    if (intention.Description !== '') source.Description = intention.Description
    source.LegacyID = intention.ID
    if (sharedMeta === undefined) source.LegacyMeta = { ...intention.Meta }
    source.LegacyCreateTime = intention.CreatedAt
    source.LegacyUpdateTime = intention.UpdatedAt
    entry.Sources.push(source)
  }
  return entry
}

/** Re-raises a source's validation error with the `Sources[i].` prefix Consul's messages carry. */
function withSourcePrefix (error: unknown, index: number): Error {
  if (error instanceof InvalidIntentionError) return new InvalidIntentionError(`Sources[${index}].${error.message}`)
  if (error instanceof UnsafeRegexError) return new UnsafeRegexError(`Sources[${index}].${error.field}`, error.reason)
  return error as Error
}

export interface FromConfigEntryContext {
  nowMs: number
  /** ID for an intention that does not exist yet. */
  newId: () => string
  /** The current intention of a pair, whose ID and CreatedAt are kept. */
  existing: (sourceName: string, destinationName: string) => Intention | undefined
}

/**
 * Validates a `service-intentions` entry and returns the complete list of intentions its
 * destination must have afterwards (the caller removes the destination's other intentions).
 * Throws InvalidConfigEntryError, InvalidIntentionError or UnsafeRegexError; nothing is partial.
 */
export function fromConfigEntry (input: unknown, context: FromConfigEntryContext): Intention[] {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new InvalidConfigEntryError('config entry must be a JSON object')
  const entry = input as Record<string, unknown>
  if (entry.Kind !== SERVICE_INTENTIONS_KIND) throw new InvalidConfigEntryError(`Kind must be "${SERVICE_INTENTIONS_KIND}"`)
  if (entry.Name === undefined || entry.Name === '') throw new InvalidConfigEntryError('Name is required')
  let destinationName: string
  let entryMeta: Record<string, string>
  try {
    destinationName = validateServiceName(entry.Name, 'Name')
    entryMeta = validateMeta(entry.Meta, 'Meta')
  } catch (error) {
    throw new InvalidConfigEntryError((error as Error).message)
  }
  for (const key of ['Namespace', 'Partition']) {
    const value = entry[key]
    if (value !== undefined && value !== null && value !== '' && value !== 'default') {
      throw new InvalidConfigEntryError(`${key} "${String(value)}" is not supported: mesh has only the "default" namespace and partition`)
    }
  }
  if (!Array.isArray(entry.Sources) || entry.Sources.length === 0) throw new InvalidConfigEntryError('At least one source is required')
  if (entry.Sources.length > MAX_SOURCES_PER_ENTRY) throw new InvalidConfigEntryError(`Sources has more than ${MAX_SOURCES_PER_ENTRY} entries`)

  const seen = new Set<string>()
  const intentions: Intention[] = []
  entry.Sources.forEach((raw: unknown, index: number) => {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new InvalidConfigEntryError(`Sources[${index}] must be an object`)
    const source = raw as Record<string, unknown>
    if (source.Name === undefined || source.Name === '') throw new InvalidConfigEntryError(`Sources[${index}].Name is required`)
    if (source.Type !== undefined && source.Type !== null && source.Type !== '' && source.Type !== 'consul') {
      throw new InvalidConfigEntryError(`Sources[${index}].Type must be set to 'consul'`)
    }
    for (const key of ['Peer', 'SamenessGroup']) {
      if (source[key] !== undefined && source[key] !== null && source[key] !== '') throw new InvalidConfigEntryError(`Sources[${index}].${key} is not supported by mesh`)
    }
    let intention: Intention
    try {
      const legacyMeta = validateMeta(source.LegacyMeta, 'LegacyMeta')
      const fields = validateIntentionFields({
        SourceName: source.Name,
        DestinationName: destinationName,
        SourceNS: source.Namespace,
        SourcePartition: source.Partition,
        Action: source.Action,
        Permissions: source.Permissions,
        Description: source.Description,
        Meta: Object.keys(legacyMeta).length > 0 ? legacyMeta : entryMeta,
      })
      const previous = context.existing(fields.SourceName, destinationName)
      intention = buildIntention(fields, { id: previous?.ID ?? context.newId(), nowMs: context.nowMs, previous })
    } catch (error) {
      throw withSourcePrefix(error, index)
    }
    if (seen.has(intention.SourceName)) throw new InvalidConfigEntryError(`Sources[${index}] defines "${intention.SourceName}" more than once`)
    seen.add(intention.SourceName)
    intentions.push(intention)
  })
  return intentions.sort(comparePrecedence)
}
