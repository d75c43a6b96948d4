import t from 'tap'
import { resolveConfig, ConfigError } from '../../agent/config.ts'
import type { AgentConfig } from '../../agent/config.ts'
import { canonicalJson, planReload } from '../../agent/reload-plan.ts'
import type { LocalRegistrations } from '../../agent/reload-plan.ts'
import { serviceRecord } from '../catalog/fixtures.ts'

// No config file is read: the flags alone give a complete config, the tests set the definitions.
const base = resolveConfig({ node: 'node-1', dataDir: '/var/lib/mesh', bind: '127.0.0.51:8301', client: '127.0.0.51' })
const config = (extra: Partial<AgentConfig> = {}): AgentConfig => ({ ...base, ...extra })

const web = { Name: 'web', Port: 8080, Check: { TTL: '30s' } }
const db = { Name: 'db', Port: 5432 }
const disk = { Name: 'disk', TTL: '1m' }

/** What the catalog holds after the running config's definitions (and `api`) were registered. */
function registered (running: AgentConfig, extra: { services?: string[], checks?: string[] } = {}): LocalRegistrations {
  const ids = running.services.map(service => String(service.ID ?? service.Name))
  return {
    services: [...ids, ...(extra.services ?? [])].map(id => serviceRecord(id, { Service: id })),
    checkIds: [...ids.map(id => `service:${id}`), ...running.checks.map(check => String(check.CheckID ?? check.Name)), ...(extra.checks ?? [])],
  }
}

t.test('an unchanged config plans nothing', async t => {
  const running = config({ services: [web, db], checks: [disk] })
  // Same definitions, other key order and a fresh copy: still equal.
  const next = config({ services: [{ Port: 5432, Name: 'db' }, { Check: { TTL: '30s' }, Port: 8080, Name: 'web' }], checks: [{ ...disk }] })
  const plan = planReload(running, next, registered(running))
  t.same(plan.services, { add: [], update: [], remove: [] })
  t.same(plan.checks, { add: [], update: [], remove: [] })
  t.equal(plan.logLevel, undefined)
  t.same(plan.restartRequired, [])
})

t.test('services and checks are added, updated and removed by ID', async t => {
  const running = config({ services: [web, db], checks: [disk, { Name: 'mem', TTL: '1m' }] })
  const cache = { Name: 'cache', ID: 'cache-1', Port: 6379 }
  const webV2 = { Name: 'web', Port: 8081, Check: { TTL: '30s' } }
  const diskV2 = { Name: 'disk', TTL: '2m' }
  const cpu = { Name: 'cpu', CheckID: 'cpu-check', TTL: '1m', ServiceID: 'cache-1' }
  const next = config({ services: [webV2, cache], checks: [diskV2, cpu] })
  const plan = planReload(running, next, registered(running))
  t.same(plan.services.add, [{ id: 'cache-1', definition: cache }])
  t.same(plan.services.update, [{ id: 'web', definition: webV2, staleCheckIds: [], staleSidecarId: undefined }])
  t.same(plan.services.remove, ['db'])
  t.same(plan.checks.add, [{ id: 'cpu-check', definition: cpu }], 'a check may name a service the same reload adds')
  t.same(plan.checks.update, [{ id: 'disk', definition: diskV2 }])
  t.same(plan.checks.remove, ['mem'])
  t.same(plan.applied.services, next.services)
  t.same(plan.applied.checks, next.checks)
})

t.test('an update lists the embedded checks and the sidecar the new definition dropped', async t => {
  const before = { Name: 'api', Port: 9000, Checks: [{ TTL: '10s' }, { TTL: '20s' }], Connect: { SidecarService: {} } }
  const after = { Name: 'api', Port: 9000, Check: { TTL: '10s' } }
  const running = config({ services: [before] })
  const local: LocalRegistrations = {
    services: [serviceRecord('api', { Service: 'api' }), serviceRecord('api-sidecar-proxy', { Service: 'api-sidecar-proxy', Port: 21000 })],
    checkIds: ['service:api:1', 'service:api:2', 'service:api-sidecar-proxy:1', 'service:api-sidecar-proxy:2'],
  }
  const plan = planReload(running, config({ services: [after] }), local)
  t.equal(plan.services.update.length, 1)
  t.same(plan.services.update[0].staleCheckIds.sort(), ['service:api-sidecar-proxy:1', 'service:api-sidecar-proxy:2', 'service:api:1', 'service:api:2'],
    'the numbered IDs became the single "service:api", and the sidecar\'s checks go with it')
  t.equal(plan.services.update[0].staleSidecarId, 'api-sidecar-proxy')
})

t.test('services and checks registered through the API are never planned', async t => {
  const running = config({ services: [web] })
  const local = registered(running, { services: ['api-only'], checks: ['api-check'] })
  // The new config drops web and defines nothing the API registered.
  const plan = planReload(running, config({ services: [] }), local)
  t.same(plan.services.remove, ['web'])
  for (const list of [plan.services.add.map(c => c.id), plan.services.update.map(c => c.id), plan.services.remove, plan.checks.remove]) {
    t.notOk(list.includes('api-only') || list.includes('api-check'))
  }
  // A config check may name an API-registered service, which stays.
  const withCheck = planReload(running, config({ services: [web], checks: [{ Name: 'x', TTL: '5s', ServiceID: 'api-only' }] }), local)
  t.same(withCheck.checks.add.map(change => change.id), ['x'])
})

