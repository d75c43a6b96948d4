import t from 'tap'
import pino from 'pino'
import { AliasCheck, aliasStatus } from '../../../../agent/local/checks/alias-check.ts'
import { ManualClock } from '../../../fixtures/manual-clock.ts'
import { RecordingNotifier } from './fixtures/recording-notifier.ts'
import { memoryCatalog } from '../../../catalog/fixtures.ts'
import type { LocalCheck } from '../../../../agent/local/local-catalog.ts'
import type { ServiceRecord } from '../../../../api/catalog-types.ts'

const check = (CheckID: string, ServiceID: string, Status: LocalCheck['Status'], Output = ''): LocalCheck => ({
  CheckID, Name: CheckID, Status, Output, ServiceID, ServiceName: ServiceID, ServiceTags: [], Notes: '', Type: 'ttl',
})

const cases = [
  { name: 'no checks: passing', checks: [], result: { status: 'passing', output: 'No checks found.' } },
  { name: 'all passing', checks: [check('a', 'web', 'passing')], result: { status: 'passing', output: 'All checks passing.' } },
  { name: 'a warning', checks: [check('a', 'web', 'passing'), check('b', 'web', 'warning', 'slow')], result: { status: 'warning', output: 'Aliased check "b" failing: slow' } },
  { name: 'critical wins over warning', checks: [check('b', 'web', 'warning'), check('c', 'web', 'critical', 'down'), check('d', 'web', 'warning')], result: { status: 'critical', output: 'Aliased check "c" failing: down' } },
  { name: 'node checks count', checks: [check('serf', '', 'critical', 'node down')], result: { status: 'critical', output: 'Aliased check "serf" failing: node down' } },
  { name: 'other services and the alias itself are ignored', checks: [check('x', 'db', 'critical'), check('self', 'web-sidecar-proxy', 'critical')], result: { status: 'passing', output: 'No checks found.' } },
]

for (const { name, checks, result } of cases) {
  t.test(`status rule: ${name}`, async t => {
    t.same(aliasStatus('self', 'web', checks, true), result)
  })
}

t.test('status rule: an unregistered service is critical', async t => {
  t.same(aliasStatus('self', 'web', [], false, 'node-1'), { status: 'critical', output: 'Service web could not be found on node node-1' })
})

const service: ServiceRecord = {
  ID: 'web', Service: 'web', Tags: [], Address: '', Port: 80, Meta: {}, Weights: { Passing: 1, Warning: 1 }, EnableTagOverride: false,
}

t.test('the alias follows the aliased service as the local state changes', async t => {
  const catalog = await memoryCatalog(t, 'node-1')
  const notifier = new RecordingNotifier()
  const alias = new AliasCheck({ checkId: 'self', aliasServiceId: 'web' }, catalog,
    { clock: new ManualClock(), notifier, random: () => 0, log: pino({ level: 'silent' }) })
  alias.start()
  t.same(notifier.reports.at(-1)?.status, 'critical', 'service not registered yet')
  let next = notifier.next()
  await catalog.registerService(service, [check('service:web', 'web', 'passing')])
  t.same(await next, { checkId: 'self', status: 'passing', output: 'All checks passing.' })
  next = notifier.next()
  await catalog.updateCheck('service:web', 'critical', 'boom')
  t.same(await next, { checkId: 'self', status: 'critical', output: 'Aliased check "service:web" failing: boom' })
  alias.stop()
  await catalog.updateCheck('service:web', 'passing', '')
  await new Promise(resolve => setImmediate(resolve))
  t.equal(notifier.reports.at(-1)?.status, 'critical', 'a stopped alias no longer reports')
})
