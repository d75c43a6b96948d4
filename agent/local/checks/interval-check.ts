// Runs a probe on an interval: the shared loop behind the http, tcp, grpc and script checks.
//
// - The first round waits a random delay in [0, interval), as Consul's RandomStagger, so checks
//   registered together (an agent restart, a config file with many services) do not all fire at
//   the same instant.
// - The next round is scheduled when a round ends, so rounds never overlap, however slow.
// - Each round gets an AbortSignal that aborts after the timeout (through the clock, so fake
//   clocks control it too) and when the check stops; a probe that still throws is critical with
//   the error as output.
// - Intervals below MIN_INTERVAL_MS are raised to it: a check every few milliseconds would load
//   the probed service and flood the catalog with writes for no better failure detection than
//   gossip already gives (Consul's checks.MinInterval, for the same reason).
// - Results go through a StatusHandler (thresholds) to the notifier; results of a round that
//   finishes after stop() are dropped.

import { CheckTimeoutError } from './errors.ts'
import { StatusHandler } from './status-handler.ts'
import type { StatusThresholds } from './status-handler.ts'
import type { TimerHandle } from '../../../api/clock.ts'
import type { CheckComponents, CheckProbe, CheckResult, RunningCheck } from './types.ts'

export const MIN_INTERVAL_MS = 1000

export interface IntervalCheckInit {
  checkId: string
  intervalMs: number
  timeoutMs: number
  probe: CheckProbe
  thresholds?: StatusThresholds
}

export class IntervalCheck implements RunningCheck {
  readonly checkId: string
  readonly intervalMs: number
  readonly timeoutMs: number
  private readonly probe: CheckProbe
  private readonly components: CheckComponents
  private readonly statusHandler: StatusHandler
  private timer: TimerHandle | undefined
  private inFlight: AbortController | undefined
  private running = false

  constructor (init: IntervalCheckInit, components: CheckComponents) {
    this.checkId = init.checkId
    this.probe = init.probe
    this.components = components
    this.timeoutMs = init.timeoutMs
    this.intervalMs = Math.max(MIN_INTERVAL_MS, init.intervalMs)
    if (init.intervalMs < MIN_INTERVAL_MS) {
      components.log.warn({ checkId: init.checkId, intervalMs: init.intervalMs, minIntervalMs: MIN_INTERVAL_MS }, 'check interval below minimum, raised')
    }
    this.statusHandler = new StatusHandler(components.notifier, init.thresholds)
  }

  start (): void {
    if (this.running) return
    this.running = true
    const firstDelayMs = Math.floor(this.components.random() * this.intervalMs)
    this.timer = this.components.clock.setTimer(() => { void this.round() }, firstDelayMs)
  }

  stop (): void {
    this.running = false
    this.components.clock.clearTimer(this.timer)
    this.timer = undefined
    this.inFlight?.abort(new Error('check stopped'))
    this.inFlight = undefined
  }

  private async round (): Promise<void> {
    const controller = new AbortController()
    this.inFlight = controller
    const timeout = this.components.clock.setTimer(() => controller.abort(new CheckTimeoutError(this.timeoutMs)), this.timeoutMs)
    let result: CheckResult
    try {
      result = await this.probe.check(controller.signal)
    } catch (error) {
      result = { status: 'critical', output: (error as Error).message }
    } finally {
      this.components.clock.clearTimer(timeout)
    }
    if (!this.running || this.inFlight !== controller) return
    this.inFlight = undefined
    this.statusHandler.update(this.checkId, result.status, result.output)
    this.timer = this.components.clock.setTimer(() => { void this.round() }, this.intervalMs)
  }
}
