import t from 'tap'
import { isRecord } from '../../api/guards.ts'

t.test('only a JSON object is a record', async (t) => {
  t.ok(isRecord({}))
  t.ok(isRecord({ Kind: 'service-defaults' }))
  for (const value of [null, undefined, [], [1], 'x', 1, true]) t.notOk(isRecord(value), JSON.stringify(value))
})

t.test('jsonShapeProblem bounds depth and size without recursing', async (t) => {
  const { jsonShapeProblem } = await import('../../api/guards.ts')
  const limits = { maxDepth: 3, maxValues: 10 }
  t.equal(jsonShapeProblem({ a: { b: [1] } }, limits), undefined, 'depth 3 fits')
  t.equal(jsonShapeProblem('x', limits), undefined, 'a scalar has depth 0')
  t.equal(jsonShapeProblem({ a: { b: [[]] } }, limits), 'nests deeper than 3 levels')
  t.equal(jsonShapeProblem([1, 2, 3, 4, 5, 6, 7, 8, 9], limits), undefined, '10 values fit')
  t.equal(jsonShapeProblem([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], limits), 'holds more than 10 values')
  const deep = JSON.parse('['.repeat(200_000) + ']'.repeat(200_000))
  t.equal(jsonShapeProblem(deep, { maxDepth: 64, maxValues: Number.POSITIVE_INFINITY }), 'nests deeper than 64 levels', '200,000 levels are checked without a stack overflow')
  t.equal(jsonShapeProblem(deep, { maxDepth: 300_000, maxValues: Number.POSITIVE_INFINITY }), undefined, 'and walked to the bottom')
})
