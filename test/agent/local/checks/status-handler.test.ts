import t from 'tap'
import { StatusHandler } from '../../../../agent/local/checks/status-handler.ts'
import type { StatusThresholds } from '../../../../agent/local/checks/status-handler.ts'
import type { CheckStatus } from '../../../../agent/local/checks/types.ts'
import { RecordingNotifier } from './fixtures/recording-notifier.ts'

const cases: Array<{ name: string, thresholds: StatusThresholds, input: CheckStatus[], reported: CheckStatus[] }> = [
  { name: 'no thresholds: every result is reported', thresholds: {}, input: ['critical', 'passing', 'warning'], reported: ['critical', 'passing', 'warning'] },
  { name: 'SuccessBeforePassing 2: the first success is held back', thresholds: { successBeforePassing: 2 }, input: ['passing', 'passing', 'passing'], reported: ['passing', 'passing'] },
  { name: 'a failure resets the success count', thresholds: { successBeforePassing: 2 }, input: ['passing', 'critical', 'passing', 'passing'], reported: ['critical', 'passing'] },
  { name: 'warning counts as success', thresholds: { successBeforePassing: 2 }, input: ['warning', 'passing'], reported: ['passing'] },
  { name: 'FailuresBeforeCritical 3: two failures are ignored', thresholds: { failuresBeforeCritical: 3 }, input: ['critical', 'critical', 'critical'], reported: ['critical'] },
  { name: 'a success resets the failure count', thresholds: { failuresBeforeCritical: 2 }, input: ['critical', 'passing', 'critical', 'critical'], reported: ['passing', 'critical'] },
  { name: 'FailuresBeforeWarning 1 with FailuresBeforeCritical 3 steps through warning', thresholds: { failuresBeforeWarning: 1, failuresBeforeCritical: 3 }, input: ['critical', 'critical', 'critical'], reported: ['warning', 'warning', 'critical'] },
]

for (const { name, thresholds, input, reported } of cases) {
  t.test(name, async t => {
    const notifier = new RecordingNotifier()
    const handler = new StatusHandler(notifier, thresholds)
    for (const status of input) handler.update('c1', status, `output ${status}`)
    t.same(notifier.statuses(), reported)
    t.ok(notifier.reports.every(report => report.checkId === 'c1'))
  })
}

t.test('a failure reported as warning keeps the probe output', async t => {
  const notifier = new RecordingNotifier()
  new StatusHandler(notifier, { failuresBeforeWarning: 1, failuresBeforeCritical: 5 }).update('c1', 'critical', 'connection refused')
  t.same(notifier.reports, [{ checkId: 'c1', status: 'warning', output: 'connection refused' }])
})
