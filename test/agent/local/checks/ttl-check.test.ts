import t from 'tap'
import pino from 'pino'
import { TtlCheck } from '../../../../agent/local/checks/ttl-check.ts'
import { MAX_TIMEOUT_MS, createSystemClock } from '../../../../api/clock.ts'
import { ManualClock } from '../../../fixtures/manual-clock.ts'
import { RecordingNotifier } from './fixtures/recording-notifier.ts'

function setup (ttlMs = 30_000) {
  const scheduler = new ManualClock()
  const notifier = new RecordingNotifier()
  const check = new TtlCheck({ checkId: 'ttl', ttlMs }, { clock: scheduler, notifier, random: () => 0, log: pino({ level: 'silent' }) })
  return { scheduler, notifier, check }
}

t.test('without a report within the TTL the check turns critical with "TTL expired"', async t => {
  const { scheduler, notifier, check } = setup()
  check.start()
  scheduler.advance(29_999)
  t.same(notifier.reports, [])
  scheduler.advance(1)
  t.same(notifier.reports, [{ checkId: 'ttl', status: 'critical', output: 'TTL expired' }])
  scheduler.advance(60_000)
  t.equal(notifier.reports.length, 1, 'it expires once, then waits for the next report')
})

t.test('each report sets the status and restarts the timer', async t => {
  const { scheduler, notifier, check } = setup()
  check.start()
  scheduler.advance(20_000)
  check.setStatus('passing', 'all good')
  scheduler.advance(20_000)
  check.setStatus('warning', 'slow')
  scheduler.advance(29_999)
  t.same(notifier.statuses(), ['passing', 'warning'])
  scheduler.advance(1)
  t.same(notifier.reports.at(-1), { checkId: 'ttl', status: 'critical', output: 'TTL expired (last output before timeout follows): slow' })
})

t.test('reported output is capped at 4 KiB', async t => {
  const { notifier, check } = setup()
  check.start()
  check.setStatus('passing', 'y'.repeat(5000))
  t.equal(notifier.reports[0].output, `${'y'.repeat(4096)} ... (captured 4096 of 5000 bytes)`)
  check.stop()
})

t.test('a stopped check never expires', async t => {
  const { scheduler, notifier, check } = setup()
  check.start()
  check.stop()
  scheduler.advance(100_000)
  t.same(notifier.reports, [])
})

t.test('a 999h TTL on the system clock does not expire at once: the delay is chained past setTimeout\'s limit', async t => {
  // The runtime's timers, played by hand: the check sees the real system clock over them.
  let nowMs = 0
  const armed: Array<{ callback: () => void, delayMs: number }> = []
  const clock = createSystemClock({
    now: () => nowMs,
    setTimeout: (callback, delayMs) => { armed.push({ callback, delayMs }); return { unref: () => {} } },
    clearTimeout: () => {},
  })
  const notifier = new RecordingNotifier()
  const ttlMs = 999 * 3_600_000
  const check = new TtlCheck({ checkId: 'ttl', ttlMs }, { clock, notifier, random: () => 0, log: pino({ level: 'silent' }) })
  check.start()
  while (nowMs < ttlMs) {
    const step = armed.shift()!
    t.ok(step.delayMs <= MAX_TIMEOUT_MS, 'no step exceeds setTimeout\'s 2^31-1 ms')
    t.same(notifier.reports, [], `not expired after ${nowMs / 3_600_000}h`)
    nowMs += step.delayMs
    step.callback()
  }
  t.equal(nowMs, ttlMs)
  t.same(notifier.reports, [{ checkId: 'ttl', status: 'critical', output: 'TTL expired' }], 'expires when the TTL is due')
  check.stop()
})
