import t from 'tap'
import { IntentionStore } from '../../../api/intentions/index.ts'
import { evaluate } from '../../../api/intentions/evaluate.ts'
import type { Intention, IntentionPermission } from '../../../api/intentions/model.ts'
import { l4, l7 } from './fixtures.ts'

/** mulberry32: a small seeded generator, so every run replays the same sequence. */
function seeded (seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6D2B79F5) >>> 0
    let value = state
    value = Math.imul(value ^ (value >>> 15), value | 1)
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61)
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296
  }
}

const NAMES = ['web', 'api', 'db', 'batch', '*']
const PATHS = ['/', '/admin', '/admin/x', '/v1/users', '//admin', '/v1/../admin', '/health', '/health/', '/a%2Fb']
const METHODS = ['GET', 'POST', 'DELETE']

t.test('the cached store always agrees with the pure evaluation, through 2,000 random changes (seed 7)', async (t) => {
  const random = seeded(7)
  const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)]
  const randomPermissions = (): IntentionPermission[] => Array.from({ length: 1 + Math.floor(random() * 3) }, () => {
    const http = random() < 0.5 ? { PathPrefix: pick(['/admin', '/v1', '/']) } : { PathExact: pick(['/health', '/admin']), Methods: [pick(METHODS)] }
    return { Action: random() < 0.5 ? 'allow' : 'deny', HTTP: http }
  })
  const store = new IntentionStore({ defaultPolicy: 'deny' })
  const current = new Map<string, Intention>()
  const authorizers = new Map(NAMES.filter((name) => name !== '*').map((name) => [name, store.authorizer(name)]))
  let disagreements = 0
  let checks = 0
  for (let step = 0; step < 2000; step++) {
    const roll = random()
    const source = pick(NAMES)
    const destination = pick(NAMES)
    if (roll < 0.35) {
      const intention = destination !== '*' && random() < 0.4 ? l7(source, destination, randomPermissions()) : l4(source, destination, random() < 0.5 ? 'allow' : 'deny')
      current.set(`${source}/${destination}`, intention)
      store.upsert(intention)
    } else if (roll < 0.5) {
      current.delete(`${source}/${destination}`)
      store.remove(source, destination)
    } else if (roll < 0.52) {
      store.setDefaultPolicy(store.defaultPolicy === 'deny' ? 'allow' : 'deny')
    }
    const all = [...current.values()]
    for (const [target, authorize] of authorizers) {
      const caller = pick(NAMES.filter((name) => name !== '*'))
      const http = random() < 0.5 ? { method: pick(METHODS), path: pick(PATHS), headers: {} } : undefined
      const cached = authorize({ sourceSpiffeId: `spiffe://td.consul/ns/default/dc/dc1/svc/${caller}`, sourceService: caller, http })
      const pure = evaluate(all, caller, target, store.defaultPolicy, http)
      checks++
      if (cached.allowed !== pure.allowed || cached.reason !== pure.reason) {
        disagreements++
        t.fail(`step ${step}: ${caller} → ${target} ${http?.method ?? ''} ${http?.path ?? ''}: cached ${cached.reason}, pure ${pure.reason}`)
      }
    }
  }
  t.equal(checks, 8000)
  t.equal(disagreements, 0)
})
