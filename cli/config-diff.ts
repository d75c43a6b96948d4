// Comparing a configuration entry from a file with the one the agent holds, for `mesh config
// apply` and `mesh intentions apply`: which top-level fields would change.
//
// The agent echoes entries back with bookkeeping fields and Go-style zero values ("", 0, false,
// [], {} or null for anything unset), so both sides are normalized the way Go's `omitempty`
// would print them before comparing. Otherwise every apply would report changes that are not.

/** Fields the agent sets on every entry; they never come from the user. */
export const SERVER_MANAGED_FIELDS = new Set(['CreateIndex', 'ModifyIndex', 'Hash'])

function isEmpty (value: unknown): boolean {
  if (value === undefined || value === null || value === '' || value === false || value === 0) return true
  if (Array.isArray(value)) return value.length === 0
  if (typeof value === 'object') return Object.keys(value as object).length === 0
  return false
}

/** Drops empty values from objects (recursively); array elements keep their places. */
export function normalize (value: unknown): unknown {
  if (Array.isArray(value)) return value.map(normalize)
  if (value !== null && typeof value === 'object') {
    const result: Record<string, unknown> = {}
    for (const key of Object.keys(value).sort()) {
      const normalized = normalize((value as Record<string, unknown>)[key])
      if (!isEmpty(normalized)) result[key] = normalized
    }
    return result
  }
  return value
}

export function deepEqual (a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false
  if (Array.isArray(a) !== Array.isArray(b)) return false
  const aKeys = Object.keys(a)
  const bKeys = Object.keys(b)
  if (aKeys.length !== bKeys.length) return false
  return aKeys.every(key => Object.hasOwn(b, key) &&
    deepEqual((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]))
}

/** Top-level fields that differ (added, changed or removed), sorted; [] when nothing would change. */
export function changedFields (desired: Record<string, unknown>, existing: Record<string, unknown>): string[] {
  const wanted = normalize(desired) as Record<string, unknown>
  const current = normalize(existing) as Record<string, unknown>
  const keys = new Set([...Object.keys(wanted), ...Object.keys(current)])
  return [...keys]
    .filter(key => !SERVER_MANAGED_FIELDS.has(key) && !deepEqual(wanted[key], current[key]))
    .sort()
}

export interface FieldChange {
  Field: string
  /** Normalized value held by the agent; undefined when the field is new. */
  Before: unknown
  /** Normalized value from the file; undefined when the field is removed. */
  After: unknown
}

/** The before/after values of each changed field, for `config apply --diff`. */
export function fieldChanges (desired: Record<string, unknown>, existing: Record<string, unknown> | null): FieldChange[] {
  const wanted = normalize(desired) as Record<string, unknown>
  const current = existing === null ? {} : normalize(existing) as Record<string, unknown>
  const fields = existing === null ? Object.keys(wanted).sort() : changedFields(desired, existing)
  return fields.map(field => ({ Field: field, Before: current[field], After: wanted[field] }))
}
