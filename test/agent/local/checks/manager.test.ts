import t from 'tap'
import type { Test } from 'tap'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { CheckManager, SCRIPT_CHECKS_DISABLED_OUTPUT } from '../../../../agent/local/checks/manager.ts'
import type { CheckSpec } from '../../../../agent/local/checks/definition.ts'
import type { LocalCheck } from '../../../../agent/local/local-catalog.ts'
import type { ServiceRecord } from '../../../../api/catalog-types.ts'
import { ManualClock } from '../../../fixtures/manual-clock.ts'
import { memoryCatalog } from '../../../catalog/fixtures.ts'

const service = (ID: string, extra: Partial<ServiceRecord> = {}): ServiceRecord => ({
  ID, Service: ID, Tags: [], Address: '', Port: 80, Meta: {}, Weights: { Passing: 1, Warning: 1 }, EnableTagOverride: false, ...extra,
})

const localCheck = (CheckID: string, ServiceID: string, spec: CheckSpec, Status: LocalCheck['Status'] = 'critical'): LocalCheck => ({
  CheckID, Name: CheckID, Status, Output: '', Notes: '', ServiceID, ServiceName: ServiceID, ServiceTags: [], Type: spec.Type,
  Definition: spec as unknown as Record<string, unknown>,
})

const ttl = (TTLMs: number, extra: Partial<CheckSpec> = {}): CheckSpec => ({ Type: 'ttl', TTLMs, ...extra } as CheckSpec)

async function setup (t: Test, init: ConstructorParameters<typeof CheckManager>[0] = {}) {
  const catalog = await memoryCatalog(t, 'node-1')
  const scheduler = new ManualClock()
  const manager = new CheckManager(init, { catalog, clock: scheduler, random: () => 0 })
  return { catalog, scheduler, manager }
}

t.test('start runs every check persisted with a definition; checks without one are left alone', async t => {
  const { catalog, manager } = await setup(t)
  await catalog.registerService(service('web'), [localCheck('service:web', 'web', ttl(10_000))])
  await catalog.registerCheck({ ...localCheck('serfHealth', '', ttl(1)), Definition: undefined, Type: 'serf' })
  manager.start()
  t.same(manager.runningCheckIds(), ['service:web'])
  t.ok(manager.isTtl('service:web'))
  manager.stop()
  t.same(manager.runningCheckIds(), [])
})

t.test('sync adds, replaces changed and removes deleted checks', async t => {
  const { catalog, scheduler, manager } = await setup(t)
  manager.start()
  await catalog.registerService(service('web'), [localCheck('a', 'web', ttl(10_000)), localCheck('b', 'web', ttl(10_000))])
  manager.sync()
  t.same(manager.runningCheckIds().sort(), ['a', 'b'])
  await catalog.registerCheck(localCheck('a', 'web', ttl(50_000)))
  await catalog.deregisterCheck('b')
  manager.sync()
  t.same(manager.runningCheckIds(), ['a'])
  await manager.updateTtl('a', 'passing', 'fine')
  scheduler.advance(49_999)
  await manager.flush()
  t.equal(catalog.localCheck('a')?.Status, 'passing', 'the replacement runs with the new 50 s TTL')
  scheduler.advance(1)
  await manager.flush()
  t.same([catalog.localCheck('a')?.Status, catalog.localCheck('a')?.Output], ['critical', 'TTL expired (last output before timeout follows): fine'])
  manager.stop()
})

t.test('a scoped sync reconciles only the named checks and the checks of the named services', async t => {
  const { catalog, manager } = await setup(t)
  manager.start()
  await catalog.registerService(service('web'), [localCheck('a', 'web', ttl(10_000)), localCheck('b', 'web', ttl(10_000))])
  await catalog.registerService(service('db'), [localCheck('c', 'db', ttl(10_000))])
  manager.sync({ services: ['web'], checks: ['a', 'b'] })
  t.same(manager.runningCheckIds().sort(), ['a', 'b'], 'db was not named, so its check is not started yet')
  manager.sync({ checks: ['c'] })
  t.same(manager.runningCheckIds().sort(), ['a', 'b', 'c'])

  // Re-registering web with only check a (replacing the others) must stop b: b is found through
  // the service it belonged to, without being named.
  await catalog.registerService(service('web'), [localCheck('a', 'web', ttl(10_000))], { replaceExistingChecks: true })
  let fullReads = 0
  const localChecks = catalog.localChecks.bind(catalog)
  catalog.localChecks = () => { fullReads++; return localChecks() }
  manager.sync({ services: ['web'], checks: ['a'] })
  t.same(manager.runningCheckIds().sort(), ['a', 'c'])
  await catalog.deregisterService('web')
  manager.sync({ services: ['web'] })
  t.same(manager.runningCheckIds(), ['c'], "a deregistered service's checks stop")
  t.equal(fullReads, 0, 'no scoped sync read every local check')
  manager.stop()
})

