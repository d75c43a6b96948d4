import t from 'tap'
import { evaluate, matchingIntentions } from '../../../api/intentions/evaluate.ts'
import type { Intention } from '../../../api/intentions/model.ts'
import { precedenceOf } from '../../../api/intentions/model.ts'
import { get, l4, l7 } from './fixtures.ts'

t.test('precedence follows Consul\'s table for the default namespace', async (t) => {
  t.equal(precedenceOf('web', 'api'), 9)
  t.equal(precedenceOf('*', 'api'), 8)
  t.equal(precedenceOf('web', '*'), 6)
  t.equal(precedenceOf('*', '*'), 5)
})

// The four intentions that can govern web → api, highest precedence first.
const SLOTS: Array<[string, string]> = [['web', 'api'], ['*', 'api'], ['web', '*'], ['*', '*']]
const STATES = ['absent', 'allow', 'deny'] as const

t.test('every combination of the four candidate intentions: the highest-precedence present one decides, else the default', async (t) => {
  let cases = 0
  const combine = (index: number, chosen: Array<typeof STATES[number]>): void => {
    if (index === SLOTS.length) {
      const intentions: Intention[] = []
      chosen.forEach((state, slot) => { if (state !== 'absent') intentions.push(l4(SLOTS[slot][0], SLOTS[slot][1], state)) })
      // Intentions for other pairs must never influence web → api.
      intentions.push(l4('web', 'db', 'allow'), l4('other', 'api', 'allow'), l4('other', '*', 'deny'))
      const governingSlot = chosen.findIndex((state) => state !== 'absent')
      for (const policy of ['allow', 'deny'] as const) {
        const decision = evaluate(intentions.slice().reverse(), 'web', 'api', policy)
        const label = `${chosen.join(',')} default=${policy}`
        if (governingSlot === -1) {
          t.equal(decision.allowed, policy === 'allow', label)
          t.equal(decision.matched, undefined, label)
        } else {
          t.equal(decision.allowed, chosen[governingSlot] === 'allow', label)
          t.same([decision.matched?.SourceName, decision.matched?.DestinationName], SLOTS[governingSlot], label)
        }
        cases++
      }
      return
    }
    for (const state of STATES) combine(index + 1, [...chosen, state])
  }
  combine(0, [])
  t.equal(cases, 162)
})

t.test('at equal precedence deny wins, whatever the input order', async (t) => {
  const allow = l4('web', 'api', 'allow')
  const deny = { ...l4('web', 'api', 'deny'), ID: 'duplicate' }
  t.equal(evaluate([allow, deny], 'web', 'api', 'allow').allowed, false)
  t.equal(evaluate([deny, allow], 'web', 'api', 'allow').allowed, false)
  t.same(matchingIntentions([allow, deny], 'web', 'api').map((i) => i.Action), ['deny', 'allow'])
})

t.test('reasons use Consul\'s wording', async (t) => {
  t.match(evaluate([l4('web', 'api', 'deny')], 'web', 'api', 'allow').reason, /^Matched L4 intention: web => api \(ID: id-web-api, Precedence: 9\)$/)
  t.match(evaluate([], 'web', 'api', 'deny').reason, /default policy is deny/)
})

const apiRules = l7('web', 'api', [
  { Action: 'deny', HTTP: { PathExact: '/admin' } },
  { Action: 'allow', HTTP: { PathPrefix: '/v1/', Methods: ['GET'] } },
])

t.test('an L7 intention admits the connection and decides each request; a tcp destination denies it', async (t) => {
  const connection = evaluate([apiRules], 'web', 'api', 'deny')
  t.equal(connection.allowed, true)
  t.match(connection.reason, /Matched L7 intention/)
  t.equal(evaluate([apiRules], 'web', 'api', 'allow', undefined, 'tcp').allowed, false)
})

t.test('L7: permissions in order, first match terminal, unmatched requests get the default policy', async (t) => {
  const rows: Array<[string, string, 'allow' | 'deny', boolean, number | undefined]> = [
    ['GET', '/admin', 'allow', false, 0],
    ['GET', '/admin', 'deny', false, 0],
    ['GET', '/v1/users', 'deny', true, 1],
    ['POST', '/v1/users', 'deny', false, undefined],
    ['POST', '/v1/users', 'allow', true, undefined],
    ['GET', '/other', 'deny', false, undefined],
    ['GET', '/other', 'allow', true, undefined],
  ]
  for (const [method, path, policy, allowed, permissionIndex] of rows) {
    const decision = evaluate([apiRules], 'web', 'api', policy, { method, path, headers: {} })
    t.equal(decision.allowed, allowed, `${method} ${path} default=${policy}`)
    t.equal(decision.permissionIndex, permissionIndex, `${method} ${path} permission`)
  }
})

t.test('a lone deny permission is enforced under both default policies (hashicorp/consul#10536, CVE-2021-36213)', async (t) => {
  const only = l7('curl-client', 'service-one', [{ Action: 'deny', HTTP: { PathExact: '/health' } }])
  for (const policy of ['allow', 'deny'] as const) {
    t.equal(evaluate([only], 'curl-client', 'service-one', policy, get('/health')).allowed, false, `default=${policy}`)
    t.equal(evaluate([only], 'curl-client', 'service-one', policy, get('/health/v1')).allowed, policy === 'allow', `/health/v1 default=${policy}`)
  }
})

t.test('an L4 deny intention also denies every request on an HTTP destination', async (t) => {
  t.equal(evaluate([l4('web', 'api', 'deny')], 'web', 'api', 'allow', get('/anything')).allowed, false)
  t.equal(evaluate([l4('*', '*', 'deny')], 'web', 'api', 'allow', get('/')).allowed, false)
})

t.test('only the governing intention counts: a lower wildcard allow never widens a matching L7 intention', async (t) => {
  const intentions = [l7('web', 'api', [{ Action: 'allow', HTTP: { PathPrefix: '/public' } }]), l4('*', 'api', 'allow')]
  // The request matches no permission of web → api; *→api (allow) is not consulted, the default (deny) is.
  t.equal(evaluate(intentions, 'web', 'api', 'deny', get('/private')).allowed, false)
  t.equal(evaluate(intentions, 'other', 'api', 'deny', get('/private')).allowed, true)
})

t.test('a request with a malformed path is denied under an L7 intention', async (t) => {
  const decision = evaluate([apiRules], 'web', 'api', 'allow', get('/v1/%E0%A4%A'))
  t.equal(decision.allowed, false)
  t.match(decision.reason, /malformed/)
})
