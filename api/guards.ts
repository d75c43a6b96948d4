// Type guards for untrusted JSON (HTTP bodies, config entries, replicated entries): one definition
// of "a JSON object" so every boundary agrees on what it accepts.

/** True for a plain JSON object: not null, not an array. */
export function isRecord (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