t.test('TTL updates reach the catalog; unknown and non-TTL checks are refused with their codes', async t => {
  const { catalog, manager } = await setup(t)
  await catalog.registerService(service('web'), [
    localCheck('ttl', 'web', ttl(10_000)),
    localCheck('tcp', 'web', { Type: 'tcp', TCP: '127.0.0.1:9', IntervalMs: 10_000 }),
  ])
  manager.start()
  await manager.updateTtl('ttl', 'warning', 'degraded')
  t.same([catalog.localCheck('ttl')?.Status, catalog.localCheck('ttl')?.Output], ['warning', 'degraded'])
  await t.rejects(manager.updateTtl('nope', 'passing', ''), { code: 'MESH_ERR_CHECKS_NOT_FOUND' })
  await t.rejects(manager.updateTtl('tcp', 'passing', ''), { code: 'MESH_ERR_CHECKS_NOT_TTL', message: 'CheckID "tcp" does not have associated TTL' })
  manager.stop()
})

t.test('a repeated result is not written again', async t => {
  const { catalog, manager } = await setup(t)
  await catalog.registerService(service('web'), [localCheck('ttl', 'web', ttl(10_000))])
  manager.start()
  await manager.updateTtl('ttl', 'passing', 'ok')
  let updates = 0
  const updateCheck = catalog.updateCheck.bind(catalog)
  catalog.updateCheck = async (...args) => { updates++; return await updateCheck(...args) }
  const index = catalog.index
  await manager.updateTtl('ttl', 'passing', 'ok')
  t.equal(updates, 0, 'the catalog was not even asked')
  t.equal(catalog.index, index)
  manager.stop()
})

t.test('a re-registration that resets the status is not hidden by the repeat filter', async t => {
  const { catalog, manager } = await setup(t)
  await catalog.registerService(service('web'), [localCheck('ttl', 'web', ttl(10_000))])
  manager.start()
  await manager.updateTtl('ttl', 'passing', 'ok')
  await catalog.registerService(service('web'), [localCheck('ttl', 'web', ttl(10_000))])
  manager.sync()
  await manager.updateTtl('ttl', 'passing', 'ok')
  t.equal(catalog.localCheck('ttl')?.Status, 'passing')
  manager.stop()
})

t.test('script checks persisted while the agent runs without enable-script-checks are not run and turn critical', async t => {
  const { catalog, manager } = await setup(t, { enableScriptChecks: false })
  await catalog.registerService(service('web'), [localCheck('script', 'web', { Type: 'script', Args: ['/bin/true'], IntervalMs: 10_000 }, 'passing')])
  manager.start()
  await manager.flush()
  t.same(manager.runningCheckIds(), [])
  t.same([catalog.localCheck('script')?.Status, catalog.localCheck('script')?.Output], ['critical', SCRIPT_CHECKS_DISABLED_OUTPUT])
})

t.test('an invalid persisted definition is reported critical, not run', async t => {
  const { catalog, manager } = await setup(t)
  await catalog.registerCheck({ ...localCheck('bad', '', ttl(1)), Definition: { Type: 'http', IntervalMs: 'often' } })
  manager.start()
  await manager.flush()
  t.same(manager.runningCheckIds(), [])
  t.equal(catalog.localCheck('bad')?.Output, 'invalid persisted check definition: IntervalMs must be a number')
})

t.test('an HTTP check runs on the fake clock against a live server and its result reaches the catalog', async t => {
  let code = 200
  const server = http.createServer((_request, response) => { response.writeHead(code).end('hi') })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>(resolve => server.close(() => resolve())))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
  const { catalog, scheduler, manager } = await setup(t)
  const spec: CheckSpec = { Type: 'http', HTTP: url, Method: 'GET', Header: {}, Body: '', TLSSkipVerify: false, TLSServerName: '', IntervalMs: 5000 }
  await catalog.registerService(service('web'), [localCheck('service:web', 'web', spec)])
  manager.start()
  const nextRound = async (delayMs: number): Promise<void> => {
    const index = catalog.index
    scheduler.advance(delayMs)
    await catalog.waitForIndex(index, { timeoutMs: 1000 })
  }
  await nextRound(0)
  t.same([catalog.localCheck('service:web')?.Status, catalog.localCheck('service:web')?.Output], ['passing', `HTTP GET ${url}: 200 OK Output: hi`])
  code = 503
  await nextRound(5000)
  t.same([catalog.localCheck('service:web')?.Status, catalog.localCheck('service:web')?.Output], ['critical', `HTTP GET ${url}: 503 Service Unavailable Output: hi`])
  manager.stop()
})

