import t from 'tap'
import { changedFields, deepEqual, fieldChanges, normalize } from '../../cli/config-diff.ts'

t.test('normalize drops Go zero values from objects, recursively, but keeps array positions', async t => {
  t.same(normalize({ A: '', B: 0, C: false, D: null, E: [], F: {}, G: { H: '' }, I: 'x', J: [0, '', { K: null }] }),
    { I: 'x', J: [0, '', {}] })
})

t.test('deepEqual compares structure, not key order', async t => {
  t.ok(deepEqual({ a: [1, { b: 2 }], c: 'x' }, { c: 'x', a: [1, { b: 2 }] }))
  t.notOk(deepEqual({ a: [1, 2] }, { a: [2, 1] }))
  t.notOk(deepEqual({ a: 1 }, { a: 1, b: 2 }))
  t.notOk(deepEqual([], {}))
})

t.test('changedFields: the agent\'s bookkeeping and echoed zero values are not changes', async t => {
  const file = { Kind: 'service-defaults', Name: 'web', Protocol: 'http' }
  const agent = { Kind: 'service-defaults', Name: 'web', Protocol: 'http', MeshGateway: {}, Expose: {}, Meta: null, CreateIndex: 5, ModifyIndex: 9, Hash: 123 }
  t.same(changedFields(file, agent), [])
})

t.test('changedFields lists added, changed and removed top-level fields, sorted', async t => {
  const file = { Kind: 'service-router', Name: 'api', Routes: [{ Destination: { Service: 'api-v2' } }], Meta: { owner: 'team' } }
  const agent = { Kind: 'service-router', Name: 'api', Routes: [{ Destination: { Service: 'api-v1' } }], Description: 'old', ModifyIndex: 3 }
  t.same(changedFields(file, agent), ['Description', 'Meta', 'Routes'])
})

t.test('fieldChanges gives normalized before/after values; a new entry has every field as added', async t => {
  t.same(fieldChanges({ Kind: 'k', Name: 'n', Protocol: 'grpc', Meta: { a: '1' } }, { Kind: 'k', Name: 'n', Protocol: 'http', Description: 'x', ModifyIndex: 4 }), [
    { Field: 'Description', Before: 'x', After: undefined },
    { Field: 'Meta', Before: undefined, After: { a: '1' } },
    { Field: 'Protocol', Before: 'http', After: 'grpc' },
  ])
  t.same(fieldChanges({ Name: 'n', Kind: 'k', Empty: '' }, null), [
    { Field: 'Kind', Before: undefined, After: 'k' },
    { Field: 'Name', Before: undefined, After: 'n' },
  ])
})