t.test('a config definition missing from the catalog is added again; one already gone is not removed', async t => {
  const running = config({ services: [web, db], checks: [disk] })
  // db and disk were deregistered through the API after start.
  const local: LocalRegistrations = { services: [serviceRecord('web', { Service: 'web' })], checkIds: ['service:web'] }
  const same = planReload(running, running, local)
  t.same(same.services.add.map(change => change.id), ['db'])
  t.same(same.checks.add.map(change => change.id), ['disk'])
  const dropped = planReload(running, config({ services: [web] }), local)
  t.same(dropped.services.remove, [], 'nothing to deregister')
  t.same(dropped.checks.remove, [])
})

t.test('the log level change is planned', async t => {
  const plan = planReload(config({ logLevel: 'info' }), config({ logLevel: 'debug' }), registered(base))
  t.same(plan.logLevel, { from: 'info', to: 'debug' })
  t.equal(plan.applied.logLevel, 'debug')
})

t.test('fields that need a restart are named by their config-file keys and are not applied', async t => {
  const running = config()
  const next = resolveConfig({
    node: 'node-2', dataDir: '/srv/mesh', bind: '127.0.0.52:8302', client: '127.0.0.52', httpPort: 8501, dnsPort: -1,
    encrypt: Buffer.alloc(32, 7).toString('base64'), server: true, datacenter: 'dc2', advertise: '127.0.0.53',
    join: ['127.0.0.54'], retryInterval: '5s', logFormat: 'json', domain: 'mesh', altDomain: 'alt', recursor: ['127.0.0.55'],
    dnsOnlyPassing: true, enableScriptChecks: true, defaultIntentionPolicy: 'allow',
  })
  const plan = planReload(running, next, registered(running))
  t.same(plan.restartRequired, [
    'node_name', 'datacenter', 'data_dir', 'server', 'bind_addr', 'ports.serf_lan', 'advertise_addr', 'client_addr', 'ports.http',
    'ports.dns', 'retry_join', 'retry_interval', 'encrypt', 'log_json', 'domain', 'alt_domain', 'recursors',
    'dns_config.only_passing', 'enable_script_checks', 'default_intention_policy',
  ])
  t.equal(plan.applied.nodeName, 'node-1', 'the running values stay')
  t.equal(plan.applied.httpPort, running.httpPort)
  t.equal(plan.applied.encryptKey, undefined)
})

t.test('a --dev agent\'s temporary data dir is not a change; dev mode itself is', async t => {
  let now = 1
  const dev = () => resolveConfig({ dev: true, node: 'node-1' }, { now: () => now++ })
  const first = dev()
  const second = dev()
  t.not(first.dataDir, second.dataDir)
  t.same(planReload(first, second, registered(first)).restartRequired, [])
  const notDev = resolveConfig({ node: 'node-1', dataDir: first.dataDir, bind: '127.0.0.1:8301', defaultIntentionPolicy: 'allow', retryInterval: '1s' })
  t.same(planReload(first, notDev, registered(first)).restartRequired, ['server', 'dev'])
})

t.test('an invalid new definition throws a ConfigError naming it and leaves both configs as they were', async t => {
  const running = config({ services: [web], checks: [disk] })
  const snapshot = canonicalJson(running)
  const cases: Array<[string, Partial<AgentConfig>, RegExp]> = [
    ['a service without a name', { services: [web, { Port: 1 }] }, /^services\[1\]: Missing service name$/],
    ['a bad port', { services: [{ Name: 'web', Port: 70000 }] }, /^services\[0\]: Invalid service: Port must be an integer between 0 and 65535$/],
    ['an embedded check without a probe', { services: [{ Name: 'web', Check: { Interval: '10s', Name: 'x' } }] }, /^services\[0\]: Invalid check: TTL must be > 0/],
    ['a check of an unknown service', { services: [web], checks: [{ Name: 'c', TTL: '1s', ServiceID: 'nope' }] }, /^checks\[0\]: .*nope/],
    ['a check of a service this reload removes', { services: [], checks: [{ Name: 'c', TTL: '1s', ServiceID: 'web' }] }, /^checks\[0\]: .*web/],
    ['a script check while script checks are off', { checks: [{ Name: 's', Args: ['/bin/true'], Interval: '10s' }] }, /^checks\[0\]: .*script/i],
  ]
  for (const [what, extra, message] of cases) {
    const next = config(extra)
    const nextSnapshot = canonicalJson(next)
    let thrown: unknown
    try { planReload(running, next, registered(running)) } catch (error) { thrown = error }
    t.type(thrown, ConfigError, `${what}: a ConfigError`)
    t.match((thrown as Error | undefined)?.message, message, `${what}: the message names the definition`)
    t.equal(canonicalJson(running), snapshot, `${what}: the running config is unchanged`)
    t.equal(canonicalJson(next), nextSnapshot, `${what}: the new config is unchanged`)
  }
})

t.test('canonicalJson ignores key order and undefined fields, and keeps array order', async t => {
  t.equal(canonicalJson({ b: 1, a: { d: [2, 1], c: undefined } }), '{"a":{"d":[2,1]},"b":1}')
  t.equal(canonicalJson(new Uint8Array([1, 2])), '"AQI="')
  t.not(canonicalJson([1, 2]), canonicalJson([2, 1]))
})
