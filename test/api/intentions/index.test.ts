import t from 'tap'
import { IntentionStore } from '../../../api/intentions/index.ts'
import { evaluate } from '../../../api/intentions/evaluate.ts'
import type { Intention } from '../../../api/intentions/model.ts'
import { get, l4, l7 } from './fixtures.ts'

const spiffe = (service: string, namespace = 'default'): string => `spiffe://11111111-2222-3333-4444-555555555555.consul/ns/${namespace}/dc/dc1/svc/${service}`
const caller = (service: string, http?: { method: string, path: string, headers: Record<string, string | string[]> }) => ({ sourceSpiffeId: spiffe(service), sourceService: service, http })

t.test('check answers as the pure evaluation does, for every source against a mixed set', async (t) => {
  const intentions: Intention[] = [
    l4('web', 'api', 'allow'), l4('*', 'api', 'deny'), l4('batch', '*', 'allow'), l4('*', '*', 'deny'),
    l7('admin', 'api', [{ Action: 'allow', HTTP: { PathPrefix: '/admin' } }]),
  ]
  const store = new IntentionStore({ defaultPolicy: 'allow', intentions })
  for (const source of ['web', 'batch', 'admin', 'other']) {
    for (const destination of ['api', 'db']) {
      const expected = evaluate(intentions, source, destination, 'allow')
      t.same(store.check(source, destination), expected, `${source} → ${destination}`)
      t.same(store.check(source, destination), expected, `${source} → ${destination} (cached)`)
      const request = get('/admin/x')
      t.same(store.decideRequest(source, destination, request), evaluate(intentions, source, destination, 'allow', request), `${source} → ${destination} request`)
    }
  }
})

t.test('every change invalidates cached decisions through the generation counter', async (t) => {
  const store = new IntentionStore({ defaultPolicy: 'deny' })
  const authorize = store.authorizer('api')
  t.equal(authorize(caller('web')).allowed, false, 'default deny')
  const generation = store.generation
  store.upsert(l4('web', 'api', 'allow'))
  t.ok(store.generation > generation)
  t.equal(authorize(caller('web')).allowed, true, 'upsert seen by an existing authorizer')
  store.upsert(l4('web', 'api', 'deny'))
  t.equal(authorize(caller('web')).allowed, false, 'replacement seen')
  store.upsert(l4('*', 'api', 'allow'))
  t.equal(authorize(caller('other')).allowed, true, 'wildcard seen')
  t.equal(store.remove('web', 'api'), true)
  t.equal(store.remove('web', 'api'), false, 'second remove finds nothing')
  t.equal(authorize(caller('web')).allowed, true, 'removal seen: the wildcard governs now')
  store.replaceAll([])
  t.equal(authorize(caller('web')).allowed, false, 'replaceAll seen')
  store.setDefaultPolicy('allow')
  t.equal(authorize(caller('web')).allowed, true, 'default policy change seen')
})

t.test('the authorizer decides L4 and L7 and denies callers whose SPIFFE ID does not name them', async (t) => {
  const store = new IntentionStore({
    defaultPolicy: 'deny',
    intentions: [l7('web', 'api', [{ Action: 'deny', HTTP: { PathPrefix: '/admin' } }, { Action: 'allow', HTTP: { PathPrefix: '/' } }])],
  })
  const authorize = store.authorizer('api')
  t.equal(authorize(caller('web')).allowed, true, 'L7 intention admits the connection')
  t.equal(authorize(caller('web', get('/v1/users'))).allowed, true)
  t.equal(authorize(caller('web', get('/admin/users'))).allowed, false)
  t.equal(authorize(caller('web', get('//admin/users'))).allowed, false, 'normalised path still denied')
  t.equal(store.authorizer('api', { protocol: 'tcp' })(caller('web')).allowed, false, 'L7 intention on a tcp destination denies')
  const spoofed = authorize({ sourceSpiffeId: spiffe('batch'), sourceService: 'web' })
  t.equal(spoofed.allowed, false)
  t.match(spoofed.reason, /not a service SPIFFE ID for "web"/)
  t.equal(authorize({ sourceSpiffeId: spiffe('web', 'team-a'), sourceService: 'web' }).allowed, false, 'other namespace')
  t.equal(authorize({ sourceSpiffeId: 'spiffe://td.consul/agent/client/dc/dc1/id/node1', sourceService: 'web' }).allowed, false, 'agent ID')
})

t.test('list, match, get and getById', async (t) => {
  const store = new IntentionStore({ defaultPolicy: 'deny', intentions: [l4('*', '*', 'deny'), l4('web', 'api', 'allow'), l4('*', 'api', 'allow'), l4('web', '*', 'deny'), l4('x', 'db', 'allow')] })
  t.same(store.list().map((i) => i.Precedence), [9, 9, 8, 6, 5])
  t.same(store.match('destination', 'api').map((i) => `${i.SourceName}/${i.DestinationName}`), ['web/api', '*/api', 'web/*', '*/*'])
  t.same(store.match('source', 'web').map((i) => `${i.SourceName}/${i.DestinationName}`), ['web/api', '*/api', 'web/*', '*/*'])
  t.equal(store.get('web', 'api')?.Action, 'allow')
  t.equal(store.getById('id-x-db')?.DestinationName, 'db')
  store.upsert({ ...l4('x', 'db', 'deny'), ID: 'new-id' })
  t.equal(store.getById('id-x-db'), undefined, 'replaced intention no longer found by its old ID')
  t.equal(store.getById('new-id')?.Action, 'deny')
  t.equal(store.size, 5)
})

t.test('default deny applies to a brand-new pair everywhere: connection, request and check agree (hashicorp/consul#5903)', async (t) => {
  const store = new IntentionStore({ defaultPolicy: 'deny', intentions: [l4('web', 'api', 'allow')] })
  const authorize = store.authorizer('couchdb')
  t.equal(authorize(caller('client')).allowed, false, 'connection')
  t.equal(authorize(caller('client', get('/'))).allowed, false, 'request')
  t.equal(store.check('client', 'couchdb').allowed, false, 'check')
  t.equal(evaluate([], 'client', 'couchdb', 'deny').allowed, false, 'pure evaluation')
})