t.test('a service whose check stays critical past DeregisterCriticalServiceAfter is deregistered with its sidecar', async t => {
  const { catalog, scheduler, manager } = await setup(t, { reapIntervalMs: 30_000 })
  await catalog.registerService(service('web'), [localCheck('service:web', 'web', ttl(10_000, { DeregisterCriticalServiceAfterMs: 90_000 }))])
  await catalog.registerService(service('web-sidecar-proxy', {
    Kind: 'connect-proxy', Proxy: { DestinationServiceName: 'web', DestinationServiceID: 'web' }, Port: 21000,
  }), [])
  await catalog.registerService(service('db'), [localCheck('service:db', 'db', ttl(10_000, { DeregisterCriticalServiceAfterMs: 90_000 }))])
  manager.start()
  scheduler.advance(60_000)
  await manager.updateTtl('service:db', 'passing', 'alive')
  scheduler.advance(30_000)
  await new Promise(resolve => setImmediate(resolve))
  t.same(catalog.localServices().map(service => service.ID), ['db'], 'web and its sidecar are gone after 90 s critical; db recovered in time')
  t.same(manager.runningCheckIds(), ['service:db'])
  manager.stop()
})

t.test('the reaper counts from when the check turned critical, not from registration', async t => {
  const { catalog, scheduler, manager } = await setup(t)
  await catalog.registerService(service('web'), [localCheck('service:web', 'web', ttl(300_000, { DeregisterCriticalServiceAfterMs: 60_000 }), 'passing')])
  manager.start()
  t.same(await manager.reap(), [])
  scheduler.advance(299_999)
  t.same(await manager.reap(), [], 'still passing')
  scheduler.advance(1)
  await manager.flush()
  scheduler.advance(59_999)
  t.same(await manager.reap(), [], 'critical for just under a minute')
  scheduler.advance(1)
  t.same(await manager.reap(), ['web'])
  manager.stop()
})

t.test('a sidecar listener fault holds its checks critical with the reason until it clears; alias checks are left alone', async t => {
  const { catalog, manager } = await setup(t)
  const reason = 'listener on 127.0.0.1:21000: EADDRINUSE'
  await catalog.registerService(service('web'), [localCheck('app', 'web', ttl(60_000))])
  await catalog.registerService(service('web-sidecar-proxy', { Port: 21000 }), [
    localCheck('listening', 'web-sidecar-proxy', ttl(60_000)),
    localCheck('aliasing', 'web-sidecar-proxy', { Type: 'alias', AliasService: 'web', AliasNode: '' } as CheckSpec),
  ])
  manager.start()
  t.teardown(() => { manager.stop() })
  await manager.updateTtl('app', 'passing', 'app up')
  await manager.updateTtl('listening', 'passing', 'the port answers')
  const statusOf = (checkId: string) => [catalog.localCheck(checkId)?.Status, catalog.localCheck(checkId)?.Output]
  t.same(statusOf('listening'), ['passing', 'the port answers'])

  manager.setListenerFault('web-sidecar-proxy', reason)
  await manager.flush()
  t.same(statusOf('listening'), ['critical', reason])
  t.not(catalog.localCheck('aliasing')?.Output, reason, 'an alias check mirrors the app, not the listener')
  await manager.updateTtl('listening', 'passing', 'another process answers on the port')
  t.same(statusOf('listening'), ['critical', reason], "the check's own results are set aside while the fault lasts")

  await catalog.registerCheck(localCheck('listening', 'web-sidecar-proxy', ttl(30_000)))
  manager.sync({ checks: ['listening'] })
  await manager.flush()
  t.same(statusOf('listening'), ['critical', reason], 'a check replaced during the fault starts held')

  manager.setListenerFault('web-sidecar-proxy', undefined)
  await manager.updateTtl('listening', 'passing', 'bound again')
  t.same(statusOf('listening'), ['passing', 'bound again'], 'once cleared the check reports as usual')
})
