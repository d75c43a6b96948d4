// The canary demo's verdict (examples/canary/summary.ts): exit 0 only when every step's share is
// within its stated tolerance over at least the requests it waited for, and no request failed by
// the caller's count or by its sidecar's metrics.

import t from 'tap'
import { share, summary, toleranceOf, withinTolerance } from '../../examples/canary/summary.ts'
import type { StepResult } from '../../examples/canary/summary.ts'
import type { CallerStats } from '../../examples/canary/app.ts'

const step = (weight: number, v1: number, v2: number): StepResult => ({
  dir: `config/step-${weight}`, weight, switchMs: 300, v1, v2, bodyV1: v1, bodyV2: v2, tolerance: toleranceOf(weight, v1 + v2), failedDuringStep: 0,
})
const good = [step(0, 200, 0), step(10, 180, 20), step(50, 101, 99), step(100, 0, 200)]
const clean: CallerStats = { sent: 1000, ok: 1000, failed: 0, byVersion: { v1: 600, v2: 400 }, settledThrough: 1000, failures: [] }

t.test('the tolerance is 4 binomial standard deviations, and 0 for 0 % and 100 %', async (t) => {
  t.equal(toleranceOf(0, 200), 0)
  t.equal(toleranceOf(100, 200), 0)
  t.equal(toleranceOf(50, 400).toFixed(3), '10.000', '4 × sqrt(0.25 / 400) = 10 pp')
  t.equal(toleranceOf(10, 400).toFixed(3), '6.000', '4 × sqrt(0.09 / 400) = 6 pp')
  t.equal(share(step(10, 180, 20)), 10)
  t.equal(share(step(10, 0, 0)), 0, 'no request counted is a share of 0, not NaN')
})

t.test('every step in tolerance and no failure: exit 0 and the table', async (t) => {
  const { text, code } = summary(good, clean, 0, 200)
  t.equal(code, 0)
  t.match(text, /^step\s+splitter\s+in effect\s+v1 \(metrics\)\s+v2 \(metrics\)\s+to v2\s+tolerance\s+v1\/v2 \(bodies\)\s+failed\s+ok$/m)
  t.match(text, /^0 %\s+config\/step-0\s+300 ms\s+200\s+0\s+0\.0 %\s+exact\s+200\/0\s+0\s+yes$/m)
  t.match(text, /^10 %\s+config\/step-10\s+300 ms\s+180\s+20\s+10\.0 %\s+±8\.5 pp\s+180\/20\s+0\s+yes$/m)
  t.match(text, /tolerance: a measured share may be 4 standard deviations/)
  t.match(text, /PASSED: every step within tolerance, zero failed requests/)
})

t.test('one failed request, by either count, fails the run', async (t) => {
  const byCaller = summary(good, { ...clean, ok: 999, failed: 1, failures: ['request 7: HTTP 503 no healthy endpoint for web in subset v2'] }, 0, 200)
  t.equal(byCaller.code, 1)
  t.match(byCaller.text, /request 7: HTTP 503 no healthy endpoint/, 'the failure is shown with its reason')
  t.match(byCaller.text, /FAILED: some requests failed$/m)
  const bySidecar = summary(good, clean, 1, 200)
  t.equal(bySidecar.code, 1, 'a non-200 counted by the caller\'s sidecar fails the run too')
  t.equal(summary(good, { ...clean, ok: 999 }, 0, 200).code, 1, 'a request neither answered nor failed fails the run')
})

t.test('a split outside its tolerance fails the run', async (t) => {
  const off = summary([step(0, 199, 1), ...good.slice(1)], clean, 0, 200)
  t.equal(off.code, 1, 'one request to v2 at 0 % is one too many')
  t.match(off.text, /^0 %.*\s+NO$/m)
  t.match(off.text, /FAILED: a split is outside its tolerance$/m)
  t.notOk(withinTolerance(step(50, 140, 60), 200), '30 % at 50 % over 200 requests is 20 pp off (tolerance 14.1)')
  t.ok(withinTolerance(step(50, 110, 90), 200), '45 % at 50 % is within tolerance')
  t.notOk(withinTolerance(step(10, 90, 10), 200), 'a window that counted fewer requests than it waited for fails')
  t.equal(summary([], clean, 0, 200).code, 1, 'no step at all is not a pass')
  const both = summary([step(100, 1, 199)], { ...clean, failed: 2, ok: 998 }, 0, 200)
  t.match(both.text, /FAILED: some requests failed; a split is outside its tolerance$/m)
})
