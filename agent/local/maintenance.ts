// Maintenance mode, as Consul's: putting a service (or the whole node) in maintenance registers a
// special critical check, `_service_maintenance:<id>` (or `_node_maintenance`), whose notes carry
// the reason, so every consumer of health (DNS, /v1/health, proxies) stops sending traffic without
// knowing about maintenance; leaving it removes the check. The aggregated status reports such a
// check as "maintenance" rather than "critical".

import type { CheckRecord } from '../../api/catalog-types.ts'
import type { LocalCatalog, LocalCheck } from './local-catalog.ts'

export const SERVICE_MAINTENANCE_PREFIX = '_service_maintenance:'
export const NODE_MAINTENANCE_CHECK_ID = '_node_maintenance'
export const DEFAULT_MAINTENANCE_REASON = 'Maintenance mode is enabled for this service, but no reason was provided. This is a default message.'
const DEFAULT_NODE_MAINTENANCE_REASON = 'Maintenance mode is enabled for this node, but no reason was provided. This is a default message.'

export const isMaintenanceCheck = (check: Pick<CheckRecord, 'CheckID'>): boolean =>
  check.CheckID === NODE_MAINTENANCE_CHECK_ID || check.CheckID.startsWith(SERVICE_MAINTENANCE_PREFIX)

/** Enables or disables maintenance of a local service; false when the service is unknown. */
export async function setServiceMaintenance (catalog: LocalCatalog, serviceId: string, enable: boolean, reason = ''): Promise<boolean> {
  const service = catalog.localService(serviceId)
  if (service === undefined) return false
  const checkId = `${SERVICE_MAINTENANCE_PREFIX}${serviceId}`
  if (!enable) {
    if (catalog.localCheck(checkId) !== undefined) await catalog.deregisterCheck(checkId)
    return true
  }
  const check: LocalCheck = {
    CheckID: checkId,
    Name: 'Service Maintenance Mode',
    Status: 'critical',
    Notes: reason === '' ? DEFAULT_MAINTENANCE_REASON : reason,
    Output: '',
    ServiceID: service.ID,
    ServiceName: service.Service,
    ServiceTags: [...service.Tags],
    Type: 'maintenance',
  }
  await catalog.registerCheck(check)
  return true
}

export async function setNodeMaintenance (catalog: LocalCatalog, enable: boolean, reason = ''): Promise<void> {
  if (!enable) {
    if (catalog.localCheck(NODE_MAINTENANCE_CHECK_ID) !== undefined) await catalog.deregisterCheck(NODE_MAINTENANCE_CHECK_ID)
    return
  }
  await catalog.registerCheck({
    CheckID: NODE_MAINTENANCE_CHECK_ID,
    Name: 'Node Maintenance Mode',
    Status: 'critical',
    Notes: reason === '' ? DEFAULT_NODE_MAINTENANCE_REASON : reason,
    Output: '',
    ServiceID: '',
    ServiceName: '',
    ServiceTags: [],
    Type: 'maintenance',
  })
}
