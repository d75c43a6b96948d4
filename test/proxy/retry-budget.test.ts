import t from 'tap'
import { RetryBudget } from '../../proxy/retry-budget.ts'

t.test('with no traffic, the minimum of retries per second over the window is available', async (t) => {
  const budget = new RetryBudget(0, { ratio: 0.2, minRetriesPerSecond: 1, windowMs: 10_000 })
  let granted = 0
  while (budget.tryWithdraw(0)) granted++
  t.equal(granted, 10, '1/s × 10 s')
})

t.test('requests add 20 % of themselves to the budget', async (t) => {
  const budget = new RetryBudget(0, { ratio: 0.2, minRetriesPerSecond: 0, windowMs: 10_000 })
  for (let i = 0; i < 100; i++) budget.recordRequest(0)
  let granted = 0
  while (budget.tryWithdraw(0)) granted++
  t.equal(granted, 20)
})

t.test('requests and retries older than the window stop counting', async (t) => {
  const budget = new RetryBudget(0, { ratio: 0.2, minRetriesPerSecond: 0, windowMs: 10_000 })
  for (let i = 0; i < 50; i++) budget.recordRequest(0)
  t.ok(budget.tryWithdraw(0))
  t.notOk(budget.tryWithdraw(10_500), 'the requests of second 0 have left the window')
  for (let i = 0; i < 5; i++) budget.recordRequest(10_500)
  t.ok(budget.tryWithdraw(10_500), '5 fresh requests × 20 % = 1 retry')
  t.notOk(budget.tryWithdraw(10_500))
})

t.test('defaults are Linkerd\'s: 20 % plus 10 retries per second over 10 s', async (t) => {
  const budget = new RetryBudget(0)
  t.equal(budget.ratio, 0.2)
  t.equal(budget.minRetriesPerSecond, 10)
  t.equal(budget.windowMs, 10_000)
})
