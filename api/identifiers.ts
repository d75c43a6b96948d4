// The one rule for what may name a service, check or node: well-formed Unicode (no lone UTF-16
// surrogate, which no URL can spell, so such a name could never be addressed again), no control
// characters, a length cap and, for what the API's paths name, no "/". Registrations (agent/local),
// replicated entries (catalog/entry.ts) and membership names (agent/membership/codec.ts) agree
// through this file.

/** Longest ID or name, in UTF-16 code units (as the catalog's replicated entries allow). */
export const IDENTIFIER_MAX_CHARS = 256

// C0 controls, DEL and C1 controls.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/

export interface IdentifierRule {
  /** The value is named as one path segment of the HTTP API, so it must not hold "/". */
  pathSegment?: boolean
  /** Cap on the length; IDENTIFIER_MAX_CHARS unless given. */
  maxChars?: number
}

/** Why `value` cannot serve as an ID or name ("must not contain control characters"), or undefined. */
export function identifierProblem (value: string, rule: IdentifierRule = {}): string | undefined {
  const maxChars = rule.maxChars ?? IDENTIFIER_MAX_CHARS
  if (!value.isWellFormed()) return 'must be well-formed Unicode (it holds a lone UTF-16 surrogate)'
  if (value.length > maxChars) return `must be at most ${maxChars} characters long`
  if (CONTROL.test(value)) return 'must not contain control characters'
  if (rule.pathSegment === true && value.includes('/')) return 'must not contain "/": it could not be named in the API\'s paths'
  return undefined
}
