// The system clock's timers: delays beyond setTimeout's 32-bit limit are chained in steps of at
// most 2^31-1 ms instead of firing at once, and every step is unref'd.
import t from 'tap'
import { MAX_TIMEOUT_MS, createSystemClock } from '../../api/clock.ts'

function fakeTimers () {
  let nowMs = 0
  const armed: Array<{ callback: () => void, delayMs: number, unrefed: boolean, cleared: boolean }> = []
  return {
    armed,
    advanceTo (ms: number) { nowMs = ms },
    timers: {
      now: () => nowMs,
      setTimeout: (callback: () => void, delayMs: number) => {
        const timer = { callback, delayMs, unrefed: false, cleared: false }
        armed.push(timer)
        return { unref: () => { timer.unrefed = true }, timer }
      },
      clearTimeout: (timeout: unknown) => { (timeout as { timer: { cleared: boolean } }).timer.cleared = true },
    },
  }
}

t.test('a 182-day timer is chained in 2^31-1 ms steps and fires only when due', async t => {
  const fake = fakeTimers()
  const clock = createSystemClock(fake.timers)
  const delayMs = 182 * 24 * 3_600_000
  let fired = 0
  clock.setTimer(() => { fired++ }, delayMs)
  let steps = 0
  while (fired === 0) {
    const timer = fake.armed[fake.armed.length - 1]
    t.ok(timer.delayMs <= MAX_TIMEOUT_MS, `step ${steps} stays within setTimeout's limit`)
    t.ok(timer.unrefed, `step ${steps} is unref'd`)
    fake.advanceTo(fake.timers.now() + timer.delayMs)
    timer.callback()
    steps++
  }
  t.equal(fake.timers.now(), delayMs, 'fired exactly when due')
  t.equal(steps, Math.ceil(delayMs / MAX_TIMEOUT_MS))
})

t.test('clearing a chained timer clears its current step', async t => {
  const fake = fakeTimers()
  const clock = createSystemClock(fake.timers)
  const handle = clock.setTimer(() => {}, 10)
  t.equal(fake.armed[0].delayMs, 10)
  clock.clearTimer(handle)
  t.equal(fake.armed[0].cleared, true)
})
