// Go-style durations ("10s", "1m30s", "500ms") typed on the command line, checked with the one
// duration grammar the agent also parses (api/duration.ts) so the CLI never accepts what the agent
// would refuse. On the command line a unit is required and zero is refused: bare numbers (which
// the API reads as nanoseconds) are almost always a forgotten unit.

import { parseDurationMs } from '../api/duration.ts'
import { UsageError } from './errors.ts'

/** Returns the text unchanged when it is a positive Go duration, so it can be sent as typed. */
export function parseDurationText (text: string, what: string): string {
  let durationMs: number | undefined
  if (/^\d+(\.\d+)?(ns|us|µs|ms|s|m|h)/.test(text) && text.trim() === text) {
    try { durationMs = parseDurationMs(text) } catch { durationMs = undefined }
  }
  if (durationMs === undefined) {
    throw new UsageError(`${what} must be a duration with a unit (ns, us, ms, s, m, h), e.g. "10s" or "1m30s", got "${text}"`)
  }
  if (durationMs === 0) throw new UsageError(`${what} must be longer than zero, got "${text}"`)
  return text
}
