// What a configuration reload changed, as `PUT /v1/agent/reload` answers it (Consul answers that
// endpoint with an empty body; mesh's body is an addition its clients may ignore) and as `mesh
// reload` prints it. The agent builds it from its reload plan; the CLI validates the answer with
// `parseReloadSummary` and prints `describeReload`'s line, which is also the agent's log message.

import { isRecord } from './guards.ts'

export interface ReloadChanges {
  Added: string[]
  Updated: string[]
  Removed: string[]
}

export interface ReloadSummary {
  /** IDs of the config-file services added, updated (changed definition) and removed. */
  Services: ReloadChanges
  /** IDs of the config-file (standalone) checks added, updated and removed. */
  Checks: ReloadChanges
  /** The log level change, or null when it stayed the same. */
  LogLevel: { From: string, To: string } | null
  /** Config fields that changed but only take effect after a restart (`ports.http`, `bind_addr`…). */
  RestartRequired: string[]
}

function stringList (value: unknown): value is string[] {
  return Array.isArray(value) && value.every(item => typeof item === 'string')
}

function isChanges (value: unknown): value is ReloadChanges {
  return isRecord(value) && stringList(value.Added) && stringList(value.Updated) && stringList(value.Removed)
}

/** The summary in `body`, or a sentence saying what is wrong with it. */
export function parseReloadSummary (body: unknown): ReloadSummary | string {
  if (!isRecord(body)) return 'not a JSON object'
  if (!isChanges(body.Services)) return 'Services must hold Added, Updated and Removed lists of IDs'
  if (!isChanges(body.Checks)) return 'Checks must hold Added, Updated and Removed lists of IDs'
  const level = body.LogLevel
  if (level !== null && !(isRecord(level) && typeof level.From === 'string' && typeof level.To === 'string')) return 'LogLevel must be null or {From, To}'
  if (!stringList(body.RestartRequired)) return 'RestartRequired must be a list of field names'
  return {
    Services: body.Services,
    Checks: body.Checks,
    LogLevel: level === null ? null : { From: level.From as string, To: level.To as string },
    RestartRequired: body.RestartRequired,
  }
}

function counted (count: number, noun: string, verb: string, ids: string[]): string {
  return `${count} ${noun}${count === 1 ? '' : 's'} ${verb} (${ids.join(', ')})`
}

/**
 * One line: "reloaded: 1 service added (x), 1 removed (y), 1 check updated (c), log level
 * info→debug; restart needed for: ports.http". "reloaded: no changes" when nothing moved.
 */
export function describeReload (summary: ReloadSummary): string {
  const parts: string[] = []
  for (const [noun, changes] of [['service', summary.Services], ['check', summary.Checks]] as const) {
    let named = false
    for (const [verb, ids] of [['added', changes.Added], ['updated', changes.Updated], ['removed', changes.Removed]] as const) {
      if (ids.length === 0) continue
      // The noun once per kind, as in "1 service added (x), 1 removed (y)".
      parts.push(named ? `${ids.length} ${verb} (${ids.join(', ')})` : counted(ids.length, noun, verb, ids))
      named = true
    }
  }
  if (summary.LogLevel !== null) parts.push(`log level ${summary.LogLevel.From}→${summary.LogLevel.To}`)
  const applied = parts.length === 0 ? 'no changes' : parts.join(', ')
  const restart = summary.RestartRequired.length === 0 ? '' : `; restart needed for: ${summary.RestartRequired.join(', ')}`
  return `reloaded: ${applied}${restart}`
}
