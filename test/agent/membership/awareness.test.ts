// Specification of Lifeguard's local-health score: bounds and timeout scaling.
import t from 'tap'
import { Awareness } from '../../../agent/membership/awareness.ts'

t.test('the score stays within 0..max-1 and scales timeouts by score + 1', async t => {
  const awareness = new Awareness(8)
  t.equal(awareness.score(), 0)
  t.equal(awareness.scaleMs(500), 500)
  awareness.applyDelta(-1)
  t.equal(awareness.score(), 0, 'never below 0')
  awareness.applyDelta(3)
  t.equal(awareness.score(), 3)
  t.equal(awareness.scaleMs(500), 2000)
  awareness.applyDelta(100)
  t.equal(awareness.score(), 7, 'never above max - 1')
  t.equal(awareness.scaleMs(300), 2400)
  awareness.applyDelta(-2)
  t.equal(awareness.score(), 5)
})

t.test('max 1 disables it', async t => {
  const awareness = new Awareness(1)
  awareness.applyDelta(5)
  t.equal(awareness.score(), 0)
  t.equal(awareness.scaleMs(500), 500)
})
