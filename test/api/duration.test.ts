// Go-style durations, as Consul's API writes them, parsed to milliseconds and printed back.
import t from 'tap'
import { formatDuration, parseDurationMs } from '../../api/duration.ts'

t.test('duration strings parse to exact milliseconds', async (t) => {
  const cases: Array<[string | number, number]> = [
    ['10s', 10_000], ['1m30s', 90_000], ['72h', 259_200_000], ['500ms', 500], ['1.5s', 1500], ['250us', 0.25], ['2µs', 0.002],
    ['0', 0], [' 5s ', 5000],
    // A bare number is nanoseconds, as Go's JSON for time.Duration.
    ['1000000', 1], [2_000_000, 2],
  ]
  for (const [input, expectedMs] of cases) t.equal(parseDurationMs(input), expectedMs, JSON.stringify(input))
})

t.test('anything else is a DurationError', async (t) => {
  for (const input of ['', 's', '10 s', '-5s', '1d', '5s5', 'x'.repeat(65), -1, Number.NaN]) {
    t.throws(() => parseDurationMs(input), { code: 'MESH_ERR_CONFIG_DURATION' }, String(input))
  }
})

t.test('milliseconds print the way Go prints a time.Duration', async (t) => {
  const cases: Array<[number, string]> = [[0, '0s'], [250, '250ms'], [1500, '1.5s'], [90_000, '1m30s'], [259_200_000, '72h0m0s']]
  for (const [ms, expected] of cases) t.equal(formatDuration(ms), expected, String(ms))
})
