// The canary demo's verdict: each step's measured split against its weight, and the failed
// requests, as the table run.ts prints and the exit code it returns. Pure, so the rules are
// tested without starting a cluster (test/examples/canary-summary.test.ts).

import type { CallerStats } from './app.ts'

/** How far a measured share may be from its weight, in standard deviations of a binomial draw. */
export const SIGMAS = 4

export interface StepResult {
  /** The versioned config directory the step applied, relative to examples/canary/. */
  dir: string
  /** v2's weight in the splitter file, in percent. */
  weight: number
  /** From `mesh config apply` starting to the caller's sidecar running the new split. */
  switchMs: number
  /** Requests of the step's window counted by v1's and v2's sidecars (their metrics). */
  v1: number
  v2: number
  /** The same window counted in the answers' bodies by the caller. */
  bodyV1: number
  bodyV2: number
  /** Allowed distance of the measured v2 share from the weight, in percentage points. */
  tolerance: number
  /** Requests that failed from the step's `mesh config apply` to the end of its window. */
  failedDuringStep: number
}

/**
 * SIGMAS standard deviations of the share of `n` requests each sent to v2 with probability
 * `weight` %, in percentage points: 0 for 0 % and 100 %, where every request must go one way.
 */
export function toleranceOf (weight: number, n: number): number {
  const p = weight / 100
  return 100 * SIGMAS * Math.sqrt(p * (1 - p) / Math.max(1, n))
}

/** v2's share of the requests counted by the two web sidecars, in percent. */
export function share (result: StepResult): number {
  const n = result.v1 + result.v2
  return n === 0 ? 0 : 100 * result.v2 / n
}

/** The window counted at least the requests it waited for, and its share is within tolerance. */
export function withinTolerance (result: StepResult, requests: number): boolean {
  return result.v1 + result.v2 >= requests && Math.abs(share(result) - result.weight) <= result.tolerance + 1e-9
}

export function summary (results: StepResult[], final: CallerStats, sidecarFailures: number, requests: number): { text: string, code: 0 | 1 } {
  const rows = [
    ['step', 'splitter', 'in effect', 'v1 (metrics)', 'v2 (metrics)', 'to v2', 'tolerance', 'v1/v2 (bodies)', 'failed', 'ok'],
    ...results.map((result) => [
      `${result.weight} %`,
      result.dir,
      `${result.switchMs.toFixed(0)} ms`,
      String(result.v1),
      String(result.v2),
      `${share(result).toFixed(1)} %`,
      result.tolerance === 0 ? 'exact' : `±${result.tolerance.toFixed(1)} pp`,
      `${result.bodyV1}/${result.bodyV2}`,
      String(result.failedDuringStep),
      withinTolerance(result, requests) ? 'yes' : 'NO',
    ]),
  ]
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)))
  const lines = ['', ...rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd()), '']
  lines.push(`tolerance: a measured share may be ${SIGMAS} standard deviations of a binomial draw of that many requests from its weight; 0 % and 100 % must be exact`)
  lines.push(`requests: ${final.sent} sent through the caller's sidecar, ${final.ok} answered by a version, ${final.failed} failed (caller); ${sidecarFailures} answered non-200 (caller's sidecar metrics)`)
  for (const failure of final.failures) lines.push(`  ${failure}`)
  const splitsOk = results.length > 0 && results.every((result) => withinTolerance(result, requests))
  const requestsOk = final.failed === 0 && sidecarFailures === 0 && final.ok === final.sent
  if (requestsOk && splitsOk) {
    lines.push('PASSED: every step within tolerance, zero failed requests')
    return { text: lines.join('\n') + '\n', code: 0 }
  }
  const problems = [...(requestsOk ? [] : ['some requests failed']), ...(splitsOk ? [] : ['a split is outside its tolerance'])]
  lines.push(`FAILED: ${problems.join('; ')}`)
  return { text: lines.join('\n') + '\n', code: 1 }
}
