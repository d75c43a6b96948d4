// TTL check: the service reports its own health through the API (pass/warn/fail/update) and must
// do so again within the TTL.
//
// Status rules (Consul's CheckTTL): each report sets the status it names (through the thresholds)
// and restarts the timer; when the TTL passes without a report the check turns critical with
// "TTL expired", followed by the last reported output if there was one, and stays critical until
// the next report. Reported output is capped at 4 KiB (head kept).

import { truncateOutput } from './output.ts'
import { StatusHandler } from './status-handler.ts'
import type { StatusThresholds } from './status-handler.ts'
import type { TimerHandle } from '../../../api/clock.ts'
import type { CheckComponents, CheckStatus, RunningCheck } from './types.ts'

export interface TtlCheckInit {
  checkId: string
  ttlMs: number
  thresholds?: StatusThresholds
}

export class TtlCheck implements RunningCheck {
  readonly checkId: string
  readonly ttlMs: number
  private readonly components: CheckComponents
  private readonly statusHandler: StatusHandler
  private timer: TimerHandle | undefined
  private lastOutput = ''
  private running = false

  constructor (init: TtlCheckInit, components: CheckComponents) {
    this.checkId = init.checkId
    this.ttlMs = init.ttlMs
    this.components = components
    this.statusHandler = new StatusHandler(components.notifier, init.thresholds)
  }

  start (): void {
    if (this.running) return
    this.running = true
    this.resetTimer()
  }

  stop (): void {
    this.running = false
    this.components.clock.clearTimer(this.timer)
    this.timer = undefined
  }

  /** A report from the API: records it and restarts the TTL. */
  setStatus (status: CheckStatus, output: string): void {
    const capped = truncateOutput(output)
    this.lastOutput = capped
    this.statusHandler.update(this.checkId, status, capped)
    if (this.running) this.resetTimer()
  }

  private resetTimer (): void {
    this.components.clock.clearTimer(this.timer)
    this.timer = this.components.clock.setTimer(() => {
      this.timer = undefined
      if (!this.running) return
      const output = this.lastOutput === '' ? 'TTL expired' : `TTL expired (last output before timeout follows): ${this.lastOutput}`
      // An expired TTL is a fact, not a flaky probe: it bypasses the thresholds, as in Consul.
      this.components.notifier.update(this.checkId, 'critical', output)
    }, this.ttlMs)
  }
}
