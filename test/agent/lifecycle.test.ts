// The agent's startable list: start in order, stop in reverse, undo a failed start, run once.

import t from 'tap'
import pino from 'pino'
import { Lifecycle } from '../../agent/lifecycle.ts'
import type { LifecycleEntry, Startable } from '../../agent/lifecycle.ts'

const silent = pino({ level: 'silent' })

/** A startable that records its calls in `events`; `failOn` makes that call throw. */
function fake (name: string, events: string[], failOn?: 'start' | 'stop'): LifecycleEntry {
  const component: Startable = {
    start: async () => {
      await Promise.resolve()
      events.push(`start ${name}`)
      if (failOn === 'start') throw new Error(`${name} cannot start`)
    },
    stop: () => {
      events.push(`stop ${name}`)
      if (failOn === 'stop') throw new Error(`${name} cannot stop`)
    },
  }
  return { name, component }
}

t.test('components start in list order, each after the one before resolved, and stop in reverse', async (t) => {
  const events: string[] = []
  const lifecycle = new Lifecycle([fake('a', events), fake('b', events), fake('c', events)], silent)
  await lifecycle.start()
  t.same(events, ['start a', 'start b', 'start c'])
  await lifecycle.stop()
  t.same(events, ['start a', 'start b', 'start c', 'stop c', 'stop b', 'stop a'])
})

t.test('a failed start stops the components already started, in reverse, and rethrows its error', async (t) => {
  const events: string[] = []
  const lifecycle = new Lifecycle([fake('a', events), fake('b', events), fake('c', events, 'start'), fake('d', events)], silent)
  await t.rejects(lifecycle.start(), { message: 'c cannot start' })
  t.same(events, ['start a', 'start b', 'start c', 'stop b', 'stop a'], 'c never started, so it is not stopped; d is never reached')
  await lifecycle.stop()
  t.same(events, ['start a', 'start b', 'start c', 'stop b', 'stop a'], 'a later stop does nothing more')
})

t.test('stop is idempotent: a second or concurrent stop stops nothing twice', async (t) => {
  const events: string[] = []
  const lifecycle = new Lifecycle([fake('a', events), fake('b', events)], silent)
  await lifecycle.start()
  await Promise.all([lifecycle.stop(), lifecycle.stop()])
  await lifecycle.stop()
  t.same(events, ['start a', 'start b', 'stop b', 'stop a'])
})

t.test('a failed stop does not keep the components before it running', async (t) => {
  const events: string[] = []
  const lifecycle = new Lifecycle([fake('a', events), fake('b', events, 'stop'), fake('c', events)], silent)
  await lifecycle.start()
  await lifecycle.stop()
  t.same(events, ['start a', 'start b', 'start c', 'stop c', 'stop b', 'stop a'])
})

t.test('a stop during start waits for the start, then stops everything it started', async (t) => {
  const events: string[] = []
  const lifecycle = new Lifecycle([fake('a', events), fake('b', events)], silent)
  const started = lifecycle.start()
  await lifecycle.stop()
  await started
  t.same(events, ['start a', 'start b', 'stop b', 'stop a'])
})

t.test('start is idempotent, and a list stopped before it started never starts', async (t) => {
  const events: string[] = []
  const twice = new Lifecycle([fake('a', events)], silent)
  await Promise.all([twice.start(), twice.start()])
  t.same(events, ['start a'])

  const stoppedFirst: string[] = []
  const never = new Lifecycle([fake('a', stoppedFirst)], silent)
  await never.stop()
  await never.start()
  t.same(stoppedFirst, [])
})
