import t from 'tap'
import { chooseSubset, splitLayer } from '../../../proxy/layers/split.ts'
import { answer, fakeRequest, randomSequence, scriptedNext } from '../fixtures/layer.ts'

t.test('draws land on subsets in proportion to the weights', async (t) => {
  const legs = [{ subset: 'v1', weight: 90 }, { subset: 'v2', weight: 10 }]
  t.equal(chooseSubset(legs, 0), 'v1')
  t.equal(chooseSubset(legs, 0.899), 'v1')
  t.equal(chooseSubset(legs, 0.9), 'v2')
  t.equal(chooseSubset(legs, 0.999), 'v2')
  const counts = { v1: 0, v2: 0 }
  for (let i = 0; i < 1000; i++) counts[chooseSubset(legs, i / 1000) as 'v1' | 'v2']++
  t.same(counts, { v1: 900, v2: 100 })
})

t.test('a zero weight never gets traffic; no legs means no subset', async (t) => {
  t.equal(chooseSubset([{ subset: 'v1', weight: 0 }, { subset: 'v2', weight: 5 }], 0), 'v2')
  t.equal(chooseSubset(undefined, 0.5), null)
  t.equal(chooseSubset([{ subset: 'v1', weight: 0 }], 0.5), null)
})

t.test('a leg without a subset goes to every endpoint, as a Consul split without ServiceSubset', async (t) => {
  const legs = [{ subset: '', weight: 50 }, { subset: 'v2', weight: 50 }]
  t.equal(chooseSubset(legs, 0.2), null)
  t.equal(chooseSubset(legs, 0.7), 'v2')
  t.equal(chooseSubset([{ subset: 'v2', weight: 50 }, { subset: '', weight: 50 }], 1), null)
})

t.test('shifting weights applies to the very next request', async (t) => {
  const cell = { current: [{ subset: 'v1', weight: 100 }, { subset: 'v2', weight: 0 }] }
  const next = scriptedNext(answer(200))
  const handler = splitLayer({ split: cell, random: randomSequence(0.5) })(next)
  await handler(fakeRequest())
  cell.current = [{ subset: 'v1', weight: 0 }, { subset: 'v2', weight: 100 }]
  await handler(fakeRequest())
  t.same(next.calls.map((r) => r.subset), ['v1', 'v2'])
})
