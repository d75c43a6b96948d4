// The system clock's timers: delays beyond setTimeout's 32-bit limit must wait, not fire at once.
import t from 'tap'
import { MAX_TIMEOUT_MS, systemClock } from '../../../agent/connect/clock.ts'

t.test('a timer longer than 2^31-1 ms does not fire early and can be cleared', async t => {
  let fired = false
  const handle = systemClock.setTimer(() => { fired = true }, MAX_TIMEOUT_MS * 4)
  await new Promise(resolve => setTimeout(resolve, 20))
  t.equal(fired, false)
  systemClock.clearTimer(handle)
})

t.test('a short timer fires', async t => {
  await new Promise<void>(resolve => systemClock.setTimer(resolve, 1))
  t.pass('fired')
})
