// Specification of the cluster-size timing formulas, with exact values.
import t from 'tap'
import { pushPullIntervalMs, retransmitLimit, suspicionMinMs } from '../../../agent/membership/timing.ts'

t.test('suspicion minimum = mult × max(1, log10 N) × probe interval', async t => {
  const table: Array<[number, number, number, number]> = [
    // [mult, N, probeIntervalMs, expectedMs]
    [4, 1, 1000, 4000],
    [4, 10, 1000, 4000],
    [4, 100, 1000, 8000],
    [4, 1000, 1000, 12_000],
    [1.5, 50, 500, 1274],
    [1.5, 1000, 500, 2250],
    [1.5, 5000, 500, 2774]
  ]
  for (const [mult, n, intervalMs, expectedMs] of table) t.equal(suspicionMinMs(mult, n, intervalMs), expectedMs, `mult=${mult} N=${n}`)
})

t.test('retransmit limit = mult × ceil(log10(N + 1))', async t => {
  const table: Array<[number, number, number]> = [[4, 0, 0], [4, 1, 4], [4, 9, 4], [4, 10, 8], [4, 50, 8], [4, 99, 8], [4, 100, 12], [4, 1000, 16], [3, 5000, 12]]
  for (const [mult, n, expected] of table) t.equal(retransmitLimit(mult, n), expected, `mult=${mult} N=${n}`)
})

t.test('push-pull interval grows by one base interval per doubling above 32 members', async t => {
  const table: Array<[number, number]> = [[1, 30_000], [32, 30_000], [33, 60_000], [64, 60_000], [65, 90_000], [128, 90_000], [1000, 180_000], [5000, 270_000]]
  for (const [n, expectedMs] of table) t.equal(pushPullIntervalMs(30_000, n), expectedMs, `N=${n}`)
})
