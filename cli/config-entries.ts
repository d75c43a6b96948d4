// Configuration entries as files hold them: validation of Kind and Name, and reading one entry
// or an array of entries per file, shared by `mesh config write` and `mesh config apply`.

import { InputFileError, UsageError } from './errors.ts'
import { isRecord } from '../api/guards.ts'

export interface ConfigEntry extends Record<string, unknown> {
  Kind: string
  Name: string
}

/** Kinds are lower-case words joined by dashes (service-defaults, service-router, ...). */
const KIND = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/

export function parseKind (text: string): string {
  if (!KIND.test(text)) throw new UsageError(`--kind must be a config entry kind such as service-defaults, got "${text}"`)
  return text
}

export function parseEntryName (text: string): string {
  if (text === '' || /[\s/]/.test(text)) throw new UsageError(`--name must be a name without spaces or "/", got "${text}"`)
  return text
}

export function configEntryPath (kind: string, name?: string): string {
  return `/v1/config/${encodeURIComponent(kind)}${name === undefined ? '' : `/${encodeURIComponent(name)}`}`
}

/** One entry or an array of entries, each an object with a valid Kind and Name. */
export function entriesFromFile (path: string, content: unknown): ConfigEntry[] {
  const entries = Array.isArray(content) ? content : [content]
  if (entries.length === 0) throw new InputFileError(path, 'holds no configuration entry')
  return entries.map((entry: unknown, index) => {
    const where = entries.length === 1 ? 'the entry' : `entry ${index + 1}`
    if (!isRecord(entry)) throw new InputFileError(path, `${where} must be a JSON object`)
    if (typeof entry.Kind !== 'string' || !KIND.test(entry.Kind)) throw new InputFileError(path, `${where} needs a "Kind" such as "service-defaults"`)
    if (typeof entry.Name !== 'string' || entry.Name === '' || /[\s/]/.test(entry.Name)) {
      throw new InputFileError(path, `${where} needs a "Name" without spaces or "/"`)
    }
    return entry as ConfigEntry
  })
}
