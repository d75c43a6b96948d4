// The small interfaces every check type shares: what one round returns, how a running check is
// started and stopped, and the narrow notifier checks report through (never the agent itself).

import type { Logger } from 'pino'
import type { Clock } from '../../../api/clock.ts'

/** Statuses a check can report; 'maintenance' is set only by maintenance mode, never by a check. */
export type CheckStatus = 'passing' | 'warning' | 'critical'

export interface CheckResult {
  status: CheckStatus
  output: string
}

/** Where checks report results. The check manager implements it on top of the local catalog. */
export interface CheckNotifier {
  update (checkId: string, status: CheckStatus, output: string): void
}

/** One round of an interval check. `signal` aborts when the round's timeout passes or the check stops. */
export interface CheckProbe {
  check (signal: AbortSignal): Promise<CheckResult>
}

/** A check that runs on its own once started; stop() cancels timers and aborts any round in flight. */
export interface RunningCheck {
  readonly checkId: string
  start (): void
  stop (): void
}

/** What check runners need from their surroundings; all injected so tests control time and chance. */
export interface CheckComponents {
  notifier: CheckNotifier
  clock: Clock
  /** Uniform in [0, 1); used for the random first delay. */
  random: () => number
  log: Logger
}
