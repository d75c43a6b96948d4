import t from 'tap'
import { aggregateStatus, httpCodeForStatus } from '../../../agent/local/aggregate-health.ts'
import type { HealthStatus } from '../../../api/catalog-types.ts'

const of = (...statuses: HealthStatus[]) => statuses.map(Status => ({ Status }))

t.test('the worst status wins: maintenance > critical > warning > passing', async t => {
  t.equal(aggregateStatus([]), 'passing')
  t.equal(aggregateStatus(of('passing', 'warning')), 'warning')
  t.equal(aggregateStatus(of('warning', 'critical', 'passing')), 'critical')
  t.equal(aggregateStatus(of('critical', 'maintenance')), 'maintenance')
})

t.test('HTTP codes: 200, 429, 503', async t => {
  t.same((['passing', 'warning', 'critical', 'maintenance'] as HealthStatus[]).map(httpCodeForStatus), [200, 429, 503, 503])
})

t.test('a maintenance-mode check counts as maintenance though it is stored critical', async t => {
  t.equal(aggregateStatus([{ CheckID: '_service_maintenance:web', Status: 'critical' }, { CheckID: 'a', Status: 'passing' }]), 'maintenance')
  t.equal(aggregateStatus([{ CheckID: '_node_maintenance', Status: 'critical' }]), 'maintenance')
  t.equal(aggregateStatus([{ CheckID: 'service:web', Status: 'critical' }]), 'critical')
})
