// Go-style duration strings as Consul's API uses them ("10s", "1m30s", "72h", "500ms"), parsed to
// milliseconds and formatted back. Bad input throws DurationError; nothing else is accepted.

const UNIT_MS: Record<string, number> = {
  ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000,
}

export class DurationError extends Error {
  readonly code = 'MESH_ERR_CONFIG_DURATION'
  constructor (input: string) {
    super(`invalid duration "${input}": expected a number with a unit (ns, us, ms, s, m, h), e.g. "10s" or "1m30s"`)
    this.name = 'DurationError'
  }
}

/** Parses "1h2m3.5s" → ms. A bare number is taken as nanoseconds, as Go's JSON for time.Duration does. */
export function parseDurationMs (input: string | number): number {
  if (typeof input === 'number') {
    if (!Number.isFinite(input) || input < 0) throw new DurationError(String(input))
    return input / 1e6
  }
  const text = input.trim()
  if (text === '0') return 0
  if (/^\d+$/.test(text)) return Number(text) / 1e6
  const part = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/y
  let total = 0
  let position = 0
  if (text.length === 0 || text.length > 64) throw new DurationError(input)
  while (position < text.length) {
    part.lastIndex = position
    const match = part.exec(text)
    if (match === null) throw new DurationError(input)
    total += Number(match[1]) * UNIT_MS[match[2]]
    position = part.lastIndex
  }
  return total
}

/** Formats ms the way Go prints a time.Duration: "72h0m0s", "10s", "1.5s", "250ms". */
export function formatDuration (ms: number): string {
  if (ms === 0) return '0s'
  if (ms < 1000) return `${Number(ms.toFixed(3))}ms`
  const hours = Math.floor(ms / 3_600_000)
  const minutes = Math.floor((ms % 3_600_000) / 60_000)
  const seconds = Number(((ms % 60_000) / 1000).toFixed(3))
  if (hours > 0) return `${hours}h${minutes}m${seconds}s`
  if (minutes > 0) return `${minutes}m${seconds}s`
  return `${seconds}s`
}
