// Specification of the generic simulator engine: clock, ordering, network faults, pauses, determinism.
import t from 'tap'
import { SimEngine, mulberry32, uniformDelayMs } from './engine.ts'

type Received = { node: string, from: string, message: string, reliable: boolean, atMs: number }

function world (seed: number, lossProbability = 0) {
  const engine = new SimEngine<string>({ seed, network: { delayMs: uniformDelayMs(10, 20), lossProbability }, keepTrace: true })
  const received: Received[] = []
  const failed: string[] = []
  for (const id of ['a', 'b', 'c']) {
    engine.addNode(id, {
      onMessage: (from, message, reliable) => {
        received.push({ node: id, from, message, reliable, atMs: engine.nowMs })
        engine.trace(`${id}<-${from}:${message}`)
      },
      onReliableFailed: (to, message) => { failed.push(`${id}->${to}:${message}`) }
    })
  }
  return { engine, received, failed }
}

t.test('mulberry32 is deterministic per seed and stays in [0, 1)', async t => {
  const a = mulberry32(7)
  const b = mulberry32(7)
  const c = mulberry32(8)
  const fromA = Array.from({ length: 1000 }, a)
  t.same(fromA, Array.from({ length: 1000 }, b))
  t.not(fromA[0], c())
  t.ok(fromA.every(x => x >= 0 && x < 1))
})

t.test('events run in time order, equal times in scheduling order, and the clock follows them', async t => {
  const engine = new SimEngine<string>({ seed: 1 })
  const seen: string[] = []
  engine.schedule(30, () => { seen.push(`x@${engine.nowMs}`) })
  engine.schedule(10, () => { seen.push(`y@${engine.nowMs}`) })
  engine.schedule(10, () => { seen.push(`z@${engine.nowMs}`) })
  engine.runUntil(20)
  t.same(seen, ['y@10', 'z@10'])
  t.equal(engine.nowMs, 20)
  engine.runUntil(100)
  t.same(seen, ['y@10', 'z@10', 'x@30'])
})

t.test('messages arrive after a delay drawn from the network model', async t => {
  const { engine, received } = world(1)
  engine.send('a', 'b', 'hello', false)
  engine.runUntil(100)
  t.equal(received.length, 1)
  t.ok(received[0].atMs >= 10 && received[0].atMs <= 20, `delay ${received[0].atMs}`)
})

t.test('loss drops about the configured share of datagrams but never reliable messages', async t => {
  const { engine, received } = world(3, 0.3)
  for (let i = 0; i < 2000; i++) engine.send('a', 'b', 'd', false)
  for (let i = 0; i < 100; i++) engine.send('a', 'b', 'r', true)
  engine.runUntil(100)
  const datagrams = received.filter(r => !r.reliable).length
  t.ok(datagrams > 1300 && datagrams < 1500, `${datagrams} of 2000 datagrams arrived`)
  t.equal(received.filter(r => r.reliable).length, 100)
})

t.test('a partition blocks traffic between groups until healed; reliable sends fail at the sender', async t => {
  const { engine, received, failed } = world(1)
  engine.partition([['a'], ['b', 'c']])
  engine.send('a', 'b', 'x', false)
  engine.send('b', 'c', 'y', false)
  engine.send('a', 'c', 'z', true)
  engine.runUntil(2000)
  t.same(received.map(r => r.message), ['y'])
  t.same(failed, ['a->c:z'])
  engine.heal()
  engine.send('a', 'b', 'x', false)
  engine.runUntil(3000)
  t.same(received.map(r => r.message), ['y', 'x'])
})

t.test('a crashed node receives nothing, its timers never fire, and a restart is a new life', async t => {
  const { engine, received, failed } = world(1)
  let fired = 0
  engine.setTimer('b', 50, () => { fired++ })
  engine.send('a', 'b', 'lost', false)
  engine.crash('b')
  engine.send('a', 'b', 'refused', true)
  engine.runUntil(2000)
  t.equal(fired, 0)
  t.equal(received.length, 0)
  t.same(failed, ['a->b:refused'])
  t.notOk(engine.isUp('b'))
  engine.addNode('b', { onMessage: (from, message) => { received.push({ node: 'b', from, message, reliable: false, atMs: engine.nowMs }) } })
  engine.send('a', 'b', 'again', false)
  engine.runUntil(3000)
  t.same(received.map(r => r.message), ['again'])
})

t.test('a paused node runs its buffered timers, then its buffered messages, when the pause ends', async t => {
  const engine = new SimEngine<string>({ seed: 1, network: { delayMs: () => 5 } })
  const order: string[] = []
  let pausedFor = 0
  engine.addNode('a', { onMessage: () => {} })
  engine.addNode('b', {
    onMessage: (_from, message) => { order.push(`${message}@${engine.nowMs}`) },
    onResumed: pausedMs => { pausedFor = pausedMs }
  })
  engine.pause('b', 400)
  engine.send('a', 'b', 'early', false)
  engine.setTimer('b', 300, () => { order.push(`timer@${engine.nowMs}`) })
  engine.runUntil(1000)
  t.same(order, ['timer@400', 'early@400'])
  t.equal(pausedFor, 400)
})

t.test('the same seed gives the same trace and another seed a different one', async t => {
  const run = (seed: number) => {
    const { engine } = world(seed, 0.2)
    for (let i = 0; i < 50; i++) engine.send(i % 2 === 0 ? 'a' : 'c', 'b', `m${i}`, false)
    engine.runUntil(1000)
    return engine.traceHash()
  }
  t.equal(run(42), run(42))
  t.not(run(42), run(43))
})

t.test('runUntilTrue stops at the first check where the condition holds, or gives up at maxMs', async t => {
  const engine = new SimEngine<string>({ seed: 1 })
  let flag = false
  engine.schedule(250, () => { flag = true })
  t.equal(engine.runUntilTrue(() => flag, 1000, 100), 300)
  t.equal(engine.runUntilTrue(() => false, 1000, 100), undefined)
  t.equal(engine.nowMs, 1000)
})
