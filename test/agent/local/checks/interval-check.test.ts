import t from 'tap'
import pino from 'pino'
import { IntervalCheck, MIN_INTERVAL_MS } from '../../../../agent/local/checks/interval-check.ts'
import type { CheckProbe, CheckResult } from '../../../../agent/local/checks/types.ts'
import { ManualClock } from '../../../fixtures/manual-clock.ts'
import { RecordingNotifier } from './fixtures/recording-notifier.ts'

const log = pino({ level: 'silent' })

/** A probe whose rounds the test completes by hand, recording the signal each round got. */
class ManualProbe implements CheckProbe {
  rounds: Array<{ signal: AbortSignal, finish: (result: CheckResult) => void }> = []
  check (signal: AbortSignal): Promise<CheckResult> {
    return new Promise(resolve => {
      this.rounds.push({ signal, finish: resolve })
      signal.addEventListener('abort', () => resolve({ status: 'critical', output: (signal.reason as Error).message }))
    })
  }
}

function setup (intervalMs: number, random = 0.5) {
  const scheduler = new ManualClock()
  const notifier = new RecordingNotifier()
  const probe = new ManualProbe()
  const check = new IntervalCheck({ checkId: 'c1', intervalMs, timeoutMs: 2000, probe },
    { clock: scheduler, notifier, random: () => random, log })
  return { scheduler, notifier, probe, check }
}

t.test('the first round waits a random part of the interval', async t => {
  const { scheduler, probe, check } = setup(10_000, 0.25)
  check.start()
  t.same(scheduler.pendingDelaysMs(), [2500])
  scheduler.advance(2499)
  t.equal(probe.rounds.length, 0)
  scheduler.advance(1)
  t.equal(probe.rounds.length, 1)
  check.stop()
})

t.test('the next round is scheduled an interval after a round ends, never overlapping', async t => {
  const { scheduler, notifier, probe, check } = setup(10_000, 0)
  check.start()
  scheduler.advance(0)
  scheduler.advance(1500)
  t.equal(probe.rounds.length, 1, 'no new round while one is in flight')
  const reported = notifier.next()
  probe.rounds[0].finish({ status: 'passing', output: 'ok' })
  t.same(await reported, { checkId: 'c1', status: 'passing', output: 'ok' })
  t.same(scheduler.pendingDelaysMs(), [10_000])
  scheduler.advance(10_000)
  t.equal(probe.rounds.length, 2)
  check.stop()
})

t.test('a round is aborted at its timeout and reported critical', async t => {
  const { scheduler, notifier, probe, check } = setup(10_000, 0)
  check.start()
  scheduler.advance(0)
  const reported = notifier.next()
  scheduler.advance(2000)
  t.ok(probe.rounds[0].signal.aborted)
  t.same(await reported, { checkId: 'c1', status: 'critical', output: 'check timed out after 2000ms' })
  check.stop()
})

t.test(`intervals below ${MIN_INTERVAL_MS}ms are raised to it`, async t => {
  const { check } = setup(10)
  t.equal(check.intervalMs, 1000)
})

t.test('stop cancels the next round and drops the result of a round in flight', async t => {
  const { scheduler, notifier, probe, check } = setup(10_000, 0)
  check.start()
  scheduler.advance(0)
  check.stop()
  t.ok(probe.rounds[0].signal.aborted, 'the round in flight is aborted')
  await Promise.resolve()
  t.same(notifier.reports, [])
  t.same(scheduler.pendingDelaysMs(), [])
})
