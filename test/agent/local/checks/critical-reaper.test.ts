import t from 'tap'
import { servicesToReap } from '../../../../agent/local/checks/critical-reaper.ts'

const minute = 60_000
const cases = [
  { name: 'critical past its timeout is reaped', candidate: { deregisterCriticalServiceAfterMs: 2 * minute, criticalSinceMs: 0 }, nowMs: 2 * minute, reaped: ['web'] },
  { name: 'critical for less than its timeout stays', candidate: { deregisterCriticalServiceAfterMs: 2 * minute, criticalSinceMs: 0 }, nowMs: 2 * minute - 1, reaped: [] },
  { name: 'not critical stays', candidate: { deregisterCriticalServiceAfterMs: minute }, nowMs: 10 * minute, reaped: [] },
  { name: 'no timeout configured stays', candidate: { criticalSinceMs: 0 }, nowMs: 10 * minute, reaped: [] },
  { name: 'a timeout below the minimum is raised to one minute', candidate: { deregisterCriticalServiceAfterMs: 1000, criticalSinceMs: 0 }, nowMs: minute - 1, reaped: [] },
  { name: 'the raised timeout still reaps at one minute', candidate: { deregisterCriticalServiceAfterMs: 1000, criticalSinceMs: 0 }, nowMs: minute, reaped: ['web'] },
]

for (const { name, candidate, nowMs, reaped } of cases) {
  t.test(name, async t => {
    t.same(servicesToReap([{ checkId: 'service:web', serviceId: 'web', ...candidate }], nowMs), reaped)
  })
}

t.test('node checks are never reaped and a service is listed once', async t => {
  t.same(servicesToReap([
    { checkId: 'node', serviceId: '', deregisterCriticalServiceAfterMs: minute, criticalSinceMs: 0 },
    { checkId: 'a', serviceId: 'web', deregisterCriticalServiceAfterMs: minute, criticalSinceMs: 0 },
    { checkId: 'b', serviceId: 'web', deregisterCriticalServiceAfterMs: minute, criticalSinceMs: 0 },
  ], 5 * minute), ['web'])
})
