import t from 'tap'
import type { Test } from 'tap'
import { Writable } from 'node:stream'
import { resolveConfig, ConfigError } from '../../agent/config.ts'
import type { AgentConfig } from '../../agent/config.ts'
import { ReloadIncompleteError } from '../../agent/errors.ts'
import { createLogger } from '../../agent/log.ts'
import { CheckManager } from '../../agent/local/checks/manager.ts'
import { configRegistrations, localRegistrations } from '../../agent/local/config-registrations.ts'
import { registerCheckPayload, registerServicePayload } from '../../agent/local/register.ts'
import type { LocalRegistrationDeps } from '../../agent/local/register.ts'
import { ConfigReloader } from '../../agent/reload.ts'
import { memoryCatalog } from '../catalog/fixtures.ts'
import { ManualClock } from '../fixtures/manual-clock.ts'

const base = resolveConfig({ node: 'node-1', dataDir: '/var/lib/mesh', bind: '127.0.0.51:8301', client: '127.0.0.51' })

/** An agent's local side: catalog, checks, a JSON logger into `lines()`, and a reloader over `next`. */
async function setup (t: Test, running: AgentConfig, options: { takenPorts?: Set<number> } = {}) {
  const catalog = await memoryCatalog(t, 'node-1')
  const checks = new CheckManager({ nodeName: 'node-1' }, { catalog, clock: new ManualClock(), random: () => 0 })
  checks.start()
  t.teardown(() => checks.stop())
  const deps: LocalRegistrationDeps = {
    catalog, checks, enableScriptChecks: false, nodeName: 'node-1', nodeAddress: '127.0.0.51',
    probePort: async (_host, port) => options.takenPorts?.has(port) === true ? 'EADDRINUSE' : undefined,
  }
  let output = ''
  const log = createLogger({ level: running.logLevel, format: 'json', output: new Writable({ write (chunk, _encoding, done) { output += String(chunk); done() } }) })
  const writes = configRegistrations(deps)
  // What the agent's start does with the config's definitions.
  for (const [index, service] of running.services.entries()) await writes.registerService(service, `services[${index}]`)
  for (const [index, check] of running.checks.entries()) await writes.registerCheck(check, `checks[${index}]`)
  const state = { next: (): AgentConfig => running }
  const reloader = new ConfigReloader({ config: running }, {
    load: () => state.next(),
    local: () => localRegistrations(catalog),
    registrations: writes,
    setLogLevel: (level) => { log.level = level },
    log: log.child({ component: 'mesh:reload' }),
  })
  const lines = (): Array<Record<string, unknown>> => output.trim().split('\n').filter(line => line !== '').map(line => JSON.parse(line) as Record<string, unknown>)
  const serviceIds = (): string[] => catalog.localServices().map(service => service.ID).sort()
  const checkIds = (): string[] => catalog.localChecks().map(check => check.CheckID).sort()
  return { catalog, deps, log, reloader, state, lines, serviceIds, checkIds }
}

const web = { Name: 'web', Port: 8080, Check: { TTL: '30s' } }
const db = { Name: 'db', Port: 5432, Check: { TTL: '30s' } }
const disk = { Name: 'disk', TTL: '1m' }

t.test('a reload applies the new file definitions and leaves API registrations alone', async t => {
  const running = { ...base, services: [web, db], checks: [disk] }
  const agent = await setup(t, running)
  await registerServicePayload(agent.deps, { Name: 'api-only', Port: 7000, Check: { TTL: '10s' } })
  await registerCheckPayload(agent.deps, { Name: 'api-check', TTL: '10s' })
  const cache = { Name: 'cache', Port: 6379 }
  const diskV2 = { Name: 'disk', TTL: '5m' }
  const webV2 = { Name: 'web', Port: 8081, Check: { TTL: '30s' } }
  agent.state.next = () => ({ ...base, services: [webV2, cache], checks: [diskV2] })
  const summary = await agent.reloader.reload()
  t.same(summary, {
    Services: { Added: ['cache'], Updated: ['web'], Removed: ['db'] },
    Checks: { Added: [], Updated: ['disk'], Removed: [] },
    LogLevel: null,
    RestartRequired: [],
  })
  t.same(agent.serviceIds(), ['api-only', 'cache', 'web'])
  t.same(agent.checkIds(), ['api-check', 'disk', 'service:api-only', 'service:web'], 'db\'s check went with it')
  t.equal(agent.catalog.localService('web')?.Port, 8081)
  t.match(agent.catalog.localCheck('disk')?.Definition, { Type: 'ttl', TTLMs: 300_000 })
  t.same(agent.reloader.config.services, [webV2, cache], 'the new definitions are now the running ones')
  const info = agent.lines().find(line => line.component === 'mesh:reload' && line.level === 30)
  t.match(info, { msg: 'reloaded: 1 service added (cache), 1 updated (web), 1 removed (db), 1 check updated (disk)', servicesRemoved: ['db'] })

  // A second reload of the same files changes nothing.
  t.same((await agent.reloader.reload()).Services, { Added: [], Updated: [], Removed: [] })
})

