import t from 'tap'
import { isRecord } from '../../api/guards.ts'

t.test('only a JSON object is a record', async (t) => {
  t.ok(isRecord({}))
  t.ok(isRecord({ Kind: 'service-defaults' }))
  for (const value of [null, undefined, [], [1], 'x', 1, true]) t.notOk(isRecord(value), JSON.stringify(value))
})
