// Validation of Go-style durations ("10s", "1m30s", "500ms") typed on the command line. The agent
// has its own parser (agent/duration.ts); the CLI keeps this small copy because client commands
// must not load agent code, and it only needs to reject bad input before anything is sent.

import { UsageError } from './errors.ts'

const DURATION = /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/

/** Returns the text unchanged when it is a positive Go duration, so it can be sent as typed. */
export function parseDurationText (text: string, what: string): string {
  if (text.length > 64 || !DURATION.test(text)) {
    throw new UsageError(`${what} must be a duration with a unit (ns, us, ms, s, m, h), e.g. "10s" or "1m30s", got "${text}"`)
  }
  if (!/[1-9]/.test(text)) throw new UsageError(`${what} must be longer than zero, got "${text}"`)
  return text
}