t.test('an update drops the embedded checks the new definition no longer has', async t => {
  const agent = await setup(t, { ...base, services: [{ Name: 'web', Port: 8080, Checks: [{ TTL: '30s' }, { TTL: '60s' }] }] })
  t.same(agent.checkIds(), ['service:web:1', 'service:web:2'])
  agent.state.next = () => ({ ...base, services: [web] })
  await agent.reloader.reload()
  t.same(agent.checkIds(), ['service:web'])
})

t.test('the log level changes live, for loggers made before the reload too', async t => {
  const agent = await setup(t, { ...base, logLevel: 'info' })
  const component = agent.log.child({ component: 'mesh:membership' })
  component.debug('before')
  agent.state.next = () => ({ ...base, logLevel: 'debug' })
  t.same((await agent.reloader.reload()).LogLevel, { From: 'info', To: 'debug' })
  component.debug('after')
  const messages = agent.lines().map(line => line.msg)
  t.notOk(messages.includes('before'))
  t.ok(messages.includes('after'))
  t.equal(agent.reloader.config.logLevel, 'debug')
})

t.test('fields that need a restart are logged as WARN, one line naming each', async t => {
  const agent = await setup(t, base)
  agent.state.next = () => resolveConfig({ node: 'node-1', dataDir: '/var/lib/mesh', bind: '127.0.0.51:8301', client: '127.0.0.52', httpPort: 8501 })
  t.same((await agent.reloader.reload()).RestartRequired, ['client_addr', 'ports.http'])
  const warnings = agent.lines().filter(line => line.level === 40)
  t.same(warnings.map(line => line.field), ['client_addr', 'ports.http'])
  t.equal(agent.reloader.config.clientAddress, '127.0.0.51', 'the running value stays')
})

t.test('a config that does not load or validate changes nothing and rejects with its error', async t => {
  const running = { ...base, services: [web], checks: [disk], logLevel: 'info' as const }
  const agent = await setup(t, running)
  const index = agent.catalog.index
  agent.state.next = () => { throw new ConfigError('config file /etc/mesh.d/bad.json is not valid JSON: Unexpected token') }
  await t.rejects(agent.reloader.reload(), { code: 'MESH_ERR_CONFIG_INVALID', message: /bad\.json is not valid JSON/ })
  // Valid JSON, invalid definition, alongside changes that would otherwise apply.
  agent.state.next = () => ({ ...base, logLevel: 'debug', services: [{ Name: 'cache', Port: 1 }, { Port: 2 }], checks: [] })
  await t.rejects(agent.reloader.reload(), { message: 'services[1]: Missing service name' })
  t.equal(agent.catalog.index, index, 'nothing was written')
  t.same(agent.serviceIds(), ['web'])
  t.equal(agent.log.level, 'info')
  t.equal(agent.reloader.config, running)
  t.match(agent.lines().filter(line => line.level === 50), [{ err: /bad\.json/ }, { err: 'services[1]: Missing service name' }])
})

t.test('a step that fails does not stop the others, and the next reload tries it again', async t => {
  const agent = await setup(t, { ...base, services: [web] }, { takenPorts: new Set([21500]) })
  const proxied = { Name: 'api', Port: 9000, Connect: { SidecarService: { Port: 21500 } } }
  agent.state.next = () => ({ ...base, services: [proxied, db] })
  const failed = await agent.reloader.reload().then(() => undefined, (error: unknown) => error)
  t.type(failed, ReloadIncompleteError)
  t.match((failed as ReloadIncompleteError).failures, [/^add service api: services\[0\]: .*21500/])
  t.same(agent.serviceIds(), ['db'], 'web was removed and db added; api could not be')
  agent.state.next = () => ({ ...base, services: [{ ...proxied, Connect: { SidecarService: { Port: 21501 } } }, db] })
  const summary = await agent.reloader.reload()
  // The file definitions stayed the previous ones, so db is planned (and re-registered, unchanged) again.
  t.same(summary.Services.Added, ['api', 'db'])
  t.same(agent.serviceIds(), ['api', 'api-sidecar-proxy', 'db'])
})
