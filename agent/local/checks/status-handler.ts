// Consul's StatusHandler: debounces a check's raw results through three thresholds before they
// reach the notifier, so one flaky probe does not flap a service in DNS and load balancing.
//
// Rules (as Consul's agent/checks/check.go):
// - passing and warning count as successes; they reset the failure counter and are reported once
//   `successBeforePassing` consecutive successes were seen;
// - critical counts as a failure; it resets the success counter and is reported as critical once
//   `failuresBeforeCritical` consecutive failures were seen, or as warning once
//   `failuresBeforeWarning` were seen (defaults to failuresBeforeCritical, so no warning step);
// - below a threshold nothing is reported: the check keeps its last reported status.
// A threshold of 0 or 1 reports every result at once.

import type { CheckNotifier, CheckStatus } from './types.ts'

export interface StatusThresholds {
  successBeforePassing?: number
  failuresBeforeCritical?: number
  failuresBeforeWarning?: number
}

export class StatusHandler {
  private readonly notifier: CheckNotifier
  private readonly successBeforePassing: number
  private readonly failuresBeforeCritical: number
  private readonly failuresBeforeWarning: number
  private successCount = 0
  private failureCount = 0

  constructor (notifier: CheckNotifier, thresholds: StatusThresholds = {}) {
    this.notifier = notifier
    this.successBeforePassing = thresholds.successBeforePassing ?? 0
    this.failuresBeforeCritical = thresholds.failuresBeforeCritical ?? 0
    this.failuresBeforeWarning = thresholds.failuresBeforeWarning ?? this.failuresBeforeCritical
  }

  update (checkId: string, status: CheckStatus, output: string): void {
    if (status === 'passing' || status === 'warning') {
      this.successCount++
      this.failureCount = 0
      if (this.successCount >= this.successBeforePassing) this.notifier.update(checkId, status, output)
      return
    }
    this.failureCount++
    this.successCount = 0
    if (this.failureCount >= this.failuresBeforeCritical) {
      this.notifier.update(checkId, 'critical', output)
    } else if (this.failureCount >= this.failuresBeforeWarning) {
      this.notifier.update(checkId, 'warning', output)
    }
  }
}
